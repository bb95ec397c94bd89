from contextlib import ExitStack
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import SQL

from ..report import livechat_session_report as report_module
from .common import LivechatGroupsCase, LivechatGroupsRoutingCase

T0 = datetime(2026, 1, 5, 9, 0, 0)


@tagged("post_install", "-at_install")
class TestSessionReport(LivechatGroupsCase):
    """Live Chat > Supervision > Group Figures, checked on sessions whose every hop and reply
    happened at a known minute."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.second_livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Second Live Chat",
                "user_ids": [Command.clear()],
                "routing_mode": "manual",
                "entry_group_ids": [Command.set(cls.group_tech.ids)],
                "supervisor_group_ids": [Command.set(cls.group_int_supervisors.ids)],
            }
        )
        cls.external_livechat.routing_mode = "manual"
        ext = cls.external_livechat
        # S1 waits 2 minutes, support_1 takes it and replies at 3; closed in General Support
        s1 = cls._session(ext, "S1")
        cls._at(2, s1.with_user(cls.support_1).action_livechat_take)
        cls._reply(s1, cls.support_1, 3)
        cls._close(s1)
        # S2 goes to support_2 at once, who replies at 1, then forwards it to Sales at 5: not
        # resolved in its entry group
        s2 = cls._session(ext, "S2", operator=cls.support_2)
        cls._reply(s2, cls.support_2, 1)
        cls._at(
            5,
            lambda: s2.with_user(cls.support_2).action_livechat_forward(
                cls.group_sales.id, user_id=cls.sales_1.id
            ),
        )
        cls._close(s2)
        # S3 waits 10 minutes for the supervisor to assign it; the supervisor writes at 4 (no
        # operator's reply), the operator replies at 12
        s3 = cls._session(ext, "S3")
        cls._reply(s3, cls.ext_supervisor, 4)
        cls._at(10, lambda: s3.with_user(cls.ext_supervisor).action_livechat_assign(cls.support_1.id))
        cls._reply(s3, cls.support_1, 12)
        cls._close(s3)
        # S4 still waits: no waiting time yet, not resolved yet
        cls._session(ext, "S4")
        # S5, on the second live chat, waits 20 minutes
        s5 = cls._session(cls.second_livechat, "S5")
        cls._at(20, s5.with_user(cls.tech_1).action_livechat_take)
        cls._reply(s5, cls.tech_1, 21)
        cls._close(s5)
        cls.env.flush_all()

    @classmethod
    def _session(cls, livechat, visitor, operator=None):
        """A session of ``livechat`` that started at T0, waiting or given to ``operator``."""
        group = livechat.entry_group_ids[:1]
        session = cls.env["discuss.channel"].create(
            {
                "name": visitor,
                "channel_type": "livechat",
                "livechat_channel_id": livechat.id,
                "livechat_active": True,
                "livechat_visitor_name": visitor,
                "livechat_group_id": group.id,
                "livechat_routing_state": "assigned" if operator else "queued",
                "livechat_operator_id": (
                    operator.partner_id if operator else cls.env.ref("base.partner_root")
                ).id,
                "livechat_queued_date": T0,
                "livechat_assigned_date": operator and T0,
                "channel_member_ids": [Command.create({"partner_id": operator.partner_id.id})]
                if operator
                else [],
            }
        )
        cls._set_date("discuss_channel", session.ids, 0)
        cls._set_date("livechat_session_transfer", session.livechat_transfer_ids.ids, 0)
        return session

    @classmethod
    def _at(cls, minute, action):
        """Run ``action`` (a hand-over) as if it happened ``minute`` minutes after T0."""
        before = cls.env["livechat.session.transfer"].search([]).ids
        action()
        cls.env.flush_all()
        new = cls.env["livechat.session.transfer"].search([("id", "not in", before)])
        cls._set_date("livechat_session_transfer", new.ids, minute)

    @classmethod
    def _reply(cls, session, user, minute):
        """A message in ``session`` at ``minute``: by ``user``, or by the visitor when None."""
        message = session.message_post(
            body=f"Message at {minute}",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            author_id=user.partner_id.id if user else False,
            author_guest_id=False,
        )
        cls._set_date("mail_message", message.ids, minute)

    @classmethod
    def _close(cls, session):
        session.with_user(cls.admin).action_livechat_close()

    @classmethod
    def _set_date(cls, table, ids, minute):
        cls.env.flush_all()
        cls.env.cr.execute(
            SQL(
                "UPDATE %s SET create_date = %s WHERE id IN %s",
                SQL.identifier(table),
                T0 + timedelta(minutes=minute),
                tuple(ids),
            )
        )
        cls.env.invalidate_all()

    def _figures(self, groupby, user=None, domain=None):
        """The figures as the pivot asks for them: ``read_group`` with each field's aggregator."""
        Report = self.env["livechat.session.report"]
        if user:
            Report = Report.with_user(user)
        fields = ["waiting_time:avg", "waiting_time_p90:p90", "first_reply_time:avg", "forward_count:avg"]
        fields.append("resolved_in_entry:avg")
        channels = (self.external_livechat | self.second_livechat).ids
        domain = [("livechat_channel_id", "in", channels), *(domain or [])]
        rows = Report.read_group(domain, fields, groupby, lazy=False)
        return {
            (row[groupby[0]][1] if groupby and row[groupby[0]] else None): {
                "sessions": row["__count"],
                "waiting": row["waiting_time"],
                "waiting_p90": row["waiting_time_p90"],
                "first_reply": row["first_reply_time"],
                "forwards": row["forward_count"],
                "resolved": row["resolved_in_entry"],
            }
            for row in rows
        }

    def assertFigures(self, actual, expected):
        for key, value in expected.items():
            with self.subTest(figure=key):
                if value is None:
                    self.assertFalse(actual[key])
                else:
                    self.assertAlmostEqual(actual[key], value, places=2)

    def test_figures_per_live_chat(self):
        figures = self._figures(["livechat_channel_id"])
        self.assertFigures(
            figures["External Live Chat"],
            {
                "sessions": 4,
                "waiting": (2 + 0 + 10) / 3,  # S4 still waits: not counted
                "waiting_p90": 8.4,  # percentile_cont(0.9) of 0, 2, 10
                "first_reply": (3 + 1 + 12) / 3,  # the supervisor's message at 4 is no reply
                "forwards": 1 / 4,
                "resolved": 200 / 3,  # of the 3 closed sessions, S2 ended in Sales
            },
        )
        self.assertFigures(
            figures["Second Live Chat"],
            {
                "sessions": 1,
                "waiting": 20,
                "waiting_p90": 20,
                "first_reply": 21,
                "forwards": 0,
                "resolved": 100,
            },
        )

    def test_figures_per_group(self):
        figures = self._figures(["group_id"])
        self.assertEqual(
            set(figures), {"General Support", "Tech Support"}, "the groups the requests came in through"
        )
        self.assertFigures(figures["General Support"], {"sessions": 4, "waiting_p90": 8.4})
        figures = self._figures(["final_group_id"])
        self.assertFigures(
            figures["Sales Department"], {"sessions": 1, "waiting": 0, "forwards": 1, "resolved": 0}
        )
        self.assertFigures(
            figures["General Support"], {"sessions": 3, "waiting": 6, "forwards": 0, "resolved": 100}
        )

    def test_figures_per_operator(self):
        figures = self._figures(["operator_id"])
        self.assertEqual(
            {name: row["sessions"] for name, row in figures.items()},
            {
                "Sonia Support": 2,  # S1 and S3, closed: the operator who held them last
                "Selma Sales": 1,
                "Theo Tech": 1,
                None: 1,  # S4 still waits
            },
        )
        self.assertFigures(figures["Sonia Support"], {"waiting": 6, "first_reply": 7.5})

    def test_figures_sorted_by_the_percentile(self):
        """The pivot's column sort and the graph's order read the groups by their percentile."""
        Report = self.env["livechat.session.report"].with_user(self.admin)
        channels = (self.external_livechat | self.second_livechat).ids
        for orderby, expected in (
            ("waiting_time_p90 desc", ["Second Live Chat", "External Live Chat"]),  # 20, then 8.4
            ("waiting_time_p90", ["External Live Chat", "Second Live Chat"]),
        ):
            with self.subTest(orderby=orderby):
                rows = Report.read_group(
                    [("livechat_channel_id", "in", channels)],
                    ["waiting_time_p90:p90"],
                    ["livechat_channel_id"],
                    orderby=orderby,
                )
                self.assertEqual([row["livechat_channel_id"][1] for row in rows], expected)

    def test_p90_of_a_total_is_computed_not_averaged(self):
        total = self._figures([])[None]
        # 0, 2, 10 and 20: 10 + 0.7 * (20 - 10); the mean of the live chats' p90s would be 14.2
        self.assertFigures(total, {"sessions": 5, "waiting": 8, "waiting_p90": 17})

    def _read_paths(self):
        """Each way the figures can be read (see _read_group), forced: {name: patches}."""
        Report = type(self.env["livechat.session.report"])
        no_rollup = patch.object(Report, "_read_group_rollup", lambda *args, **kwargs: None)
        few_cells = patch.object(Report, "_read_group_cells_bound", lambda *args, **kwargs: 1)
        many_cells = patch.object(Report, "_read_group_cells_bound", lambda *args, **kwargs: None)
        return {
            "as it chooses": [],
            "counted": [no_rollup, few_cells],
            "two statements, counted": [no_rollup, many_cells],
            "two statements, sorted": [
                no_rollup,
                many_cells,
                patch.object(report_module, "PERCENTILE_COUNTED_CELLS", 0),
            ],
        }

    def _read_by_each_path(self, Report, *args, **kwargs):
        """``Report._read_group(*args, **kwargs)`` by each path: {name: rows}."""
        results = {}
        for name, patches in self._read_paths().items():
            with ExitStack() as stack:
                for each in patches:
                    stack.enter_context(each)
                Report.invalidate_model()
                results[name] = Report._read_group(*args, **kwargs)
        return results

    def assertSameRows(self, actual, expected):
        self.assertEqual(len(actual), len(expected))
        for actual_row, expected_row in zip(actual, expected, strict=True):
            self.assertEqual(len(actual_row), len(expected_row))
            for value, expected_value in zip(actual_row, expected_row, strict=True):
                # the same type too: 0 is no empty sum, 2.0 no count
                self.assertIs(type(value), type(expected_value), (value, expected_value))
                if isinstance(expected_value, float):
                    self.assertAlmostEqual(value, expected_value, places=9)
                else:
                    self.assertEqual(value, expected_value)

    def test_read_paths_agree(self):
        """The rollup, the counted read and the two statements (counted or sorted) give the same
        groups, in the same order, with the same figures: for every role, filter, grouping,
        order and page; and a read the rollup cannot make is made from the sessions."""
        Report = self.env["livechat.session.report"]
        # two sessions alike in all the rollup sums them by: one row of it stands for both
        for visitor in ("S8", "S9"):
            session = self._session(self.external_livechat, visitor, operator=self.support_2)
            self._reply(session, self.support_2, 1)
            self._close(session)
        Report._livechat_refresh_pending()  # the facts of the sessions written in setUpClass
        measures = Report._livechat_pivot_measures()
        self.assertEqual(
            measures[:3], ["__count", "waiting_time:avg", "waiting_time_p90:p90"], "the action's, aggregated"
        )
        support = self.group_support.name
        reads = [
            ([], [], {}),
            ([], ["livechat_channel_id", "group_id"], {}),
            ([], ["operator_id"], {"order": "operator_id desc", "limit": 2, "offset": 1}),
            ([("medium", "=", "website")], ["final_group_id", "state"], {}),
            ([("group_id.name", "=", support)], ["state"], {}),
            ([("date", ">=", T0)], ["livechat_channel_id"], {}),
            ([], ["date:month", "livechat_channel_id"], {"order": "date:month desc, livechat_channel_id"}),
            ([], ["date:day_of_week"], {}),
            ([], ["livechat_channel_id"], {"aggregates": ["waiting_time:max", "waiting_time_p90:p90"]}),
            ([], ["group_id"], {"aggregates": ["session_id:count_distinct", "waiting_time_p90:p90"]}),
            ([], ["group_id"], {"order": "waiting_time:avg desc"}),
            # the pivot's sort by the percentile (stock's order refuses an aggregate named p90)
            ([], ["operator_id"], {"order": "waiting_time_p90:p90 desc, operator_id"}),
            ([], ["livechat_channel_id"], {"order": "waiting_time_p90:p90 asc nulls last", "limit": 1}),
            ([], ["final_group_id"], {"aggregates": ["__count"], "order": "waiting_time_p90:p90 DESC"}),
        ]
        for user in (self.admin, self.ext_supervisor):
            for domain, groupby, kwargs in reads:
                kwargs = {"aggregates": measures, **kwargs}
                with self.subTest(user=user.name, domain=domain, groupby=groupby, kwargs=kwargs):
                    results = self._read_by_each_path(Report.with_user(user), domain, groupby, **kwargs)
                    expected = results.pop("two statements, sorted")
                    self.assertTrue(expected)
                    for name, rows in results.items():
                        with self.subTest(path=name):
                            self.assertSameRows(rows, expected)

    def test_rollup_reads(self):
        """Which reads the rollup makes: those whose filters, record rules and groups are the
        rollup's keys; a filter on anything else (the date, a session) reads the sessions."""
        Report = type(self.env["livechat.session.report"])
        calls = []
        counted = Report._read_group_counted

        def spy(self, query, *args, rollup=False, **kwargs):
            calls.append(rollup)
            return counted(self, query, *args, rollup=rollup, **kwargs)

        measures = ["__count", "waiting_time_p90:p90", "waiting_time:avg"]
        with patch.object(Report, "_read_group_counted", spy):
            for user in (self.admin, self.ext_supervisor):
                Figures = self.env["livechat.session.report"].with_user(user)
                for domain, groupby, rollup in (
                    ([], ["livechat_channel_id", "group_id"], True),
                    ([("livechat_channel_id.name", "ilike", "live chat")], ["operator_id"], True),
                    ([("date", ">=", T0)], ["livechat_channel_id"], False),
                    ([("session_id.name", "=", "S1")], [], False),
                ):
                    with self.subTest(user=user.name, domain=domain):
                        calls.clear()
                        Figures._read_group(domain, groupby, measures)
                        self.assertEqual(calls[:1], [rollup])

    def test_rollup_reads_open_sessions_by_the_clock(self):
        """The open sessions are read beside the rollup, each decided against its target by the
        clock at the read: a session still waiting is late once its target has passed."""
        Report = self.env["livechat.session.report"]
        self.external_livechat.answer_target_minutes = 5
        waiting = Report.search(
            [("livechat_channel_id", "=", self.external_livechat.id), ("state", "=", "queued")]
        ).session_id
        self.assertEqual(waiting.mapped("name"), ["S4"])

        def late():
            Report.invalidate_model()
            ((breaches, answered, __),) = Report._read_group(
                [("livechat_channel_id", "=", self.external_livechat.id), ("state", "=", "queued")],
                [],
                ["target_breaches:sum", "answered_in_target:avg", "waiting_time_p90:p90"],
            )
            return breaches, answered

        # started in January: long past its 5 minutes
        self.assertEqual(late(), (1, 0))
        self.env.cr.execute(
            "UPDATE livechat_session_report_fact SET date = now() AT TIME ZONE 'UTC' WHERE session_id = %s",
            [waiting.id],
        )
        self.assertEqual(late(), (0, False), "started now: not late yet, not decided")

    def test_percentiles_counted_sorted_and_filtered_agree(self):
        """Each path gives percentile_cont's figure, over the values to a hundredth of a minute,
        and so does the standard statement when a percentile filters the groups."""
        Report = self.env["livechat.session.report"]
        Report._livechat_refresh_pending()  # the facts of the sessions written in setUpClass
        domain = [("livechat_channel_id", "in", (self.external_livechat | self.second_livechat).ids)]
        groupby = ["livechat_channel_id", "group_id"]
        self.env.cr.execute(
            SQL(
                """SELECT livechat_channel_id, group_id,
                          percentile_cont(0.9) WITHIN GROUP (ORDER BY round(waiting_time * 100)) / 100
                     FROM livechat_session_report_fact WHERE livechat_channel_id = ANY(%s)
                 GROUP BY 1, 2""",
                domain[0][2],
            )
        )
        expected = {
            (self.env["im_livechat.channel"].browse(lc), self.env["livechat.group"].browse(group)): p90
            or False
            for lc, group, p90 in self.env.cr.fetchall()
        }
        self.assertEqual(len(expected), 2)
        self.assertIn(8.4, expected.values())
        results = self._read_by_each_path(Report, domain, groupby, ["__count", "waiting_time_p90:p90"])
        results["filtered"] = Report._read_group(
            domain, groupby, ["__count", "waiting_time_p90:p90"], having=[("waiting_time_p90:p90", ">=", 0)]
        )
        for name, rows in results.items():
            with self.subTest(path=name):
                actual = {(lc, group): p90 for lc, group, __, p90 in rows}
                self.assertEqual(actual.keys(), expected.keys())
                for key, value in expected.items():
                    self.assertAlmostEqual(actual[key] or 0, value or 0, places=6)
        # and the total, one cell: 0, 2, 10 and 20
        for name, rows in self._read_by_each_path(
            Report, domain, [], ["waiting_time_p90:p90", "__count"]
        ).items():
            with self.subTest(path=name):
                ((p90, count),) = rows
                self.assertEqual(count, 5)
                self.assertAlmostEqual(p90, 17)

    def test_percentile_of_values_between_steps(self):
        """Values are rounded to the field's hundredths before the percentile, whichever way the
        cell is read: a minute and a third is 1.33."""
        Report = self.env["livechat.session.report"]
        session = self.env["livechat.session.report"].search([("waiting_time", "=", 20)]).session_id
        self.assertEqual(session.livechat_channel_id, self.second_livechat, "its only session")
        self.env.cr.execute(
            "UPDATE livechat_session_report_fact SET waiting_time = 4 / 3.0 WHERE session_id = %s",
            [session.id],
        )
        for domain in (
            [("session_id", "=", session.id)],
            [("livechat_channel_id", "=", self.second_livechat.id)],
        ):
            for name, rows in self._read_by_each_path(Report, domain, [], ["waiting_time_p90:p90"]).items():
                with self.subTest(domain=domain, path=name):
                    self.assertAlmostEqual(rows[0][0], 1.33, places=9)

    def test_figures_per_day(self):
        rows = self.env["livechat.session.report"].read_group(
            [("livechat_channel_id", "=", self.external_livechat.id)],
            ["waiting_time_p90:p90"],
            ["date:day"],
        )
        self.assertEqual(len(rows), 1)
        self.assertAlmostEqual(rows[0]["waiting_time_p90"], 8.4, places=2)

    def test_who_reads_the_figures(self):
        self.assertEqual(
            set(self._figures(["livechat_channel_id"], user=self.ext_supervisor)), {"External Live Chat"}
        )
        self.assertEqual(
            set(self._figures(["livechat_channel_id"], user=self.int_supervisor)), {"Second Live Chat"}
        )
        self.assertEqual(len(self._figures(["livechat_channel_id"], user=self.admin)), 2)
        self.assertFalse(
            self._figures(["livechat_channel_id"], user=self.support_1), "operators supervise nothing"
        )
        with self.assertRaises(AccessError):
            self._figures(["livechat_channel_id"], user=self.employee)

    def test_rules_read_as_live_chats(self):
        """The record rules are applied as the list of live chats they allow: the same rows as
        the ORM's own reading of them, for every role."""
        Report = self.env["livechat.session.report"]
        for user in (self.ext_supervisor, self.int_supervisor, self.support_1, self.admin):
            with self.subTest(user=user.name):
                domain = self.env["ir.rule"].with_user(user)._compute_domain(Report._name, "read")
                expected = Report.sudo().search(domain or [], order="id").ids
                self.assertTrue(expected or user == self.support_1)
                self.assertEqual(Report.with_user(user).search([], order="id").ids, expected)

    def test_abandoned_sessions_and_notes(self):
        """A visitor who left before any operator got them is not 'resolved'; an operators' note
        is no reply to the visitor."""
        ext = self.external_livechat
        abandoned = self._session(ext, "S6")
        self._close(abandoned)
        noted = self._session(ext, "S7", operator=self.support_1)
        self._at(
            2,
            lambda: noted.with_user(self.support_1).action_livechat_forward(
                self.group_sales.id, note="For Sales", user_id=self.sales_1.id
            ),
        )
        note = noted.message_ids.filtered(lambda m: "For Sales" in m.body)
        self._set_date("mail_message", note.ids, 2)
        self._reply(noted, self.sales_1, 6)
        self.env.flush_all()
        row = self.env["livechat.session.report"].search([("session_id", "=", abandoned.id)])
        self.assertEqual(row.state, "closed")
        self.assertFalse(row.resolved_in_entry, "never answered: not counted as resolved")
        self.assertFalse(row.waiting_time)
        row = self.env["livechat.session.report"].search([("session_id", "=", noted.id)])
        self.assertAlmostEqual(row.first_reply_time, 6, places=2)


@tagged("post_install", "-at_install")
class TestSessionReportRpc(LivechatGroupsRoutingCase):
    """The figures read over RPC, as the pivot and the graph read them."""

    def setUp(self):
        super().setUp()
        self._online(self.support_1)

    def test_figures_sorted_by_the_percentile(self):
        """The pivot's sort by the 90th percentile, over RPC."""
        self._get_session(self.livechat, "Bob")
        self._get_session(self.livechat, "Ann")
        for user in (self.admin, self.ext_supervisor):
            with self.subTest(user=user.name):
                rows = self._rpc(
                    user,
                    "livechat.session.report",
                    "read_group",
                    [],
                    ["waiting_time_p90:p90", "waiting_time:avg"],
                    ["livechat_channel_id", "operator_id"],
                    orderby="waiting_time_p90 desc",
                    lazy=False,
                )
                self.assertIn(self.livechat.id, [row["livechat_channel_id"][0] for row in rows])
