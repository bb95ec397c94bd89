from odoo import api
from odoo.tests import tagged

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from .common import LivechatGroupsRoutingMixin, LivechatGroupsRpcMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestGroupSettingsTours(LivechatGroupsTourCase):
    """The groups' settings screens in Chromium: an administrator creates a group and picks it,
    a Live Chat user cannot create one."""

    def test_administrator_creates_group_and_picks_it(self):
        billing_team = self.env["res.groups"].create({"name": "Billing Team"})
        biller = self._user("biller", name="Bill Billing")
        biller.groups_id = [(4, billing_team.id)]

        self.start_tour("/odoo/livechat-groups", "livechat_groups_create_group", login=self.admin.login)
        group = self.env["livechat.group"].search([("name", "=", "Billing Experts")])
        self.assertEqual(group.user_ids, self.accounting_1)
        self.assertEqual(group.system_group_ids, billing_team)
        self.assertEqual(group.member_ids, self.accounting_1 | biller)

        self.start_tour(
            f"/odoo/livechat/{self.internal_livechat.id}",
            "livechat_groups_pick_group",
            login=self.admin.login,
        )
        self.assertIn(group, self.internal_livechat.specialist_group_ids)
        self.assertEqual(self.internal_livechat.routing_mode, "manual")
        self.assertTrue(biller.has_group("im_livechat.im_livechat_group_user"), "a specialist operates")

    def test_livechat_user_cannot_create_groups(self):
        self.start_tour(
            "/odoo/livechat-groups", "livechat_groups_user_reads_groups", login=self.livechat_user.login
        )


@tagged("post_install", "-at_install")
class TestDiscussTours(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """Forwarding from Discuss, and the internal live chat, as people use them."""

    def test_operator_forwards_from_discuss_and_specialist_reads_it(self):
        self._online(self.support_1, self.sales_1)
        session = self._get_session(self.external_livechat, "Ann")
        self._visitor_says(session, "I need a quote for 40 seats")
        session.with_user(self.support_1).message_post(
            body="Hello, how can I help?", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.start_tour(
            self._discuss(session), "livechat_groups_forward_from_discuss", login=self.support_1.login
        )
        self.assertEqual(session.livechat_operator_id, self.sales_1.partner_id)
        self.assertEqual(session.livechat_group_id, self.group_sales)
        self.assertEqual(session.livechat_transfer_ids[-1].note, "Wants a quote, big account")
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)

        self.start_tour(
            self._discuss(session), "livechat_groups_specialist_reads_history", login=self.sales_1.login
        )

    def test_operator_closes_from_discuss(self):
        """The operator ends their session from the Discuss header: confirmed, the visitor is
        told politely, and their place goes at once to the visitor who waited, whose session
        the operator is told of and which opens (not "You have been invited to #Bob")."""
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        waiting = self._get_session(self.external_livechat, "Bob")
        self.assertEqual(waiting.livechat_routing_state, "queued")
        self._visitor_says(session, "Thanks, that is all")
        self._wake_websockets_after("discuss.channel", "_livechat_tell_new_operator")
        self.start_tour(self._discuss(session), "livechat_groups_operator_closes", login=self.support_1.login)
        self.assertEqual(session.livechat_routing_state, "closed")
        self.assertFalse(session.livechat_active)
        self.assertHeldBy(waiting, self.support_1, self.group_support)
        self.assertIn(
            "Sonia Support ended the conversation. Thank you for writing to us: write again any time to "
            "start a new one.",
            self._guest_messages(session),
            "the visitor reads it",
        )

    def test_employee_asks_hr_through_the_internal_live_chat(self):
        self._online(self.helpdesk_1, self.hr_1)
        self.internal_livechat.name = (
            "HR and Accounting Desk"  # the demo data has an "Internal Live Chat" too
        )
        self.start_tour("/odoo/discuss", "livechat_groups_employee_asks", login=self.employee.login)
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_channel_id, self.internal_livechat)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)

        self.start_tour(
            self._discuss(session), "livechat_groups_helpdesk_forwards_to_hr", login=self.helpdesk_1.login
        )
        self.assertEqual(session.livechat_operator_id, self.hr_1.partner_id)

        self.start_tour(self._discuss(session), "livechat_groups_hr_answers", login=self.hr_1.login)
        self.start_tour(
            self._discuss(session), "livechat_groups_employee_reads_answer", login=self.employee.login
        )

    def test_supervisor_forwards_from_the_session_form(self):
        self._online(self.support_1, self.tech_1)
        session = self._get_session(self.external_livechat, "Ann")
        self.start_tour(
            f"/odoo/action-im_livechat.discuss_channel_action/{session.id}",
            "livechat_groups_forward_from_form",
            login=self.admin.login,
        )
        self.assertEqual(session.livechat_operator_id, self.tech_1.partner_id)
        self.assertEqual(session.livechat_transfer_ids[-1].create_uid, self.admin)


@tagged("post_install", "-at_install")
class TestSupervisionTours(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """Live Chat > Supervision in a real browser, as a supervisor who is no administrator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.routing_mode = "manual"

    def _wake_websockets_on_board_notifications(self):
        """Let the browser's bus run as in production. Odoo refuses websockets during tests
        unless a test allows them (as its WebsocketCase does); and a test's transaction is
        never committed, so PostgreSQL never delivers the bus's NOTIFY: wake the websockets up
        when the board's notification is written, as WebsocketCase.trigger_notification_dispatching
        does."""
        self.patch(WebsocketConnectionHandler, "websocket_allowed", classmethod(lambda cls, request: True))
        DiscussChannel = self.registry["discuss.channel"]
        notify_board = DiscussChannel._livechat_notify_board

        def _livechat_notify_board(records):
            notify_board(records)

            @records.env.cr.precommit.add
            def wake_websockets():
                for websockets in list(dispatch._channels_to_ws.values()):
                    for websocket in list(websockets):
                        websocket.trigger_notification_dispatching()

        self.patch(DiscussChannel, "_livechat_notify_board", _livechat_notify_board)

    def test_supervisor_assigns_by_drag_and_drop(self):
        self._wake_websockets_on_board_notifications()
        ann = self._get_session(self.external_livechat, "Ann")
        bob = self._get_session(self.external_livechat, "Bob")
        self.start_tour(
            "/odoo/livechat-supervision", "livechat_groups_board_drag_assign", login=self.ext_supervisor.login
        )
        self.assertEqual(bob.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(ann.livechat_routing_state, "assigned")
        self.assertEqual(ann.livechat_operator_id, self.sales_1.partner_id)
        self.assertRecordValues(
            ann.livechat_transfer_ids[-1],
            [{"kind": "assign", "to_user_id": self.sales_1.id, "create_uid": self.ext_supervisor.id}],
        )

    def test_supervisor_joins_a_session(self):
        cid = self._get_session(self.external_livechat, "Cid")
        cid.message_post(
            body="My printer is on fire", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        cid.with_user(self.admin).action_livechat_assign(self.support_1.id)
        self.start_tour(
            "/odoo/livechat-supervision", "livechat_groups_board_join", login=self.ext_supervisor.login
        )
        self.assertIn(self.ext_supervisor.partner_id, cid.channel_member_ids.partner_id)
        message = cid.message_ids.filtered(lambda m: "I am the supervisor" in m.body)
        self.assertEqual(message.author_id, self.ext_supervisor.partner_id)
        self.assertEqual(
            cid.livechat_operator_id, self.support_1.partner_id, "joining does not take the session"
        )

    def test_supervisor_reads_the_routing_hops(self):
        """Routing Hops opens on every hop of the month (not only the lapsed ones), each with its
        reason, and a row opens its session."""
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        session.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.start_tour(
            "/odoo/livechat-routing-hops", "livechat_groups_routing_hops", login=self.ext_supervisor.login
        )

    def test_supervisor_reads_the_figures(self):
        self._online(self.support_1)
        self._get_session(self.external_livechat, "Ann").with_user(
            self.ext_supervisor
        ).action_livechat_assign(self.support_1.id)
        self._queued_session(self.internal_livechat, "Eve")
        self.start_tour(
            "/odoo/livechat-group-figures", "livechat_groups_figures", login=self.ext_supervisor.login
        )

    def test_supervisor_assigns_from_a_stale_card(self):
        """Sonia takes Eli's session once the supervisor opened the Assign dialog on its card:
        the dialog says so, and the supervisor assigns it to Simon anyway."""
        eli = self._get_session(self.external_livechat, "Eli")
        Assign = type(self.env["livechat.session.assign"])
        default_get = Assign.default_get

        def taken_meanwhile(wizard, fields_list):
            defaults = default_get(wizard, fields_list)
            if eli.livechat_routing_state == "queued":
                eli.with_user(self.support_1).action_livechat_take()
            return defaults

        self.patch(Assign, "default_get", api.model(taken_meanwhile))
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_assign_stale",
            login=self.ext_supervisor.login,
        )
        self.env.invalidate_all()
        self.assertEqual(eli.livechat_operator_id, self.support_2.partner_id)
        self.assertRecordValues(
            eli.livechat_transfer_ids[-2:],
            [
                {"kind": "take", "to_user_id": self.support_1.id},
                {"kind": "assign", "to_user_id": self.support_2.id},
            ],
        )

    def test_supervisor_assigns_with_the_dialog(self):
        self._online(self.support_2)
        dan = self._get_session(self.external_livechat, "Dan")
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_assign_dialog",
            login=self.ext_supervisor.login,
        )
        self.assertEqual(dan.livechat_operator_id, self.support_2.partner_id)
        self.assertEqual(dan.livechat_transfer_ids[-1].create_uid, self.ext_supervisor)
