import json

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import LivechatGroupsCase, LivechatGroupsRoutingCase


@tagged("post_install", "-at_install")
class TestLivechatGroup(LivechatGroupsCase):
    """A group (`livechat.group`): its members (users and tied user groups), and the Live Chat
    rights that follow membership."""

    def test_administrator_manages_groups(self):
        Group = self.env["livechat.group"].with_user(self.admin)
        group = Group.create({"name": "Key Accounts", "user_ids": [Command.link(self.sales_1.id)]})
        self.assertEqual(group.member_ids, self.sales_1)
        self.assertEqual(group.company_id, self.env.company)

        group.write({"user_ids": [Command.link(self.sales_2.id)], "description": "Big customers"})
        self.assertEqual(group.member_ids, self.sales_1 | self.sales_2)

        group.action_archive()
        self.assertFalse(Group.search([("name", "=", "Key Accounts")]))
        group.action_unarchive()
        group.unlink()
        self.assertFalse(group.exists())

    def _sellers(self):
        """A group of Sam Seller, through a tied user group, and of a sales user, by hand."""
        sales_user_group = self.env["res.groups"].create({"name": "Sales / Test User"})
        seller = self._user("seller", name="Sam Seller")
        seller.groups_id = [Command.link(sales_user_group.id)]
        group = self.env["livechat.group"].create(
            {
                "name": "Sellers",
                "user_ids": [Command.link(self.sales_1.id)],
                "system_group_ids": [Command.link(sales_user_group.id)],
            }
        )
        return group, seller

    def test_members_are_union_of_users_and_tied_groups(self):
        group, seller = self._sellers()
        self.assertEqual(group.member_ids, self.sales_1 | seller)
        self.assertEqual(group.member_count, 2)

    def test_only_active_internal_users_count(self):
        portal_group = self.env.ref("base.group_portal")
        group = self.env["livechat.group"].create(
            {
                "name": "Mixed",
                "user_ids": [Command.set((self.sales_1 | self.sales_2).ids)],
                "system_group_ids": [Command.link(portal_group.id)],
            }
        )
        self.assertNotIn(self.portal, group.member_ids, "portal users are never members")
        self.sales_2.active = False
        group.invalidate_recordset(["member_ids"])
        self.assertEqual(group.member_ids, self.sales_1)
        self.assertFalse(
            self.env["livechat.group"].search([("member_ids", "in", self.sales_2.ids)]),
            "an archived user is a member of no group",
        )

    def test_anyone_online_reads_the_members_presence(self):
        """Whether anyone of a group is online (what a waiting visitor is told) counts its
        members by hand and through its tied group, online now, and nobody else."""
        group, seller = self._sellers()
        Presence = self.env["bus.presence"]
        Presence.search([]).unlink()
        self.assertFalse(group._livechat_anyone_online(), "nobody has a presence")
        Presence.create({"user_id": self.portal.id, "status": "online"})
        Presence.create({"user_id": self.sales_2.id, "status": "online"})
        self.assertFalse(group._livechat_anyone_online(), "online, but not members")
        away = Presence.create({"user_id": self.sales_1.id, "status": "away"})
        self.assertFalse(group._livechat_anyone_online(), "a member away is not online")
        away.status = "online"
        self.assertTrue(group._livechat_anyone_online(), "a member by hand")
        away.status = "offline"
        self.assertFalse(group._livechat_anyone_online())
        Presence.create({"user_id": seller.id, "status": "online"})
        self.assertTrue(group._livechat_anyone_online(), "a member through the tied group")
        seller.active = False
        self.assertFalse(group._livechat_anyone_online(), "an archived user is no member")
        self.assertFalse(self.env["livechat.group"]._livechat_anyone_online(), "no group")

    def test_members_follow_tied_group_without_refresh(self):
        team = self.env["res.groups"].create({"name": "Support Team"})
        group = self.env["livechat.group"].create(
            {"name": "Team", "system_group_ids": [Command.link(team.id)]}
        )
        Group = self.env["livechat.group"]
        self.assertFalse(group.member_ids)

        # a user joins the Odoo group, from the user's side
        self.tech_1.groups_id = [Command.link(team.id)]
        self.assertEqual(group.member_ids, self.tech_1)
        self.assertEqual(Group.search([("member_ids", "in", self.tech_1.ids)]) & group, group)

        # another joins from the group's side, then the first one leaves
        team.users = [Command.link(self.hr_1.id), Command.unlink(self.tech_1.id)]
        self.assertEqual(group.member_ids, self.hr_1)
        self.assertFalse(Group.search([("member_ids", "in", self.tech_1.ids), ("id", "=", group.id)]))

    def test_search_members(self):
        # the demo data has groups too: look only at the scenario's
        Group = self.env["livechat.group"]

        def search(domain):
            return Group.search([*domain, ("id", "in", self.scenario_groups.ids)])

        groups_of = search([("member_ids", "in", self.support_1.ids)])
        self.assertEqual(groups_of, self.group_support | self.group_employees)
        self.assertEqual(search([("member_ids", "=", self.support_1.id)]), groups_of)
        self.assertEqual(search([("member_ids", "ilike", "Sonia Sup")]), groups_of)
        self.assertEqual(
            search([("member_ids", "not in", self.support_1.ids)]), self.scenario_groups - groups_of
        )
        self.assertIn(self.group_sales, search([("member_ids", "!=", self.support_1.id)]))
        self.assertEqual(search([("member_ids", "not ilike", "Sonia Sup")]), self.scenario_groups - groups_of)
        with self.assertRaisesRegex(UserError, "operator"):
            Group.search([("member_ids", ">", 3)])

    def test_operators_and_supervisors_become_livechat_users(self):
        livechat_user = "im_livechat.im_livechat_group_user"
        for user in (self.support_1, self.sales_2, self.tech_1, self.ext_supervisor, self.hr_1):
            self.assertTrue(user.has_group(livechat_user), user.name)
        self.assertFalse(self.employee.has_group(livechat_user), "requesters need no Live Chat right")

        # a new member of an operator group, by hand
        newcomer = self._user("newcomer", name="Nina Newcomer")
        self.group_tech.user_ids = [Command.link(newcomer.id)]
        self.assertTrue(newcomer.has_group(livechat_user))

        # a new member through a tied Odoo group, when the user joins it
        team = self.env["res.groups"].create({"name": "Accounting / Team"})
        self.group_accounting.system_group_ids = [Command.link(team.id)]
        latecomer = self._user("latecomer", name="Larry Latecomer")
        self.assertFalse(latecomer.has_group(livechat_user))
        latecomer.groups_id = [Command.link(team.id)]
        self.assertTrue(latecomer.has_group(livechat_user))

        # a group that becomes a specialist group of a live chat
        outsider = self._user("outsider", name="Oscar Outsider")
        legal = self.env["livechat.group"].create({"name": "Legal", "user_ids": [Command.link(outsider.id)]})
        self.assertFalse(outsider.has_group(livechat_user), "an unused group grants nothing")
        self.internal_livechat.specialist_group_ids = [Command.link(legal.id)]
        self.assertTrue(outsider.has_group(livechat_user))

    def test_supervisors_and_only_they_become_supervisors(self):
        supervisor = "livechat_groups.group_livechat_supervisor"
        self.assertTrue(self.ext_supervisor.has_group(supervisor))
        self.assertTrue(self.int_supervisor.has_group(supervisor))
        self.assertTrue(self.admin.has_group(supervisor), "administrators supervise every live chat")
        for user in (self.support_1, self.sales_1, self.hr_1, self.livechat_user, self.employee):
            self.assertFalse(user.has_group(supervisor), f"{user.name} does not supervise")
        # an operator group that becomes a supervisor group of another live chat
        self.external_livechat.supervisor_group_ids = [Command.link(self.group_hr.id)]
        self.assertTrue(self.hr_1.has_group(supervisor))

    def test_supervision_menu_is_for_supervisors(self):
        menu = self.env.ref("livechat_groups.livechat_supervision_menu")
        for user, sees in ((self.ext_supervisor, True), (self.admin, True), (self.support_1, False)):
            with self.subTest(user=user.name):
                visible = self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()
                self.assertEqual(menu.id in visible, sees)


@tagged("post_install", "-at_install")
class TestLivechatGroupSearch(LivechatGroupsRoutingCase):
    """Searching groups by their members, over RPC as the web client's filters do."""

    def test_member_ids_searches(self):
        """Values that are not user ids are refused with a clear error; "is set" and "is not
        set" select the groups with and without members."""
        Group = "livechat.group"
        for value in (["abc"], [self.support_1.id, "x"], [True]):
            with self.subTest(value=value):
                self._rpc_refused(
                    "UserError", "user ids", self.admin, Group, "search", [("member_ids", "in", value)]
                )
        empty = self.env[Group].create({"name": "Nobody Yet"})
        scenario = [("id", "in", (self.scenario_groups | empty).ids)]
        without = self._rpc(self.admin, Group, "search", [*scenario, ("member_ids", "=", False)])
        self.assertEqual(without, empty.ids)
        with_members = self._rpc(self.admin, Group, "search", [*scenario, ("member_ids", "!=", False)])
        self.assertEqual(set(with_members), set(self.scenario_groups.ids))
        # what kept working: Selma is in Sales, and an employee
        sales = (self.group_sales | self.group_employees).ids
        for condition in (("member_ids", "in", [self.sales_1.id]), ("member_ids", "ilike", "Selma")):
            with self.subTest(condition=condition):
                self.assertEqual(
                    set(self._rpc(self.admin, Group, "search", [*scenario, condition])), set(sales)
                )


@tagged("post_install", "-at_install")
class TestResubscribe(LivechatGroupsCase):
    """The web client subscribes again when its user's live chat groups change, and only then:
    a change of rights that touches no live chat group sends nothing more than stock does
    (stock's own bus tests count the notifications)."""

    def _resubscribed(self, user):
        self.env.cr.precommit.run()  # the bus writes its rows before the commit
        channel = json.dumps([self.env.cr.dbname, "res.partner", user.partner_id.id], separators=(",", ":"))
        rows = self.env["bus.bus"].sudo().search([("channel", "=", channel)])
        return [row for row in rows if json.loads(row.message)["type"] == "livechat_groups.resubscribe"]

    def test_only_a_change_of_live_chat_groups_resubscribes(self):
        billing = self.env["res.groups"].create({"name": "Billing Team"})
        unrelated = self.env["res.groups"].create({"name": "Unrelated Team"})
        self.env["livechat.group"].create(
            {"name": "Billing Desk", "system_group_ids": [Command.set(billing.ids)]}
        )
        self.env.cr.precommit.run()
        self.env["bus.bus"].sudo().search([]).unlink()
        self.employee.groups_id = [Command.link(unrelated.id)]
        self.assertFalse(self._resubscribed(self.employee), "no live chat group changed")
        self.employee.groups_id = [Command.link(billing.id)]
        self.assertEqual(len(self._resubscribed(self.employee)), 1, "they joined Billing Desk")
