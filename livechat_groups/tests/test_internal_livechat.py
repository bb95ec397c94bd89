from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import (
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
)


@tagged("post_install", "-at_install")
class TestInternalLivechat(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Employees of the requester groups ask the internal live chat from Discuss; visitors never reach it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat = cls.internal_livechat

    def _call_refused(self, user, method, args):
        self.authenticate(user.login, user.login)
        with self.assertLogs("odoo.http", "WARNING"), self.assertRaisesRegex(Exception, "AccessError"):
            self.make_jsonrpc_request(
                f"/web/dataset/call_kw/im_livechat.channel/{method}",
                {"model": "im_livechat.channel", "method": method, "args": args, "kwargs": {}},
            )

    def test_requester_channels_lists_the_internal_live_chats_one_may_write_to(self):
        def offered(user):
            # the demo data may hold another internal live chat: look at ours
            channels = self.env["im_livechat.channel"].with_user(user).livechat_requester_channels()
            return [
                channel
                for channel in channels
                if channel["id"] in (self.livechat | self.external_livechat).ids
            ]

        expected = [{"id": self.livechat.id, "name": "Internal Live Chat"}]
        self.assertEqual(offered(self.employee), expected)
        self.assertEqual(offered(self.helpdesk_1), expected)
        self.assertEqual(offered(self.portal), [])
        self.livechat.requester_group_ids = self.env["livechat.group"].create(
            {"name": "Finance requesters", "user_ids": [Command.set(self.employee.ids)]}
        )
        self.assertEqual(offered(self.livechat_user), [])
        self.assertEqual(offered(self.employee), expected)

    def test_employee_session_is_routed_and_named(self):
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        self.assertEqual(session.livechat_channel_id, self.livechat)
        self.assertEqual(session.livechat_routing_state, "assigned")
        self.assertEqual(session.livechat_group_id, self.group_helpdesk)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        self.assertEqual(session.livechat_requester_id, self.employee.partner_id)
        self.assertEqual(session.livechat_visitor_name, "Eve Employee")
        self.assertEqual(session.name, "Eve Employee Hugo Helpdesk")
        self.assertFalse(session.anonymous_name)
        self.assertIn(self.employee.partner_id, session.channel_member_ids.partner_id)
        self.assertFalse(session.channel_member_ids.guest_id, "the employee is no anonymous visitor")
        self.assertEqual(self._ask_internal(self.employee), session, "an open session is resumed")

    def test_requester_is_never_their_own_operator(self):
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.helpdesk_1)
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_requester_id, self.helpdesk_1.partner_id)

    def test_internal_live_chat_without_groups_refuses_when_nobody_is_online(self):
        self.livechat.entry_group_ids = False
        self.livechat.user_ids = self.helpdesk_1
        with self.assertRefused(UserError, "Nobody can answer in Internal Live Chat right now"):
            self.livechat.with_user(self.employee).livechat_start_session()
        self._online(self.helpdesk_1)
        session = self.env["discuss.channel"].browse(
            self.livechat.with_user(self.employee).livechat_start_session()["discuss.channel"][0]["id"]
        )
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        self.assertFalse(session.livechat_routing_state, "stock routing")

    def test_an_operator_who_asks_reads_no_note_of_their_request(self):
        """Hector (HR) asks Accounting: a Live Chat user, yet the requester of this session."""
        self._online(self.helpdesk_1, self.accounting_1)
        session = self._ask_internal(self.hr_1)
        session.with_user(self.helpdesk_1).action_livechat_forward(
            self.group_accounting.id, note="Payslip error"
        )
        Transfer = self.env["livechat.session.transfer"]
        self.assertFalse(Transfer.with_user(self.hr_1).search([("session_id", "=", session.id)]))
        self.assertTrue(Transfer.with_user(self.accounting_1).search([("session_id", "=", session.id)]))
        self.assertNotIn("Payslip", session.with_user(self.accounting_1).livechat_last_message or "")

    def test_requester_cannot_be_given_their_own_session(self):
        session = self._ask_internal(self.helpdesk_1)
        with self.assertRefused(UserError, "Hugo Helpdesk asked in this session"):
            session.with_user(self.int_supervisor).action_livechat_assign(self.helpdesk_1.id)
        self.assertEqual(session.livechat_routing_state, "queued")

    def test_employee_waits_and_is_told(self):
        session = self._ask_internal(self.employee)
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertIn(
            "you are number 1 in the queue of General Helpdesk", html2plaintext(session.message_ids[0].body)
        )
        self._online(self.helpdesk_1)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)

    def test_forward_to_hr_hides_the_note_from_the_employee(self):
        self._online(self.helpdesk_1, self.hr_1)
        session = self._ask_internal(self.employee)
        session.with_user(self.helpdesk_1).action_livechat_forward(
            self.group_hr.id, note="Sick leave question"
        )
        self.assertEqual(session.livechat_operator_id, self.hr_1.partner_id)
        self.assertEqual(session.livechat_group_id, self.group_hr)

        def bodies(user):
            self.authenticate(user.login, user.login)
            data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
            return " ".join(message["body"] for message in data["data"]["mail.message"])

        self.assertIn("You are transferred to HR Department.", bodies(self.employee))
        self.assertNotIn("Sick leave question", bodies(self.employee))
        self.assertIn("Sick leave question", bodies(self.hr_1))
        Message = self.env["mail.message"]
        self.assertFalse(
            Message.with_user(self.employee).search(
                [("body", "ilike", "Sick leave"), ("res_id", "=", session.id)]
            )
        )
        self.assertTrue(
            Message.with_user(self.hr_1).search(
                [("body", "ilike", "Sick leave"), ("res_id", "=", session.id)]
            )
        )
        note = session.message_ids.filtered(lambda m: "Sick leave question" in m.body)
        with self.assertRefused(AccessError, "Message"):
            note.with_user(self.employee).read(["body"])
        self.assertTrue(note.with_user(self.hr_1).read(["body"]))
        pushed = self.env["bus.bus"].sudo().search([("message", "like", "Sick leave question")])
        self.assertNotIn(f'"res.partner", {self.employee.partner_id.id}]', " ".join(pushed.mapped("channel")))

    def test_non_requesters_are_refused(self):
        self.livechat.requester_group_ids = self.env["livechat.group"].create(
            {"name": "Finance requesters", "user_ids": [Command.set(self.employee.ids)]}
        )
        for user in (self.livechat_user, self.portal):
            with self.subTest(user=user.name):
                self._call_refused(user, "livechat_start_session", self.livechat.ids)
        with self.assertRefused(AccessError, "Luc User is not one of Internal Live Chat"):
            self.livechat.with_user(self.livechat_user).livechat_start_session()
        with self.assertRefused(AccessError, "Only the members of the requester groups"):
            self.external_livechat.with_user(self.employee).livechat_start_session()
        self.assertFalse(self.env["discuss.channel"].search([("livechat_channel_id", "=", self.livechat.id)]))

    def test_public_never_reaches_an_internal_live_chat(self):
        self._online(self.helpdesk_1)
        self.url_open("/web/session/logout")
        self.assertFalse(self.livechat.get_livechat_info()["available"])
        self.assertNotIn("options", self.livechat.get_livechat_info())
        init = self.make_jsonrpc_request("/im_livechat/init", {"channel_id": self.livechat.id})
        self.assertFalse(init["available_for_me"])
        loader = self.url_open(f"/im_livechat/loader/{self.livechat.id}")
        self.assertEqual(loader.status_code, 200)
        self.assertNotIn("Internal Live Chat", loader.text)
        for user in (None, self.employee, self.portal):
            with self.subTest(user=user and user.name):
                if user:
                    self.authenticate(user.login, user.login)
                else:
                    self.url_open("/web/session/logout")
                data = self.make_jsonrpc_request(
                    "/im_livechat/get_session", {"channel_id": self.livechat.id, "anonymous_name": "Mallory"}
                )
                self.assertFalse(data)
        self.assertFalse(self.env["discuss.channel"].search([("livechat_channel_id", "=", self.livechat.id)]))

    def test_forward_to_the_requesters_own_group_waits(self):
        self._online(self.helpdesk_1, self.accounting_1)
        session = self._ask_internal(self.accounting_1)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        session.with_user(self.helpdesk_1).action_livechat_forward(self.group_accounting.id, note="Invoices")
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.group_accounting)
