from odoo.tests import tagged

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from .common import LivechatGroupsRoutingMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestGroupSettingsTours(LivechatGroupsTourCase):
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

    def test_supervisor_reads_the_figures(self):
        self._online(self.support_1)
        self._get_session(self.external_livechat, "Ann").with_user(
            self.ext_supervisor
        ).action_livechat_assign(self.support_1.id)
        self._queued_session(self.internal_livechat, "Eve")
        self.start_tour(
            "/odoo/livechat-group-figures", "livechat_groups_figures", login=self.ext_supervisor.login
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
