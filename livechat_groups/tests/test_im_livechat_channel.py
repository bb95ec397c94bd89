from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import (
    LivechatGroupsCase,
    LivechatGroupsHttpCase,
    LivechatGroupsRpcMixin,
    LivechatGroupsTourCase,
)


@tagged("post_install", "-at_install")
class TestLivechatChannelGroups(LivechatGroupsCase):
    """A live chat's groups and settings: the scenario's configuration, the constraints on
    entry, specialist and requester groups, and who may choose them."""

    def test_scenario_configuration(self):
        external, internal = self.external_livechat, self.internal_livechat
        self.assertEqual(external.audience, "external")
        self.assertEqual(external.routing_mode, "auto")
        self.assertEqual(external.max_sessions_per_operator, 0)
        self.assertTrue(external._is_grouped())
        self.assertEqual(self.group_sales.specialist_channel_ids, external)
        self.assertEqual(self.group_employees.requester_channel_ids, internal)
        self.assertEqual(self.group_int_supervisors.livechat_channel_ids, internal)

    def test_group_cannot_be_entry_and_specialist(self):
        with self.assertRefused(
            ValidationError, "Sales Department.*entry group and a specialist group.*External Live Chat"
        ):
            self.external_livechat.entry_group_ids = [Command.link(self.group_sales.id)]
        self.assertEqual(self.external_livechat.entry_group_ids, self.group_support)

    def test_internal_livechat_needs_requesters(self):
        with self.assertRefused(ValidationError, "Internal Live Chat.*requester group"):
            self.internal_livechat.requester_group_ids = [Command.clear()]
        self.assertEqual(self.internal_livechat.requester_group_ids, self.group_employees)
        with self.assertRefused(ValidationError, "Payroll.*requester group"):
            self.env["im_livechat.channel"].create({"name": "Payroll", "audience": "internal"})

    def test_external_livechat_has_no_requesters(self):
        with self.assertRefused(ValidationError, "External Live Chat.*external.*All Employees"):
            self.external_livechat.requester_group_ids = [Command.link(self.group_employees.id)]
        self.assertFalse(self.external_livechat.requester_group_ids)

    def test_audience_change_clears_requesters_in_form(self):
        with Form(self.internal_livechat) as form:
            self.assertEqual(len(form.requester_group_ids), 1)
            form.audience = "external"
            self.assertEqual(len(form.requester_group_ids), 0)
        self.assertEqual(self.internal_livechat.audience, "external")
        self.assertFalse(self.internal_livechat.requester_group_ids)

    @mute_logger("odoo.sql_db")
    def test_capacity_cannot_be_negative(self):
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.external_livechat.max_sessions_per_operator = -1
            self.external_livechat.flush_recordset()

    def test_only_administrators_choose_the_groups_of_a_livechat(self):
        """Live Chat users may edit live chats (stock right), but not who reads their sessions."""
        with self.assertRefused(AccessError, "Only Live Chat administrators may set the groups"):
            self.external_livechat.with_user(self.livechat_user).supervisor_group_ids = [
                Command.link(self.group_int_supervisors.id)
            ]
        self.assertNotIn(self.group_int_supervisors, self.external_livechat.supervisor_group_ids)
        self.external_livechat.with_user(self.admin).supervisor_group_ids = [
            Command.link(self.group_int_supervisors.id)
        ]
        self.assertIn(self.group_int_supervisors, self.external_livechat.supervisor_group_ids)


@tagged("post_install", "-at_install")
class TestLivechatChannelSettings(LivechatGroupsRpcMixin, LivechatGroupsHttpCase):
    """Over JSON-RPC, a live chat's groups and routing settings are the Live Chat
    administrators'; what stock lets operators change, they still change."""

    def test_operator_cannot_give_themselves_another_live_chats_sessions(self):
        livechat = self.internal_livechat
        before = livechat.read(
            [
                "supervisor_group_ids",
                "entry_group_ids",
                "routing_mode",
                "max_sessions_per_operator",
                "audience",
            ]
        )
        tied_to_employees = self.group_employees
        for vals in (
            {"supervisor_group_ids": [Command.link(self.group_support.id)]},
            {"supervisor_group_ids": [Command.link(tied_to_employees.id)]},
            {"entry_group_ids": [Command.set(self.group_support.ids)]},
            {"routing_mode": "manual"},
            {"max_sessions_per_operator": 99},
            {"audience": "external", "requester_group_ids": [Command.clear()]},
        ):
            with self.subTest(vals=vals):
                self._rpc_refused(
                    "AccessError",
                    "Only Live Chat administrators may set the groups",
                    self.support_1,
                    "im_livechat.channel",
                    "write",
                    livechat.ids,
                    vals,
                )
        self.assertEqual(livechat.read(list(before[0])), before)
        self.assertFalse(
            self.employee.has_group("livechat_groups.group_livechat_supervisor"),
            "no employee became a supervisor",
        )

    def test_operator_cannot_create_a_grouped_or_internal_live_chat(self):
        Channel = self.env["im_livechat.channel"]
        count = Channel.search_count([])
        for vals, context in (
            ({"name": "Mine", "entry_group_ids": [Command.set(self.group_support.ids)]}, {}),
            (
                {
                    "name": "Mine",
                    "audience": "internal",
                    "requester_group_ids": [Command.set(self.group_employees.ids)],
                },
                {},
            ),
            (
                {"name": "Mine", "requester_group_ids": [Command.set(self.group_employees.ids)]},
                {"default_audience": "internal"},
            ),
        ):
            with self.subTest(vals=vals, context=context):
                self._rpc_refused(
                    "AccessError",
                    "Only Live Chat administrators",
                    self.support_1,
                    "im_livechat.channel",
                    "create",
                    [vals],
                    context=context,
                )
        self.assertEqual(Channel.search_count([]), count)

    def test_stock_fields_stay_open_to_live_chat_users(self):
        """What stock lets operators do, they still do; and the form may send settings unchanged."""
        created = self._rpc(self.support_1, "im_livechat.channel", "create", [{"name": "Plain"}])
        plain = self.env["im_livechat.channel"].browse(created)
        self.assertFalse(plain._is_grouped())
        self._rpc(self.support_1, "im_livechat.channel", "write", plain.ids, {"name": "Plain chat"})
        self._rpc(
            self.support_1,
            "im_livechat.channel",
            "write",
            self.external_livechat.ids,
            {
                "button_text": "Talk to us",
                "routing_mode": "auto",
                "entry_group_ids": [Command.set(self.group_support.ids)],
            },
        )
        self.assertEqual(self.external_livechat.button_text, "Talk to us")
        self._rpc(
            self.admin,
            "im_livechat.channel",
            "write",
            self.external_livechat.ids,
            {"routing_mode": "manual"},
        )
        self.assertEqual(self.external_livechat.routing_mode, "manual")
        form = self.env["im_livechat.channel"].with_user(self.support_1).browse(self.external_livechat.id)
        self.assertFalse(form.livechat_can_configure)
        self.assertTrue(form.with_user(self.admin).livechat_can_configure)


@tagged("post_install", "-at_install")
class TestLivechatChannelSettingsTour(LivechatGroupsTourCase):
    """The live chat form tells Live Chat users who changes its groups, and lets them change nothing."""

    def test_operator_reads_the_settings_administrator_changes_them(self):
        url = f"/odoo/action-im_livechat.im_livechat_channel_action/{self.external_livechat.id}"
        self.start_tour(url, "livechat_groups_settings_read_only", login=self.support_1.login)
        self.assertEqual(self.external_livechat.routing_mode, "auto")
        self.start_tour(url, "livechat_groups_settings_editable", login=self.admin.login)
        self.assertEqual(self.external_livechat.routing_mode, "manual")
