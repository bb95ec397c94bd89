import json

from odoo import Command
from odoo.tests import tagged

from .common import (
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
)


@tagged("post_install", "-at_install")
class TestNotePrivacy(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Internal notes reach the staff only: never the visitor nor the employee who asked, not in
    a reply, not posted as internal over RPC, not through a colleague the asker invites."""

    def test_reply_to_a_note_does_not_leak_it(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        note = session.sudo()._livechat_post_operator_note("Secret: sue them")
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        self._post(self.support_1, session, "Thanks for waiting", parent_id=note.id)
        reply = session.message_ids.filtered(lambda m: "Thanks for waiting" in m.body)
        self.assertEqual(reply.parent_id, note)
        pushed = self.env["bus.bus"].sudo().search([("id", ">", last)])
        to_conversation = pushed.filtered(
            lambda n: json.loads(n.channel)[1:] == ["discuss.channel", session.id]
        )
        self.assertTrue(any("Thanks for waiting" in n.message for n in to_conversation))
        self.assertFalse(any("sue them" in n.message for n in to_conversation), "live, on the bus")
        history = self._guest_messages(session)
        self.assertIn("Thanks for waiting", history)
        self.assertNotIn("sue them", history, "in the history the visitor loads")

    def test_employee_who_asked_never_reads_the_note_in_a_reply(self):
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        note = session.sudo()._livechat_post_operator_note("Secret: known complainer")
        self._post(self.helpdesk_1, session, "On it", parent_id=note.id)
        self.authenticate(self.employee.login, self.employee.login)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        self.assertIn("On it", json.dumps(data))
        self.assertNotIn("known complainer", json.dumps(data))

    def test_message_posted_as_internal_is_a_note_for_who_asked(self):
        """A message posted with ``is_internal`` over RPC is kept from the employee who asked,
        who still loads their conversation."""
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        self._rpc(
            self.helpdesk_1,
            "discuss.channel",
            "message_post",
            session.ids,
            body="Internal: check their contract",
            message_type="comment",
            is_internal=True,
        )
        self._post(self.helpdesk_1, session, "Checking now")
        self.authenticate(self.employee.login, self.employee.login)
        data = json.dumps(self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id}))
        self.assertIn("Checking now", data)
        self.assertNotIn("check their contract", data)

    def test_who_asked_does_not_read_the_notes_even_as_supervisor(self):
        self._online(self.helpdesk_1, self.hr_1)
        Transfer = self.env["livechat.session.transfer"]
        for asker in (self.int_supervisor, self.admin):
            with self.subTest(asker=asker.login):
                session = self._ask_internal(asker)
                session.with_user(self.helpdesk_1).action_livechat_forward(
                    self.group_hr.id, note="Salary dispute"
                )
                self.assertTrue(Transfer.with_user(self.hr_1).search([("session_id", "=", session.id)]))
                self.assertFalse(Transfer.with_user(asker).search([("session_id", "=", session.id)]))
                self.assertFalse(
                    Transfer.with_user(asker).search_read(
                        [("session_id", "=", session.id), ("note", "ilike", "Salary")], ["note"]
                    )
                )
                self._rpc_refused(
                    "AccessError",
                    "",
                    asker,
                    "livechat.session.transfer",
                    "read",
                    session.livechat_transfer_ids.ids,
                    ["note"],
                )
                session._close_livechat_session()

    def test_requester_cannot_invite_a_colleague_to_read_the_notes(self):
        self._online(self.helpdesk_1)
        data = self._rpc_answer(
            self.employee, "im_livechat.channel", "livechat_start_session", self.internal_livechat.ids
        )
        session = self.env["discuss.channel"].browse(data["result"]["discuss.channel"][0]["id"])
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        session.sudo()._livechat_post_operator_note("Secret: known complainer")
        colleague = self.livechat_user
        for method, args, kwargs in (
            ("add_members", [session.ids], {"partner_ids": colleague.partner_id.ids}),
            (
                "write",
                [
                    session.ids,
                    {"channel_member_ids": [Command.create({"partner_id": colleague.partner_id.id})]},
                ],
                {},
            ),
        ):
            with self.subTest(method=method):
                answer = self._rpc_answer(self.employee, "discuss.channel", method, *args, **kwargs)
                self.assertIn("error", answer)
        self.env.invalidate_all()
        self.assertNotIn(colleague.partner_id, session.channel_member_ids.partner_id)
        self.assertFalse(
            self.env["mail.message"]
            .with_user(colleague)
            .search(
                [
                    ("model", "=", "discuss.channel"),
                    ("res_id", "=", session.id),
                    ("body", "ilike", "complainer"),
                ]
            )
        )
        # the operator still invites whom they need
        session.with_user(self.helpdesk_1).add_members(partner_ids=self.accounting_1.partner_id.ids)
        self.assertIn(self.accounting_1.partner_id, session.channel_member_ids.partner_id)
