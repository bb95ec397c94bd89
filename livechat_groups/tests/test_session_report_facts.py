from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.service.model import get_public_method
from odoo.tests import tagged
from odoo.tools import SQL, sql

from ..hooks import DATABASE_FUNCTIONS, uninstall_hook
from ..report import livechat_session_report_rollup as rollup_module
from ..report.livechat_session_report import FACTS_TABLE
from ..report.livechat_session_report_rollup import ROLLUP_TABLE
from .common import LivechatGroupsCase
from .test_timers import LivechatTimersMixin

T0 = datetime(2026, 3, 2, 10, 0, 0)
MINUTE = timedelta(minutes=1)
FACTS = (
    "session_id, date, livechat_channel_id, group_id, final_group_id, operator_id, state, medium, "
    "closed_date, first_reply, waiting_time, first_reply_time, forward_count, timeout_count, "
    "answer_target_minutes, in_entry_group"
)


@tagged("post_install", "-at_install")
class TestSessionReportFacts(LivechatTimersMixin, LivechatGroupsCase):
    """The Group Figures store each session's facts as the routing writes it: after every step
    of a session's life, what is stored equals what the figures' computation gives from the
    session's hops and messages."""

    def setUp(self):
        super().setUp()
        self._freeze(T0)
        self._online(self.support_1, self.sales_1)

    def _facts(self, sessions):
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM livechat_session_report_fact WHERE session_id IN %s ORDER BY session_id",
                SQL(FACTS),
                tuple(sessions.ids),
            )
        )
        return self.env.cr.dictfetchall()

    def assertFactsCurrent(self, session):
        """Commit as a request would (the ORM's writes, then the hooks run before a commit), then
        compare what is stored with the figures computed again from scratch; return the row."""
        self.env.cr.flush()
        stored = self._facts(session)
        self.env.cr.execute("SAVEPOINT facts_from_scratch")
        self.env.cr.execute("DELETE FROM livechat_session_report_fact")
        self.env["livechat.session.report"]._livechat_refresh_facts(session.ids)
        computed = self._facts(session)
        self.env.cr.execute("ROLLBACK TO SAVEPOINT facts_from_scratch")
        self.assertEqual(len(computed), 1)
        self.assertEqual(stored, computed, "the stored facts are those the figures compute")
        self.assertRollupCurrent()
        return stored[0]

    def _rollup(self):
        """The rollup's sums per key (a key may have several rows until they are folded), figures
        to a millionth (sums added and taken away in another order may differ in their last
        bits); keys whose sessions all went are left out."""
        self.env.cr.execute(
            SQL(
                "SELECT %(keys)s, step, SUM(sessions) AS sessions, %(sums)s FROM livechat_session_report_rollup"
                " GROUP BY %(keys)s, step ORDER BY %(keys)s, step",
                keys=SQL(", ").join(map(SQL.identifier, rollup_module.ROLLUP_KEYS)),
                sums=SQL(", ").join(
                    SQL("SUM(%s) AS %s", SQL.identifier(column), SQL.identifier(column))
                    for name in rollup_module.ROLLUP_MEASURES
                    for column in (f"{name}_sum", f"{name}_count")
                ),
            )
        )
        rows = [
            {key: round(float(value), 6) if key.endswith("_sum") else value for key, value in row.items()}
            for row in self.env.cr.dictfetchall()
        ]
        return [
            row for row in rows if row["sessions"] or any(row[key] for key in row if key.endswith("_count"))
        ]

    def assertRollupCurrent(self):
        """What the trigger summed as the facts were written equals the closed sessions' facts
        summed again from scratch; return the rollup's rows."""
        self.env.cr.flush()
        stored = self._rollup()
        self.env.cr.execute("SAVEPOINT rollup_from_scratch")
        self.env["livechat.session.report"]._livechat_rollup_rebuild()
        rebuilt = self._rollup()
        self.env.cr.execute("ROLLBACK TO SAVEPOINT rollup_from_scratch")
        self.assertEqual(stored, rebuilt, "the rollup sums the closed sessions' facts")
        return stored

    def _ours(self, rollup):
        """The rollup's rows of this test's live chats, or of none (a deleted one): the demo
        data's closed sessions aside."""
        livechats = (self.external_livechat | self.internal_livechat).ids
        return [row for row in rollup if row["livechat_channel_id"] in (*livechats, None)]

    def _row(self, session):
        """The session's row of the report, read without a commit in between (and without the
        values of an earlier read: the ORM cache does not know the view changed)."""
        self.env["livechat.session.report"].invalidate_model()
        return self.env["livechat.session.report"].search([("session_id", "=", session.id)])

    def test_route_reply_forward_close(self):
        session = self._new_session("Ann")
        facts = self.assertFactsCurrent(session)
        self.assertEqual(
            (facts["state"], facts["group_id"], facts["operator_id"], facts["waiting_time"]),
            ("assigned", self.group_support.id, self.support_1.id, 0),
        )
        self.assertIsNone(facts["first_reply"])

        self._at(T0 + 2 * MINUTE)
        session.with_user(self.support_1).message_post(
            body="Hello Ann", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        facts = self.assertFactsCurrent(session)
        self.assertAlmostEqual(facts["first_reply_time"], 2, places=2)

        self._at(T0 + 4 * MINUTE)
        session.with_user(self.support_1).action_livechat_forward(
            self.group_sales.id, user_id=self.sales_1.id
        )
        facts = self.assertFactsCurrent(session)
        self.assertEqual(
            (facts["group_id"], facts["final_group_id"], facts["operator_id"], facts["forward_count"]),
            (self.group_support.id, self.group_sales.id, self.sales_1.id, 1),
        )

        self._at(T0 + 9 * MINUTE)
        session.with_user(self.ext_supervisor).action_livechat_close()
        facts = self.assertFactsCurrent(session)
        self.assertEqual((facts["state"], facts["closed_date"]), ("closed", T0 + 9 * MINUTE))
        row = self._row(session)
        self.assertEqual(row.resolved_in_entry, 0, "closed in Sales: not resolved in its entry group")
        self.assertEqual(row.forward_count, 1)

    def test_timeout(self):
        self.external_livechat.answer_timeout_minutes = 3
        session = self._new_session("Bob")
        self._online(self.support_2)
        self._run_timers(T0 + 3 * MINUTE + timedelta(seconds=1))
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "timeout")
        facts = self.assertFactsCurrent(session)
        self.assertEqual((facts["timeout_count"], facts["operator_id"]), (1, self.support_2.id))
        self.assertEqual(self._row(session).timeout_count, 1)

    def test_reopened_session(self):
        """A closed session that the routing opens again counts as open again: not resolved yet."""
        session = self._new_session("Cleo")
        session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertFactsCurrent(session)
        self.assertEqual(self._row(session).resolved_in_entry, 100)
        session.write({"livechat_routing_state": "assigned", "livechat_closed_date": False})
        facts = self.assertFactsCurrent(session)
        self.assertEqual((facts["state"], facts["closed_date"]), ("assigned", None))
        self.assertFalse(self._row(session).resolved_in_entry, "open again: not resolved yet")

    def test_read_before_commit(self):
        """The figures read in the transaction that changed a session show the change."""
        session = self._new_session("Dan")
        self.assertEqual(self._row(session).forward_count, 0)
        session.with_user(self.support_1).action_livechat_forward(
            self.group_sales.id, user_id=self.sales_1.id
        )
        row = self._row(session)
        self.assertEqual((row.forward_count, row.final_group_id), (1, self.group_sales))
        self.assertEqual(
            self.env["livechat.session.report"].read_group(
                [("session_id", "=", session.id)], ["forward_count:avg"], [], lazy=False
            )[0]["forward_count"],
            1,
        )

    def test_migration_fills_the_facts(self):
        """The migration to 18.0.1.1.0 stores the facts of the sessions that existed before."""
        sessions = self._new_session("Eve") | self._new_session("Finn")
        sessions[0].with_user(self.support_1).action_livechat_forward(self.group_sales.id)
        self.env.cr.flush()
        before = self._facts(sessions)
        self.env.cr.execute("DELETE FROM livechat_session_report_fact")
        self.assertFalse(self._row(sessions[0]), "no facts, no figures")
        count = self.env["livechat.session.report"]._livechat_refresh_facts()
        self.assertGreaterEqual(count, 2)
        self.assertEqual(self._facts(sessions), before)

    def test_settings_follow(self):
        """The figures follow the live chat's target and entry groups, changed on either side."""
        session = self._new_session("Gus")
        self._at(T0 + 4 * MINUTE)
        session.with_user(self.support_1).message_post(
            body="Hello Gus", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertEqual(self._row(session).resolved_in_entry, 100)
        self.external_livechat.answer_target_minutes = 0
        self.assertFalse(self._row(session).answered_in_target, "no target: not counted")
        self.external_livechat.answer_target_minutes = 5
        self.assertFactsCurrent(session)
        self.assertEqual(self._row(session).answered_in_target, 100, "answered after 4 minutes")
        self.external_livechat.answer_target_minutes = 3
        self.assertFactsCurrent(session)
        row = self._row(session)
        self.assertEqual((row.answered_in_target, row.target_breaches), (0, 1), "3 minutes: late")
        group = session.livechat_group_id
        self.external_livechat.entry_group_ids = [Command.unlink(group.id)]
        self.assertFactsCurrent(session)
        self.assertEqual(self._row(session).resolved_in_entry, 0, "no longer an entry group")
        group.entry_channel_ids = [Command.link(self.external_livechat.id)]
        self.assertFactsCurrent(session)
        self.assertEqual(self._row(session).resolved_in_entry, 100, "an entry group again, from the group")

    def test_migration_copies_the_settings(self):
        """The migration to 18.0.1.2.0 copies the live chats' settings into the stored facts."""
        session = self._new_session("Hana")
        self.env.cr.flush()
        before = self._facts(session)
        self.env.cr.execute(
            "UPDATE livechat_session_report_fact SET answer_target_minutes = NULL, in_entry_group = NULL"
        )
        self.assertGreaterEqual(self.env["livechat.session.report"]._livechat_refresh_settings(), 1)
        self.assertEqual(self._facts(session), before)
        self.assertEqual(
            self.env["livechat.session.report"]._livechat_refresh_settings(), 0, "nothing rewritten"
        )

    def test_only_administrators_change_what_the_figures_copy(self):
        """A supervisor or an operator who tries to change a live chat's target or entry groups,
        from either side, is refused, and the stored facts stay as they were."""
        session = self._new_session("Ida")
        self.env.cr.flush()
        before = self._facts(session)
        group = session.livechat_group_id
        attempts = [
            (self.ext_supervisor, self.external_livechat, {"answer_target_minutes": 1}),
            (self.support_1, self.external_livechat, {"entry_group_ids": [Command.unlink(group.id)]}),
            (self.ext_supervisor, group, {"entry_channel_ids": [Command.clear()]}),
        ]
        for user, record, vals in attempts:
            with (
                self.subTest(user=user.name, vals=vals),
                self.assertRaises(AccessError),
                self.env.cr.savepoint(),
            ):
                record.with_user(user).write(vals)
        self.env.cr.flush()
        self.assertEqual(self._facts(session), before)

    def test_rollup_follows_deletions(self):
        """A deleted session leaves the rollup; the sessions of a deleted live chat stay in it,
        under no live chat."""
        sessions = self._new_session("Jon") | self._new_session("Kim")
        for session in sessions:
            session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertFactsCurrent(sessions[0])
        self.assertEqual(sum(row["sessions"] for row in self._ours(self.assertRollupCurrent())), 2)
        sessions[0].unlink()
        rollup = self.assertRollupCurrent()
        self.assertEqual(sum(row["sessions"] for row in self._ours(rollup)), 1)
        self.external_livechat.unlink()
        rollup = self.assertRollupCurrent()
        self.assertEqual(
            [(row["livechat_channel_id"], row["sessions"]) for row in self._ours(rollup)], [(None, 1)]
        )

    def test_rollup_appends_and_folds(self):
        """Sessions alike closed in two transactions append a row each to the rollup (neither
        writes the other's); the scheduled action folds them into one, the sums unchanged."""
        first = self._new_session("Lou")
        # the routing gives a returning visitor their previous operator: the same key
        sessions = first | self._new_session("Mia", previous_operator=first.livechat_operator_id.user_ids)
        self.assertEqual(len(sessions.livechat_operator_id), 1)
        for session in sessions:
            session.with_user(self.ext_supervisor).action_livechat_close()
            self.env.cr.flush()
            self.env["livechat.session.report"]._livechat_refresh_pending()
        self.env.cr.execute("SELECT COUNT(*) FROM livechat_session_report_rollup WHERE sessions > 0")
        rows_before = self.env.cr.fetchone()[0]
        rollup = self.assertRollupCurrent()
        self.assertIn(2, [row["sessions"] for row in rollup], "both in one key")
        Report = self.env["livechat.session.report"]
        self.assertGreaterEqual(Report._cron_livechat_rollup_fold(), 1)
        self.env.cr.execute("SELECT COUNT(*) FROM livechat_session_report_rollup")
        self.assertLess(self.env.cr.fetchone()[0], rows_before)
        self.assertEqual(self.assertRollupCurrent(), rollup)
        self.assertEqual(Report._cron_livechat_rollup_fold(), 0, "nothing left to fold")
        self.env.cr.execute(
            "SELECT COUNT(*) FROM livechat_session_report_rollup GROUP BY livechat_channel_id, group_id,"
            " final_group_id, operator_id, medium, state, step HAVING COUNT(*) > 1"
        )
        self.assertFalse(self.env.cr.fetchall(), "one row per key")

    def _closed_sessions(self):
        """Three closed sessions: two alike (one key of the rollup), one forwarded to Sales."""
        first = self._new_session("Ned")
        alike = self._new_session("Ola", previous_operator=first.livechat_operator_id.user_ids)
        forwarded = self._new_session("Pia")
        forwarded.with_user(forwarded.livechat_operator_id.user_ids).action_livechat_forward(
            self.group_sales.id, user_id=self.sales_1.id
        )
        sessions = first | alike | forwarded
        for session in sessions:
            session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertFactsCurrent(first)
        return sessions

    def test_rollup_follows_what_sql_writes(self):
        """Statements written by hand, as a fix or a restore would: waiting times changed,
        sessions opened and closed again, every fact refreshed; nothing drifts."""
        self._closed_sessions()
        cr = self.env.cr
        cr.execute(
            "UPDATE livechat_session_report_fact SET waiting_time = waiting_time + 1 / 3.0"
            " WHERE closed_date IS NOT NULL"
        )
        self.assertRollupCurrent()
        cr.execute("UPDATE livechat_session_report_fact SET closed_date = NULL")
        self.assertFalse([row for row in self.assertRollupCurrent() if row["sessions"]], "none closed")
        cr.execute("UPDATE livechat_session_report_fact SET closed_date = date, state = 'closed'")
        self.assertRollupCurrent()
        self.env["livechat.session.report"]._livechat_refresh_facts()
        self.assertRollupCurrent()

    def test_rollup_follows_deleted_records(self):
        """A deleted group (both entry and last group), operator or live chat's sessions move
        to no group, no operator; deleted sessions leave. The database's own actions on delete
        write the facts: the trigger sees them."""
        sessions = self._closed_sessions()
        cr = self.env.cr
        # deleted in SQL (the ORM refuses for a group in use): the database sets the facts' NULL
        cr.execute(
            "UPDATE discuss_channel SET livechat_group_id = NULL WHERE livechat_group_id = %s",
            [self.group_sales.id],
        )
        cr.execute(
            "DELETE FROM livechat_session_transfer WHERE to_group_id = %s OR from_group_id = %s",
            [self.group_sales.id, self.group_sales.id],
        )
        cr.execute("DELETE FROM livechat_group WHERE id = %s", [self.group_sales.id])
        rollup = self.assertRollupCurrent()
        self.assertIn(None, [row["final_group_id"] for row in rollup if row["sessions"]])
        cr.execute("DELETE FROM res_users WHERE id = %s", [self.sales_1.id])
        rollup = self.assertRollupCurrent()
        self.assertIn(None, [row["operator_id"] for row in rollup if row["sessions"]])
        cr.execute("DELETE FROM discuss_channel WHERE id IN %s", [tuple(sessions.ids)])
        self.assertFalse([row for row in self._ours(self.assertRollupCurrent()) if row["sessions"]])

    def test_uninstall_drops_what_the_addon_keeps_beside_its_models(self):
        """Uninstalled, the addon leaves no table, trigger or function of its own: a later
        install does not find facts that went stale meanwhile. The hook drops the rollup, its
        trigger and the functions; the facts and the report's view are models' tables, which
        the ORM drops itself."""
        cr = self.env.cr
        models = ["livechat.session.report.fact", "livechat.session.report"]
        self.assertEqual([self.env[name]._table for name in models], [FACTS_TABLE, "livechat_session_report"])
        self.assertEqual(len(self.env["ir.model"].search([("model", "in", models)])), 2)
        triggers = "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal"
        cr.execute(triggers, [FACTS_TABLE])
        self.assertEqual(len(cr.fetchall()), 3, "the rollup's, on insert, update and delete")
        cr.execute("SAVEPOINT uninstall")
        uninstall_hook(self.env)
        self.assertFalse(sql.table_kind(cr, ROLLUP_TABLE))
        cr.execute("SELECT proname FROM pg_proc WHERE proname = ANY(%s)", [list(DATABASE_FUNCTIONS)])
        self.assertEqual(cr.fetchall(), [])
        cr.execute(triggers, [FACTS_TABLE])
        self.assertEqual(cr.fetchall(), [])
        cr.execute("ROLLBACK TO SAVEPOINT uninstall")
        self.assertTrue(sql.table_kind(cr, ROLLUP_TABLE))

    def test_facts_are_a_model(self):
        """The facts' columns are the fields of livechat.session.report.fact; only what the ORM
        cannot declare, the generated columns, is added by its init, from the target rule in
        Python, and added again when that rule changes (a column's comment holds its digest)."""
        Fact = self.env["livechat.session.report.fact"]
        cr = self.env.cr
        cr.execute(
            "SELECT attname, attgenerated != '' FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [FACTS_TABLE],
        )
        columns = dict(cr.fetchall())
        generated = {name for name, is_generated in columns.items() if is_generated}
        self.assertEqual(generated, set(Fact._livechat_generated_columns()))
        stored = {name for name, field in Fact._fields.items() if field.store and field.column_type}
        self.assertEqual(set(columns) - generated, stored)
        self._new_session("Jo")
        self.env.cr.flush()
        derived = SQL(
            "SELECT session_id, %s FROM %s ORDER BY session_id",
            SQL(", ").join(map(SQL.identifier, sorted(generated))),
            SQL.identifier(FACTS_TABLE),
        )
        cr.execute(derived)
        before = cr.fetchall()
        self.assertTrue(before)
        attnums = "SELECT attname, attnum FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
        cr.execute(attnums, [FACTS_TABLE])
        columns_before = cr.fetchall()
        Fact._livechat_generated_columns_sync()
        cr.execute(attnums, [FACTS_TABLE])
        self.assertEqual(cr.fetchall(), columns_before, "the rule did not change: nothing altered")
        cr.execute(SQL("COMMENT ON COLUMN %s IS NULL", SQL.identifier(FACTS_TABLE, "target_breaches")))
        Fact._livechat_generated_columns_sync()
        self.env["livechat.session.report"].init()  # the view, which reads them, again
        cr.execute(derived)
        self.assertEqual(cr.fetchall(), before, "added again, the same figures")
        # written by the report's statements only: a supervisor reads the figures, not the facts
        with self.assertRaises(AccessError):
            Fact.with_user(self.ext_supervisor).search([])

    def test_what_keeps_the_figures_is_not_callable_remotely(self):
        """The report's init (it recreates the view, the trigger and the rollup), the rollup's
        rebuild and fold: none can be called over JSON-RPC, by a supervisor or an administrator."""
        for user in (self.ext_supervisor, self.admin):
            Report = self.env["livechat.session.report"].with_user(user)
            for name in ("init", "_livechat_rollup_rebuild", "_cron_livechat_rollup_fold"):
                with self.subTest(user=user.name, method=name), self.assertRaises(AccessError):
                    get_public_method(Report, name)
        # what the web client calls stays callable
        self.assertTrue(get_public_method(Report, "read_group"))
