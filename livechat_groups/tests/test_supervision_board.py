import json
from datetime import timedelta

from markupsafe import Markup

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import JsonRpcException, tagged

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin

BOARD_SPEC = {
    "livechat_visitor_name": {},
    "livechat_routing_state": {},
    "livechat_channel_id": {"fields": {"display_name": {}}},
    "livechat_group_id": {"fields": {"display_name": {}}},
    "livechat_operator_user_id": {"fields": {"display_name": {}}},
    "livechat_board_minutes": {},
    "livechat_board_overdue": {},
    "livechat_board_color": {},
    "livechat_last_message": {},
    "livechat_forward_count": {},
}


@tagged("post_install", "-at_install")
class TestSupervisionBoard(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Live Chat > Supervision: what the board shows and what its cards' buttons and moves do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.routing_mode = "manual"
        cls.Channel = cls.env["discuss.channel"]

    def setUp(self):
        super().setUp()
        self.waiting = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(self.waiting.livechat_routing_state, "queued")

    def _board(self, user, domain=()):
        return self.Channel.with_user(user).search([("livechat_supervised", "=", True), *domain])

    def _snapshot(self, session):
        self.env.invalidate_all()
        return (
            session.livechat_routing_state,
            session.livechat_operator_id,
            len(session.livechat_transfer_ids),
            len(session.channel_member_ids),
        )

    # ------------------------------------------------------------
    # What the board shows
    # ------------------------------------------------------------

    def test_board_shows_the_supervised_live_chats(self):
        internal = self._queued_session(self.internal_livechat, "Eve")
        self.assertEqual(self._board(self.ext_supervisor), self.waiting)
        self.assertEqual(self._board(self.int_supervisor), internal)
        ours = [("livechat_channel_id", "in", (self.external_livechat | self.internal_livechat).ids)]
        self.assertEqual(self._board(self.admin, ours), self.waiting | internal)
        self.assertFalse(self._board(self.support_1), "an operator supervises nothing")

    def test_columns(self):
        Board = self.Channel.with_user(self.ext_supervisor)
        domain = [("livechat_supervised", "=", True)]
        groups = Board.read_group(domain, ["livechat_routing_state"], ["livechat_routing_state"])
        self.assertEqual(
            [group["livechat_routing_state"] for group in groups],
            ["queued", "assigned", "closed"],
            "the three columns, even empty",
        )
        groups = Board.read_group(domain, ["livechat_operator_user_id"], ["livechat_operator_user_id"])
        self.assertEqual(
            {group["livechat_operator_user_id"][0] for group in groups if group["livechat_operator_user_id"]},
            {user.id for user in (self.support_1, self.support_2, self.sales_1, self.sales_2, self.tech_1)},
            "every operator of the live chat has a column to drop a session on",
        )

    def test_card_figures(self):
        self.waiting.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.waiting.with_user(self.support_1).message_post(
            body=Markup("<p>Hello <b>Ann</b>, how can I help?</p>"),
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.waiting.with_user(self.support_1).action_livechat_forward(self.group_tech.id)
        card = self.waiting.with_user(self.ext_supervisor)
        self.assertEqual(card.livechat_last_message, "Hello *Ann*, how can I help?")
        self.assertEqual(card.livechat_forward_count, 1)
        self.assertEqual(card.livechat_routing_state, "queued", "Tech Support is offline")
        self.assertEqual(card.livechat_operator_user_id, self.env["res.users"])

    def test_card_turns_red_after_the_waiting_alert(self):
        self.assertEqual(self.external_livechat.wait_alert_minutes, 5, "the default")
        self.waiting.livechat_queued_date = fields.Datetime.now() - timedelta(minutes=4, seconds=30)
        self.assertEqual(self.waiting.livechat_board_minutes, 4)
        self.assertFalse(self.waiting.livechat_board_overdue)
        self.assertEqual(self.waiting.livechat_board_color, 0)
        self.waiting.livechat_queued_date = fields.Datetime.now() - timedelta(minutes=6)
        self.env.invalidate_all()
        self.assertTrue(self.waiting.livechat_board_overdue)
        self.assertEqual(self.waiting.livechat_board_color, 1)
        self.external_livechat.wait_alert_minutes = 0
        self.assertFalse(self.waiting.livechat_board_overdue, "0 never warns")
        self.external_livechat.wait_alert_minutes = 5
        self.waiting.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.assertFalse(self.waiting.livechat_board_overdue, "only waiting sessions warn")

    def test_board_reads_in_a_constant_number_of_queries(self):
        """The cards' figures come from one query, whatever the number of sessions."""
        Board = self.Channel.with_user(self.ext_supervisor)
        domain = [("livechat_supervised", "=", True)]

        def count_queries():
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            records = Board.web_search_read(domain, BOARD_SPEC)["records"]
            return self.cr.sql_log_count - before, len(records)

        def add_sessions(count):
            for index in range(count):
                session = self._get_session(self.external_livechat, f"Visitor {index}")
                session.message_post(body=f"Question {index}", message_type="comment")
                session.with_user(self.ext_supervisor).action_livechat_assign(
                    (self.support_1 | self.support_2 | self.sales_1)[index % 3].id
                )

        add_sessions(2)
        count_queries()  # warm the caches (rules, groups) that stay for the next reads
        few, shown = count_queries()
        self.assertEqual(shown, 3)
        add_sessions(27)
        many, shown = count_queries()
        self.assertEqual(shown, 30)
        self.assertEqual(few, many, "no query per card")

    # ------------------------------------------------------------
    # Moving a card to an operator's column
    # ------------------------------------------------------------

    def _drop(self, user, session, operator):
        """Move the card the way the web client does: web_save of the operator column's value."""
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw/discuss.channel/web_save",
            {
                "model": "discuss.channel",
                "method": "web_save",
                "args": [session.ids, {"livechat_operator_user_id": operator.id if operator else False}],
                "kwargs": {"specification": BOARD_SPEC},
            },
        )

    def test_drop_on_an_operator_assigns(self):
        result = self._drop(self.ext_supervisor, self.waiting, self.support_2)
        self.env.invalidate_all()
        self.assertEqual(self.waiting.livechat_routing_state, "assigned")
        self.assertEqual(self.waiting.livechat_operator_id, self.support_2.partner_id)
        self.assertIn(self.support_2.partner_id, self.waiting.channel_member_ids.partner_id)
        self.assertEqual(result[0]["livechat_operator_user_id"]["id"], self.support_2.id)
        self.assertRecordValues(
            self.waiting.livechat_transfer_ids[-1],
            [{"kind": "assign", "to_user_id": self.support_2.id, "create_uid": self.ext_supervisor.id}],
        )
        # and again to another operator: a reassignment
        self._drop(self.admin, self.waiting, self.sales_1)
        self.env.invalidate_all()
        self.assertEqual(self.waiting.livechat_operator_id, self.sales_1.partner_id)
        self.assertEqual(self.waiting.livechat_group_id, self.group_sales)

    def test_drop_refused_changes_nothing(self):
        before = self._snapshot(self.waiting)
        cases = [
            (self.support_1, self.support_2, "odoo.exceptions.AccessError"),  # an operator is no supervisor
            (self.int_supervisor, self.support_2, "odoo.exceptions.AccessError"),  # another live chat's
            (self.ext_supervisor, self.employee, "odoo.exceptions.UserError"),  # not an operator
            (self.ext_supervisor, None, "odoo.exceptions.UserError"),  # back to the queue by hand
        ]
        for user, operator, error in cases:
            with self.subTest(user=user.login, operator=operator and operator.login):
                with self.assertRaises(JsonRpcException) as caught:
                    self._drop(user, self.waiting, operator)
                self.assertEqual(caught.exception.args[0], error)
                self.assertEqual(self._snapshot(self.waiting), before)

    def test_write_is_the_assignment_with_its_checks(self):
        with self.assertRefused(AccessError, "Only the supervisors of External Live Chat"):
            self.waiting.with_user(self.support_1).write({"livechat_operator_user_id": self.support_1.id})
        with self.assertRefused(UserError, "Eve Employee is not a member of the operator groups"):
            self.waiting.with_user(self.ext_supervisor).write({"livechat_operator_user_id": self.employee.id})
        self.waiting.with_user(self.ext_supervisor).write({"livechat_operator_user_id": self.support_1.id})
        self.assertEqual(self.waiting.livechat_operator_id, self.support_1.partner_id)

    def test_routing_fields_are_not_written_by_hand(self):
        self.waiting.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        before = self._snapshot(self.waiting)
        for vals in (
            {"livechat_routing_state": "closed"},
            {"livechat_group_id": self.group_sales.id},
            {"livechat_operator_id": self.support_2.partner_id.id},
            {"livechat_requester_id": False},
            {"livechat_queued_date": "2000-01-01 00:00:00"},
            {"livechat_active": False},
        ):
            with self.subTest(vals=vals), self.assertRefused(AccessError, "changes only when it is taken"):
                # a member of the conversation may write it, but not its routing
                self.waiting.with_user(self.support_1).write(vals)
        self.assertEqual(self._snapshot(self.waiting), before)

    # ------------------------------------------------------------
    # The buttons
    # ------------------------------------------------------------

    def test_assign_dialog(self):
        self._online(self.support_2)
        Wizard = self.env["livechat.session.assign"].with_user(self.ext_supervisor)
        wizard = Wizard.with_context(default_session_id=self.waiting.id).create({"user_id": self.sales_2.id})
        self.assertEqual(
            wizard.operator_ids, self.support_1 | self.support_2 | self.sales_1 | self.sales_2 | self.tech_1
        )
        overview = str(wizard.operator_overview)
        self.assertIn("Simon Support", overview)
        self.assertLess(overview.index("Simon Support"), overview.index("Selma Sales"), "available first")
        wizard.action_assign()
        self.assertEqual(self.waiting.livechat_operator_id, self.sales_2.partner_id)
        other = self._get_session(self.external_livechat, "Bob")
        wizard = (
            self.env["livechat.session.assign"]
            .with_user(self.support_1)
            .create({"session_id": other.id, "user_id": self.support_1.id})
        )
        with self.assertRefused(AccessError, "Only the supervisors"):
            wizard.action_assign()

    def test_join_opens_the_conversation_in_discuss(self):
        action = self.waiting.with_user(self.ext_supervisor).action_livechat_join()
        self.assertEqual(action["tag"], "mail.action_discuss")
        self.assertEqual(action["context"]["active_id"], f"discuss.channel_{self.waiting.id}")
        self.assertIn(self.ext_supervisor.partner_id, self.waiting.channel_member_ids.partner_id)
        self.assertEqual(self.waiting.livechat_routing_state, "queued", "joining does not take the session")
        count = len(self.waiting.channel_member_ids)
        self.waiting.with_user(self.ext_supervisor).action_livechat_join()
        self.assertEqual(len(self.waiting.channel_member_ids), count, "joining twice changes nothing")
        # the supervisor now reads the conversation in Discuss as a member
        self.assertTrue(self.waiting.with_user(self.ext_supervisor).is_member)

    def test_close(self):
        self._online(self.support_1)
        self.waiting.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.external_livechat.routing_mode = "auto"
        self.external_livechat.max_sessions_per_operator = 1
        self._offline(self.support_1)
        next_one = self._get_session(self.external_livechat, "Bob")
        self._online(self.support_1)
        self.assertEqual(next_one.livechat_routing_state, "queued")

        self.waiting.with_user(self.ext_supervisor).action_livechat_close()
        self.assertEqual(self.waiting.livechat_routing_state, "closed")
        self.assertFalse(self.waiting.livechat_active)
        self.assertTrue(self.waiting.livechat_closed_date)
        self.assertIn(
            "Xena Supervisor ended the conversation. Thank you for writing to us",
            self.waiting.message_ids[0].body,
        )
        self.assertEqual(
            next_one.livechat_operator_id, self.support_1.partner_id, "the operator takes the next one"
        )
        with self.assertRefused(UserError, "This session is closed"):
            self.waiting.with_user(self.ext_supervisor).action_livechat_close()

    # ------------------------------------------------------------
    # The board hears about changes
    # ------------------------------------------------------------

    def _board_notified(self):
        """The bus channels that were sent the board's notification since the last call."""
        self.env.cr.precommit.run()  # the bus writes its notifications before the commit
        notifications = self.env["bus.bus"].sudo().search([("id", ">", self._last_bus_id)])
        self._last_bus_id = self.env["bus.bus"].sudo()._bus_last_id()
        return {
            tuple(json.loads(n.channel)[1:])
            for n in notifications
            if json.loads(n.message)["type"] == "livechat_groups.session_update"
        }

    def test_supervisors_are_notified_of_each_change(self):
        self._last_bus_id = self.env["bus.bus"].sudo()._bus_last_id()
        board = ("im_livechat.channel", self.external_livechat.id, "supervisors")
        steps = {
            "new session": lambda: self._get_session(self.external_livechat, "Bob"),
            "assign": lambda: self.waiting.with_user(self.admin).action_livechat_assign(self.support_1.id),
            "forward": lambda: self.waiting.with_user(self.support_1).action_livechat_forward(
                self.group_tech.id
            ),
            "close": lambda: self.waiting.with_user(self.ext_supervisor).action_livechat_close(),
        }
        for step, run in steps.items():
            with self.subTest(step=step):
                run()
                notified = self._board_notified()
                self.assertEqual(notified, {board}, "the live chat's supervisors only, once")
