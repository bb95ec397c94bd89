from odoo.tests import tagged

from .common import LivechatGroupsRoutingCase


@tagged("post_install", "-at_install")
class TestUserSettings(LivechatGroupsRoutingCase):
    """An operator's settings (their live chat name, shown to visitors, and their languages,
    which the routing ranks by) are theirs: nobody else may make them."""

    def test_employee_cannot_give_their_settings_to_an_operator(self):
        Settings = self.env["res.users.settings"]
        # an operator imported by a script, who never opened Odoo: no settings row yet
        Settings.search([("user_id", "=", self.support_1.id)]).unlink()
        own = Settings._find_or_create_for_user(self.employee).id
        self._rpc(self.employee, "res.users.settings", "write", [own], {"livechat_username": "Your Bank"})
        self._rpc_refused(
            "AccessError",
            "You may not give your settings to another user.",
            self.employee,
            "res.users.settings",
            "write",
            [own],
            {"user_id": self.support_1.id},
        )
        self.assertEqual(Settings.browse(own).user_id, self.employee)
        self.assertFalse(Settings.search([("user_id", "=", self.support_1.id)]))
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        self.assertHeldBy(session, self.support_1, self.group_support)
        self.assertNotIn("Your Bank", session.channel_member_ids.mapped("partner_id.user_livechat_username"))
