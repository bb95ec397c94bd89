from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import JsonRpcException, tagged

from .common import LivechatGroupsHttpCase


@tagged("post_install", "-at_install")
class TestLivechatGroupAccess(LivechatGroupsHttpCase):
    """Only Live Chat administrators create, edit, archive or delete groups, through RPC as
    through the ORM; Live Chat users read them; others get nothing."""

    def _call_kw(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def _snapshot(self, group):
        group.invalidate_recordset()
        return group.read(["name", "active", "user_ids", "system_group_ids"])[0]

    def test_rpc_writes_refused_to_non_administrators(self):
        group = self.group_sales
        before = self._snapshot(group)
        count = self.env["livechat.group"].search_count([])
        for user in (self.livechat_user, self.employee, self.portal, self.support_1):
            with self.subTest(user=user.login):
                self.authenticate(user.login, user.login)
                calls = {
                    "create": ("create", [{"name": "Intruders", "user_ids": [Command.link(user.id)]}]),
                    "write": ("write", [group.ids, {"user_ids": [Command.link(user.id)]}]),
                    "archive": ("action_archive", [group.ids]),
                    "unlink": ("unlink", [group.ids]),
                }
                for action, (method, args) in calls.items():
                    with self.subTest(action=action), self.assertRaises(JsonRpcException) as caught:
                        self._call_kw("livechat.group", method, args)
                    self.assertEqual(caught.exception.args[0], "odoo.exceptions.AccessError")
                self.assertEqual(self._snapshot(group), before)
                self.assertEqual(self.env["livechat.group"].search_count([]), count)

    def test_rpc_administrator_manages_groups(self):
        self.authenticate(self.admin.login, self.admin.login)
        group_id = self._call_kw(
            "livechat.group",
            "create",
            [{"name": "Key Accounts", "user_ids": [Command.link(self.sales_1.id)]}],
        )
        self._call_kw("livechat.group", "write", [[group_id], {"user_ids": [Command.link(self.sales_2.id)]}])
        group = self.env["livechat.group"].browse(group_id)
        self.assertEqual(group.member_ids, self.sales_1 | self.sales_2)
        self._call_kw("livechat.group", "unlink", [[group_id]])
        self.assertFalse(group.exists())

    def test_access_error_says_what_is_missing(self):
        with self.assertRaisesRegex(AccessError, "Administrator"):
            self.env["livechat.group"].with_user(self.livechat_user).create({"name": "Nope"})

    def test_livechat_users_read_groups_others_do_not(self):
        self.authenticate(self.livechat_user.login, self.livechat_user.login)
        names = self._call_kw(
            "livechat.group", "search_read", [[("id", "=", self.group_tech.id)], ["name", "member_ids"]]
        )
        self.assertEqual(names[0]["name"], "Tech Support")
        self.assertEqual(names[0]["member_ids"], self.tech_1.ids)
        for user in (self.employee, self.portal):
            with self.subTest(user=user.login):
                self.authenticate(user.login, user.login)
                with self.assertRaises(JsonRpcException):
                    self._call_kw("livechat.group", "search_read", [[], ["name"]])

    def test_livechat_user_list_offers_no_create(self):
        self.authenticate(self.livechat_user.login, self.livechat_user.login)
        views = self._call_kw("livechat.group", "get_views", [[[False, "list"]]])
        self.assertIn('create="false"', views["views"]["list"]["arch"].lower())
        self.authenticate(self.admin.login, self.admin.login)
        views = self._call_kw("livechat.group", "get_views", [[[False, "list"]]])
        self.assertNotIn('create="false"', views["views"]["list"]["arch"].lower())
