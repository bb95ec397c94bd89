from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from odoo.addons.livechat_groups.models import livechat_routing

from . import test_business_hours, test_routing
from .common import LivechatGroupsCase, LivechatGroupsRoutingMixin


@tagged("post_install", "-at_install")
class TestRoutingDecision(LivechatGroupsRoutingMixin, LivechatGroupsCase):
    """One routing decision, as the website's request makes it: few queries, and the session's
    values built around the chosen operator from what the ranking read."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat = cls.external_livechat
        cls.stock_livechat = cls.env["im_livechat.channel"].create(
            {"name": "Stock Desk", "user_ids": [Command.set((cls.support_1 | cls.support_2).ids)]}
        )

    def _decide(self, livechat, name="Ann"):
        """The values of a new session of ``livechat`` on a cold cache, as a new request has
        them, and the queries it took."""
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        vals = livechat._get_livechat_discuss_channel_vals(name)
        return vals, self.env.cr.sql_log_count - before

    def test_session_values_name_the_chosen_operator(self):
        self._online(self.support_1)
        settings = self.env["res.users.settings"]._find_or_create_for_user(self.support_1)
        settings.livechat_username = "Sonia at Support"
        vals, _queries = self._decide(self.livechat)
        self.assertEqual(vals["livechat_operator_id"], self.support_1.partner_id.id)
        self.assertEqual(vals["livechat_group_id"], self.group_support.id)
        self.assertEqual(vals["name"], "Ann Sonia at Support")
        self.assertEqual(
            [command[2]["partner_id"] for command in vals["channel_member_ids"]],
            self.support_1.partner_id.ids,
        )

        settings.livechat_username = False
        self.support_1.partner_id.name = "Sonia Renamed"
        vals, _queries = self._decide(self.livechat, "Bob")
        self.assertEqual(vals["name"], "Bob Sonia Renamed", "what the ranking read is the current name")

    def test_operator_without_settings_row(self):
        """An operator whose settings row is gone (imports, scripts): the claim makes it, and
        the session is still built around them."""
        self._online(self.support_2)
        self.support_2.res_users_settings_ids.unlink()
        vals, _queries = self._decide(self.livechat)
        self.assertEqual(vals["livechat_operator_id"], self.support_2.partner_id.id)
        self.assertEqual(vals["name"], "Ann Simon Support")
        self.assertTrue(self.support_2.res_users_settings_ids, "claimed by making their row")

    def test_queries_of_a_decision(self):
        """The live chat, its entry groups (two) and the ranking: the session's values read the
        chosen operator from the cache; stock's decision over the same operators takes more."""
        self._online(self.support_1, self.support_2)
        _vals, grouped = self._decide(self.livechat)
        _vals, stock = self._decide(self.stock_livechat)
        self.assertEqual(grouped, 4)
        self.assertLess(grouped, stock)


class ManyMembersMixin:
    """The same stories, with the decision reading each member's facts by hash joins over whole
    tables, as it does from a few hundred members on, instead of by index lookups."""

    allow_inherited_tests_method = True  # Odoo's loader runs a class's own test methods only

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(livechat_routing, "FEW_MEMBERS", 0))


@tagged("post_install", "-at_install")
class TestRoutingManyMembers(ManyMembersMixin, test_routing.TestRouting):
    pass


@tagged("post_install", "-at_install")
class TestBusinessHoursManyMembers(ManyMembersMixin, test_business_hours.TestBusinessHours):
    pass


@tagged("post_install", "-at_install")
class TestRoutingDecisionManyMembers(ManyMembersMixin, TestRoutingDecision):
    pass
