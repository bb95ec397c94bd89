from odoo.tests import tagged

from .common import LivechatGroupsRoutingMixin, LivechatGroupsTourCase


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


@tagged("post_install", "-at_install")
class TestDiscussTours(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """Forwarding from Discuss, and the internal live chat, as people use them."""

    def _discuss(self, session):
        return f"/odoo/discuss?active_id=discuss.channel_{session.id}"

    def test_operator_forwards_from_discuss_and_specialist_reads_it(self):
        self._online(self.support_1, self.sales_1)
        session = self._get_session(self.external_livechat, "Ann")
        guest = session.channel_member_ids.guest_id
        self.opener.cookies[guest._cookie_name] = guest._format_auth_cookie()
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {"body": "I need a quote for 40 seats", "message_type": "comment"},
            },
        )
        session.with_user(self.support_1).message_post(
            body="Hello, how can I help?", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.start_tour(
            self._discuss(session), "livechat_groups_forward_from_discuss", login=self.support_1.login
        )
        self.assertEqual(session.livechat_operator_id, self.sales_1.partner_id)
        self.assertEqual(session.livechat_group_id, self.group_sales)
        self.assertEqual(session.livechat_transfer_ids[-1].note, "Wants a quote, big account")
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)

        self.start_tour(
            self._discuss(session), "livechat_groups_specialist_reads_history", login=self.sales_1.login
        )

    def test_employee_asks_hr_through_the_internal_live_chat(self):
        self._online(self.helpdesk_1, self.hr_1)
        self.internal_livechat.name = (
            "HR and Accounting Desk"  # the demo data has an "Internal Live Chat" too
        )
        self.start_tour("/odoo/discuss", "livechat_groups_employee_asks", login=self.employee.login)
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_channel_id, self.internal_livechat)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)

        self.start_tour(
            self._discuss(session), "livechat_groups_helpdesk_forwards_to_hr", login=self.helpdesk_1.login
        )
        self.assertEqual(session.livechat_operator_id, self.hr_1.partner_id)

        self.start_tour(self._discuss(session), "livechat_groups_hr_answers", login=self.hr_1.login)
        self.start_tour(
            self._discuss(session), "livechat_groups_employee_reads_answer", login=self.employee.login
        )

    def test_supervisor_forwards_from_the_session_form(self):
        self._online(self.support_1, self.tech_1)
        session = self._get_session(self.external_livechat, "Ann")
        self.start_tour(
            f"/odoo/action-im_livechat.discuss_channel_action/{session.id}",
            "livechat_groups_forward_from_form",
            login=self.admin.login,
        )
        self.assertEqual(session.livechat_operator_id, self.tech_1.partner_id)
        self.assertEqual(session.livechat_transfer_ids[-1].create_uid, self.admin)
