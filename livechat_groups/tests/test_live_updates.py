from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import (
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
    LivechatGroupsTourCase,
)


@tagged("post_install", "-at_install")
class TestLiveUpdates(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """What changes on an open screen by itself, asserting the texts people read."""

    def test_waiting_alert_fires_on_an_open_board(self):
        """A card turns red when its wait passes the waiting alert, without a reload."""
        self.assertEqual(self.external_livechat.wait_alert_minutes, 5)
        julia = self._queued_session(self.external_livechat, "Julia")
        # the alert fires in 12 seconds: the board is open by then, and turns red by itself
        julia.livechat_queued_date = fields.Datetime.now() - timedelta(minutes=5) + timedelta(seconds=12)
        self.assertFalse(julia.livechat_board_overdue)
        self.assertEqual(julia.livechat_board_alert_date, julia.livechat_queued_date + timedelta(minutes=5))
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_waiting_alert_live",
            login=self.ext_supervisor.login,
        )


@tagged("post_install", "-at_install")
class TestMobileDiscuss(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """On a phone, Discuss's tabs lead employees to "Ask a Live Chat" and operators
    to their groups' waiting sessions."""

    browser_size = "375x667"
    touch_enabled = True

    def test_employee_asks_a_live_chat_on_a_phone(self):
        self.internal_livechat.routing_mode = "manual"
        self.internal_livechat.name = "HR and Accounting Desk"  # the demo data has an "Internal Live Chat"
        self.start_tour("/odoo/discuss", "livechat_groups_mobile_employee_asks", login=self.employee.login)
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_routing_state, "queued")

    def test_operator_takes_a_waiting_session_on_a_phone(self):
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        marc = self._get_session(self.external_livechat, "Marc")
        self._visitor_says(marc, "My order has not arrived")
        self.assertEqual(marc.livechat_routing_state, "queued")
        self.start_tour("/odoo/discuss", "livechat_groups_mobile_operator_takes", login=self.support_1.login)
        self.assertEqual(marc.livechat_operator_id, self.support_1.partner_id)
