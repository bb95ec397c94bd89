from odoo.tests import tagged

from .common import LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestGroupSettingsTours(LivechatGroupsTourCase):
    def test_administrator_creates_group_and_picks_it(self):
        billing_team = self.env["res.groups"].create({"name": "Billing Team"})
        biller = self._user("biller", name="Bill Billing")
        biller.groups_id = [(4, billing_team.id)]

        self.start_tour("/odoo/livechat-groups", "livechat_groups_create_group", login=self.admin.login)
        group = self.env["livechat.group"].search([("name", "=", "Billing Experts")])
        self.assertEqual(group.user_ids, self.accounting_1)
        self.assertEqual(group.system_group_ids, billing_team)
        self.assertEqual(group.member_ids, self.accounting_1 | biller)

        self.start_tour(
            f"/odoo/livechat/{self.internal_livechat.id}",
            "livechat_groups_pick_group",
            login=self.admin.login,
        )
        self.assertIn(group, self.internal_livechat.specialist_group_ids)
        self.assertEqual(self.internal_livechat.routing_mode, "manual")
        self.assertTrue(biller.has_group("im_livechat.im_livechat_group_user"), "a specialist operates")

    def test_livechat_user_cannot_create_groups(self):
        self.start_tour(
            "/odoo/livechat-groups", "livechat_groups_user_reads_groups", login=self.livechat_user.login
        )
