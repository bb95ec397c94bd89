import json

import psycopg2.errors

from odoo.tests import TransactionCase, tagged

from odoo.addons.livechat_groups.models import livechat_routing


@tagged("post_install", "-at_install")
class TestRoutingSavepoint(TransactionCase):
    """One session at a time (``livechat.routing._in_savepoint``), as the queue job and the
    timers route many sessions in one transaction: a failing session writes and sends nothing,
    and the sessions before it keep what they wrote and sent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Routing = cls.env["livechat.routing"]
        cls.first, cls.second = cls.env["discuss.channel"].create([{"name": "First"}, {"name": "Second"}])

    def _notify(self, session, tag):
        session.name = f"{session.name} {tag}"
        self.env["bus.bus"]._sendone(self.env.user.partner_id, "livechat_groups.test", {"tag": tag})

    def _sent(self):
        self.env.cr.precommit.run()
        notifications = self.env["bus.bus"].search([("message", "like", "livechat_groups.test")])
        return [json.loads(notification.message)["payload"]["tag"] for notification in notifications]

    def test_a_failure_after_a_nested_savepoint_keeps_what_the_sessions_before_sent(self):
        def fails_after_a_flushing_savepoint(session):
            self._notify(session, "b")
            # as the claim of an operator without settings: a flushing savepoint runs the
            # pre-commit hooks, and with them what the first session queued
            with self.env.cr.savepoint():
                pass
            raise ValueError("boom")

        self.assertIs(self.Routing._in_savepoint(self.first, self._notify, "a"), None)
        with self.assertLogs(livechat_routing.__name__, "ERROR") as logs:
            outcome = self.Routing._in_savepoint(self.second, fails_after_a_flushing_savepoint)
        self.assertIsNone(outcome)
        self.assertIn(f"Live chat session {self.second.id} could not be routed", logs.output[0])
        self.assertEqual(self._sent(), ["a"], "the first session's notification only")
        self.assertEqual(self.first.name, "First a")
        self.assertEqual(self.second.name, "Second", "nothing of the failure is written")

    def test_what_the_sessions_send_is_written_once_for_all_of_them(self):
        """The pre-commit hooks (the bus's rows) do not run for each session: what the sessions
        queued is written once, at the commit, and a failing session drops only its own."""

        def fails(session):
            self._notify(session, "b")
            raise ValueError("boom")

        self.Routing._in_savepoint(self.first, self._notify, "a")
        with self.assertLogs(livechat_routing.__name__, "ERROR"):
            self.Routing._in_savepoint(self.second, fails)
        self.Routing._in_savepoint(self.second, self._notify, "c")
        written = self.env["bus.bus"].search([("message", "like", "livechat_groups.test")])
        self.assertFalse(written, "nothing written before the commit")
        self.assertEqual(self._sent(), ["a", "c"])

    def test_conflicts_are_skipped_or_retried_as_the_caller_says(self):
        def conflicts(session):
            self._notify(session, "conflict")
            raise psycopg2.errors.SerializationFailure("could not serialize access")

        with self.assertRaises(psycopg2.errors.SerializationFailure):
            self.Routing._in_savepoint(self.first, conflicts)
        # the request is retried: what it left in memory goes with it
        self.env.transaction.clear()
        self.env.cr.precommit.clear()
        self.assertIsNone(self.Routing._in_savepoint(self.first, conflicts, skip_conflicts=True))
        self.assertEqual(self._sent(), [])
        self.assertEqual(self.first.name, "First")

    def test_the_timers_stop_on_an_error(self):
        def fails(session):
            raise ValueError("a bug")

        with self.assertRaises(ValueError):
            self.Routing._in_savepoint(self.first, fails, skip_conflicts=True, skip_errors=False)
