from datetime import datetime, timedelta

from odoo.tests import tagged

from .common import CommitPoints, Killed, LivechatGroupsCase
from .test_timers import LivechatTimersMixin

T0 = datetime(2026, 3, 2, 10, 0, 0)


@tagged("post_install", "-at_install")
class TestTimersRecovery(LivechatTimersMixin, LivechatGroupsCase):
    """The timers recover by themselves after their job is killed: what they did before the
    kill is kept, and they run again within a minute even when Odoo dropped their triggers.
    The job's commits are savepoints here (:class:`CommitPoints`); the kill is an exception
    no handler catches, after which the test rolls back to the last commit, as PostgreSQL
    does with a killed worker's transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.inactivity_close_minutes = 5

    def setUp(self):
        super().setUp()
        self._freeze(T0)
        self._online(self.support_1)
        self.sessions = [self._new_session(name) for name in ("Ann", "Ben", "Cid")]
        self.cron = self.env.ref("livechat_groups.ir_cron_livechat_timers")

    def _states(self):
        self.env.invalidate_all()
        return [session.livechat_routing_state for session in self.sessions]

    def test_killed_mid_batch_keeps_its_progress_and_runs_again(self):
        Timers = type(self.env["livechat.timers"])
        original = Timers._livechat_close_inactive

        def close_or_die(timers, session):
            if session == self.sessions[1]:
                raise Killed
            return original(timers, session)

        self.patch(Timers, "_livechat_close_inactive", close_or_die)
        # the scheduler's run, with its progress record: this run already counts as a third
        # time-out until it reports some progress
        progress = self.env["ir.cron.progress"].create({"cron_id": self.cron.id, "timed_out_counter": 3})
        self._at(T0 + timedelta(minutes=6))
        with CommitPoints(self) as commits:
            self.env["livechat.timers"].with_context(ir_cron_progress_id=progress.id)._cron_livechat_timers(
                auto_commit=True
            )
        self.assertEqual(commits.commits, 1)
        self.assertEqual(self._states(), ["closed", "assigned", "assigned"], "the first close was kept")
        self.assertEqual(progress.done, 1, "so Odoo does not count the run as timed out")

        # had Odoo counted it timed out: it drops the triggers and waits for the interval
        self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]).unlink()
        self.cron.nextcall = T0 + timedelta(minutes=11)
        self.env["livechat.routing"]._cron_serve_queues()  # the dispatcher's minute
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count(
                [("cron_id", "=", self.cron.id), ("call_at", "<=", T0 + timedelta(minutes=6))]
            ),
            "the timers run again at once",
        )
        self.patch(Timers, "_livechat_close_inactive", original)
        self._run_timers(T0 + timedelta(minutes=6, seconds=30))
        self.assertEqual(self._states(), ["closed", "closed", "closed"])
        # nothing overdue any more: the dispatcher leaves the timers to their schedule
        self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]).unlink()
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertFalse(self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)]))
