from lxml import etree

from odoo import Command
from odoo.tests import tagged

from .common import LivechatGroupsCase, LivechatGroupsRoutingMixin


@tagged("post_install", "-at_install")
class TestSupervisionBoardQueries(LivechatGroupsRoutingMixin, LivechatGroupsCase):
    """The supervisors' board reads a page of cards in the same number of SQL queries whatever
    the number of cards: no query per session (make bench reads it on 10,000 open sessions)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.routing_mode = "manual"
        Channel = cls.env["discuss.channel"]
        operators = cls.support_1 | cls.support_2 | cls.sales_1
        sessions = Channel
        for index in range(50):
            sessions |= cls._queued_session(cls, cls.external_livechat, f"Visitor {index}")
        for index, session in enumerate(sessions):
            session.message_post(body=f"Question {index}", message_type="comment")
            if index % 10:
                session.with_user(cls.ext_supervisor).action_livechat_assign(operators[index % 3].id)
            if index % 4 == 3:
                session.with_user(cls.ext_supervisor).action_livechat_forward(
                    cls.group_sales.id, user_id=cls.sales_2.id
                )
        cls.sessions = sessions
        # the specification the web client sends for the board's cards: every field of the view
        view = cls.env.ref("livechat_groups.discuss_channel_view_kanban_livechat_supervision")
        cls.spec = {}
        for node in etree.fromstring(view.arch.encode()).iter("field"):
            field = Channel._fields[node.get("name")]
            cls.spec[field.name] = {"fields": {"display_name": {}}} if field.type == "many2one" else {}
        cls.env.flush_all()

    def _read(self, limit):
        """The board as the web client opens it, ``limit`` cards a column: (queries, cards)."""
        Board = self.env["discuss.channel"].with_user(self.ext_supervisor).with_context(lang="en_US")
        domain = [
            ("livechat_supervised", "=", True),
            ("livechat_routing_state", "in", ("queued", "assigned")),
        ]
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        columns = Board.web_read_group(domain, ["livechat_routing_state"], ["livechat_routing_state"])
        cards = 0
        for column in columns["groups"]:
            cards += len(Board.web_search_read(column["__domain"], self.spec, limit=limit)["records"])
        return self.env.cr.sql_log_count - before, cards

    def test_same_queries_for_10_and_40_cards(self):
        self._read(40)  # warm the caches that outlive a request (access rules, views)
        few, shown_few = self._read(10)
        many, shown_many = self._read(40)
        # 5 waiting, then 10 or 40 of the 45 in progress
        self.assertEqual((shown_few, shown_many), (15, 45))
        self.assertEqual(few, many, "no query per card")

    def test_members_and_history_read_in_bulk(self):
        """A card's figures (last message, forwards, the clock) come for the whole page at once,
        also when the sessions have members and hops of their own."""
        self.sessions[:20].write(
            {"channel_member_ids": [Command.create({"partner_id": self.tech_1.partner_id.id})]}
        )
        self._read(40)
        few, __ = self._read(10)
        many, __ = self._read(40)
        self.assertEqual(few, many)
