from odoo import fields
from odoo.tests import tagged

from .common import (
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
)


@tagged("post_install", "-at_install")
class TestRoutingFields(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """What the routing writes (a session's routing fields, an operator's tie-break dates) users
    may not write, on any conversation; and rows forged anyway count for nothing."""

    def test_routing_fields_cannot_be_forged_on_ones_own_chat(self):
        chat = (
            self.env["discuss.channel"]
            .with_user(self.employee)
            .create_group(partners_to=self.support_1.partner_id.ids)
        )
        for vals in (
            {"livechat_routing_state": "assigned"},
            {"livechat_group_id": self.group_support.id},
            {"livechat_queued_date": "2000-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals):
                self._rpc_refused(
                    "AccessError",
                    "The routing of a live chat session",
                    self.employee,
                    "discuss.channel",
                    "write",
                    chat.ids,
                    vals,
                )
        self._rpc_refused(
            "AccessError",
            "The routing of a live chat session",
            self.employee,
            "discuss.channel",
            "create",
            [
                {
                    "name": "Forged",
                    "livechat_routing_state": "queued",
                    "livechat_group_id": self.group_support.id,
                }
            ],
        )
        # the same values as the context's defaults, which the ORM applies to a create
        for context, refusal in (
            ({"default_livechat_routing_state": "queued"}, "The routing of a live chat session"),
            (
                {"default_livechat_requester_id": self.support_1.partner_id.id},
                "The routing of a live chat session",
            ),
            ({"default_livechat_messenger_chat_id": "16505551234"}, "Only the messenger's intake"),
        ):
            with self.subTest(context=context):
                self._rpc_refused(
                    "AccessError",
                    refusal,
                    self.employee,
                    "discuss.channel",
                    "create",
                    [{"name": "Forged", "channel_type": "livechat"}],
                    context=context,
                )
        self.assertFalse(chat.livechat_routing_state)
        self.assertFalse(self.env["discuss.channel"].search([("name", "=", "Forged")]))

    def test_forged_rows_neither_fill_an_operator_nor_pull_them_into_a_chat(self):
        """Even written by the system, a conversation that is not a live chat session is
        neither counted against capacity nor served by the queue job."""
        self.external_livechat.max_sessions_per_operator = 1
        chat = self.env["discuss.channel"].create_group(partners_to=self.employee.partner_id.ids)
        chat.write(
            {
                "livechat_routing_state": "assigned",
                "livechat_operator_id": self.support_1.partner_id.id,
            }
        )
        other = self.env["discuss.channel"].create_group(partners_to=self.employee.partner_id.ids)
        other.write(
            {
                "livechat_routing_state": "queued",
                "livechat_group_id": self.group_support.id,
                "livechat_queued_date": "2000-01-01 00:00:00",
            }
        )
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(
            session.livechat_operator_id, self.support_1.partner_id, "the forged row did not count"
        )
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(
            other.livechat_routing_state, "queued", "the queue job serves live chat sessions only"
        )
        self.assertNotIn(self.support_2.partner_id, other.channel_member_ids.partner_id)

    def test_operator_cannot_move_their_tie_break_date(self):
        settings = self.env["res.users.settings"]._find_or_create_for_user(self.support_1)
        settings.livechat_last_assigned_date = "2020-01-01 00:00:00"
        for method, args in (
            (
                "set_res_users_settings",
                [settings.ids, {"livechat_last_assigned_date": "2100-01-01 00:00:00"}],
            ),
            ("write", [settings.ids, {"livechat_last_assigned_date": "2100-01-01 00:00:00"}]),
            ("write", [settings.ids, {"livechat_last_request_date": "2100-01-01 00:00:00"}]),
        ):
            with self.subTest(method=method, args=args):
                self._rpc_refused("AccessError", "", self.support_1, "res.users.settings", method, *args)
        self.assertEqual(
            settings.livechat_last_assigned_date, fields.Datetime.to_datetime("2020-01-01 00:00:00")
        )
        self._rpc(
            self.support_1,
            "res.users.settings",
            "set_res_users_settings",
            settings.ids,
            {"use_push_to_talk": True},
        )
        self.assertTrue(settings.use_push_to_talk, "the user's own settings stay theirs")
