from datetime import timedelta
from unittest.mock import patch

from odoo.tests import tagged

from ..models import livechat_targets
from .common import LivechatGroupsCase, LivechatGroupsHttpCase
from .test_timers import SECOND, T0, LivechatTimersMixin


@tagged("post_install", "-at_install")
class TestAnswerTarget(LivechatTimersMixin, LivechatGroupsCase):
    """Each session against its live chat's first-answer target, on the board and in the figures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.answer_target_minutes = 4

    def setUp(self):
        super().setUp()
        self._freeze(T0)
        self._online(self.support_1, self.support_2)

    def _answer(self, session, moment):
        self._at(moment)
        session.with_user(session.livechat_operator_id.user_ids).message_post(
            body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def _close(self, session, moment):
        self._at(moment)
        session.with_user(self.ext_supervisor).action_livechat_close()

    def _state_at(self, session, moment):
        self._at(moment)
        session.invalidate_recordset(["livechat_target_state"])
        return session.livechat_target_state

    def test_board_states_at_their_edges(self):
        session = self._new_session("Ann")
        self.assertEqual(self._state_at(session, T0 + timedelta(minutes=3) - SECOND), "on_time")
        self.assertEqual(self._state_at(session, T0 + timedelta(minutes=3)), "at_risk", "three quarters used")
        self.assertEqual(self._state_at(session, T0 + timedelta(minutes=4)), "at_risk")
        self.assertEqual(self._state_at(session, T0 + timedelta(minutes=4) + SECOND), "breached")
        late = self._new_session("Bob")
        self._answer(late, late.create_date + timedelta(minutes=4))  # on the dot: on time
        self.assertEqual(
            self._state_at(late, T0 + timedelta(hours=1)), "on_time", "answered in time stays so"
        )
        self.external_livechat.answer_target_minutes = 0
        self.assertFalse(self._state_at(session, T0 + timedelta(hours=1)))

    def test_the_rule_is_written_once(self):
        """The at-risk share is Python's: the board's state follows it."""
        session = self._new_session("Ann")
        moment = T0 + timedelta(minutes=3)  # three quarters of the 4-minute target
        self.assertEqual(self._state_at(session, moment), "at_risk")
        with patch.object(livechat_targets, "AT_RISK_SHARE", 0.9):
            self.assertEqual(self._state_at(session, moment), "on_time")
        self.assertEqual(
            livechat_targets.client_thresholds(), {"at_risk_share": livechat_targets.AT_RISK_SHARE}
        )

    def test_figures_on_sessions_with_known_times(self):
        in_time, late, unanswered, abandoned = (
            self._new_session(name) for name in ("Ann", "Bob", "Cid", "Dan")
        )
        self._answer(in_time, T0 + timedelta(minutes=2))
        self._answer(late, T0 + timedelta(minutes=7))
        self._close(abandoned, T0 + timedelta(minutes=1))  # left before the target: undecided
        self._close(unanswered, T0 + timedelta(minutes=10))
        self.env.flush_all()
        Report = self.env["livechat.session.report"]
        rows = Report.search([("session_id", "in", (in_time | late | unanswered | abandoned).ids)])
        by_visitor = {row.session_id.livechat_visitor_name: row for row in rows}
        self.assertEqual(
            [
                (by_visitor[name].answered_in_target, by_visitor[name].target_breaches)
                for name in "Ann Bob Cid Dan".split()
            ],
            [(100.0, 0), (0.0, 1), (0.0, 1), (0.0, 0)],
        )
        (figures,) = Report.read_group(
            [("id", "in", rows.ids)],
            ["answered_in_target:avg", "target_breaches:sum", "timeout_count:sum"],
            ["livechat_channel_id"],
        )
        self.assertAlmostEqual(figures["answered_in_target"], 100 / 3, places=2)
        self.assertEqual(figures["target_breaches"], 2)
        self.assertEqual(figures["timeout_count"], 0)
        per_operator = Report.read_group(
            [("id", "in", rows.ids)], ["target_breaches:sum"], ["operator_id"], orderby="operator_id"
        )
        self.assertEqual(sum(row["target_breaches"] for row in per_operator), 2)

    def test_timeouts_count_in_the_figures(self):
        self.external_livechat.answer_timeout_minutes = 3
        self._offline(self.support_2)
        session = self._new_session("Ann")
        self._online(self.support_2)
        self._run_timers(T0 + timedelta(minutes=3))
        self.env.flush_all()
        row = self.env["livechat.session.report"].search([("session_id", "=", session.id)])
        self.assertEqual(row.timeout_count, 1)
        self.assertEqual(row.operator_id, self.support_2)
        # who let it lapse, per operator and group, as a supervisor reads it in Routing Hops
        lapses = (
            self.env["livechat.session.transfer"]
            .with_user(self.ext_supervisor)
            ._read_group([("kind", "=", "timeout")], ["from_user_id", "from_group_id"], ["__count"])
        )
        self.assertEqual(lapses, [(self.support_1, self.group_support, 1)])


@tagged("post_install", "-at_install")
class TestAnswerTargetThresholds(LivechatGroupsHttpCase):
    """The board's clocks (supervision_target_clock.js) get the target's thresholds from the
    server, in the session info: none of them is copied in the browser's code."""

    def test_session_info_gives_the_at_risk_share(self):
        self.authenticate(self.ext_supervisor.login, self.ext_supervisor.login)
        for share in (livechat_targets.AT_RISK_SHARE, 0.9):
            with patch.object(livechat_targets, "AT_RISK_SHARE", share):
                info = self.make_jsonrpc_request("/web/session/get_session_info")
            self.assertEqual(info["livechat_groups_targets"], {"at_risk_share": share})
