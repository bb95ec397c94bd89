from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import LivechatGroupsCase


@tagged("post_install", "-at_install")
class TestLivechatChannelGroups(LivechatGroupsCase):
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
