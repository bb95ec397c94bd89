from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import LivechatGroupsRoutingMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestTimersTours(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """The first-answer target on the supervision board, as a supervisor watches it."""

    def _started(self, session, minutes_ago):
        """``session`` came in ``minutes_ago`` minutes ago, by the browser's clock."""
        started = datetime.now() - timedelta(minutes=minutes_ago)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE discuss_channel SET create_date = %s, livechat_queued_date = %s WHERE id = %s",
            (started, started, session.id),
        )
        self.env.invalidate_all()
        return started

    def test_board_clock_and_target_colours(self):
        self.external_livechat.answer_target_minutes = 5
        ann, bob, cid = (self._queued_session(self.external_livechat, name) for name in ("Ann", "Bob", "Cid"))
        self._started(ann, 1)
        self._started(bob, 4)
        self._started(cid, 6)
        self._online(self.support_1)
        dan = self._get_session(self.external_livechat, "Dan")
        started = self._started(dan, 3)
        self.env.cr.execute(
            "UPDATE discuss_channel SET livechat_first_answer_date = %s WHERE id = %s",
            (started + timedelta(minutes=2), dan.id),
        )
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_target_clock",
            login=self.ext_supervisor.login,
        )
