from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import LivechatGroupsRoutingMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestLiveUpdates(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """What changes on an open screen by itself, asserting the texts people read."""

    def test_waiting_alert_fires_on_an_open_board(self):
        """Finding 7: a card turns red when its wait passes the waiting alert, without a reload."""
        self.assertEqual(self.external_livechat.wait_alert_minutes, 5)
        julia = self._queued_session(self.external_livechat, "Julia")
        # the alert fires a few seconds after the board has opened
        julia.livechat_queued_date = fields.Datetime.now() - timedelta(minutes=5) + timedelta(seconds=8)
        self.assertFalse(julia.livechat_board_overdue)
        self.assertEqual(julia.livechat_board_alert_date, julia.livechat_queued_date + timedelta(minutes=5))
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_waiting_alert_live",
            login=self.ext_supervisor.login,
        )
