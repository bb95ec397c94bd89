import json

from odoo import Command
from odoo.tests import tagged

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin


@tagged("post_install", "-at_install")
class TestAttack(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """The siblings of the hardening's holes, each made the way an attacker would: through the
    visitor's routes, Discuss's own routes and JSON-RPC. Each ends refused or correct, and
    nothing changed."""

    # ------------------------------------------------------------
    # Helpers (as in test_hardening)
    # ------------------------------------------------------------

    def _jsonrpc(self, route, params):
        """A JSON-RPC request; return the whole answer, its error included."""
        response = self.url_open(
            route,
            json.dumps({"id": 0, "jsonrpc": "2.0", "method": "call", "params": params}).encode(),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()
        return response.json()

    def _as_guest(self, session):
        """Call the next routes as the visitor of ``session`` (their ``dgid`` cookie)."""
        guest = session.channel_member_ids.guest_id
        self.url_open("/web/session/logout")
        self.opener.cookies["dgid"] = guest._format_auth_cookie()

    def _routing(self, session):
        self.env.invalidate_all()
        return (
            session.livechat_routing_state,
            session.livechat_group_id,
            session.livechat_operator_id,
            session.channel_member_ids.partner_id,
            len(session.livechat_transfer_ids),
        )

    def _forward_bot(self):
        """A chatbot whose first step hands the visitor over to an operator; it belongs to no
        live chat: a visitor names it by its id."""
        return self.env["chatbot.script"].create(
            {
                "title": "Forward Bot",
                "script_step_ids": [
                    Command.create({"step_type": "forward_operator", "message": "One moment."}),
                ],
            }
        )

    def _restart_bot(self, session, script):
        """What the visitor's widget sends to restart a chatbot and run its first step."""
        self._as_guest(session)
        params = {"channel_id": session.id, "chatbot_script_id": script.id}
        self._jsonrpc("/chatbot/restart", params)
        return self._jsonrpc("/chatbot/step/trigger", params)

    # ------------------------------------------------------------
    # 8. The chatbot's hand-over is the routing's, even when the visitor restarts a bot
    # ------------------------------------------------------------

    def test_08_waiting_visitor_cannot_jump_the_queue_by_restarting_a_bot(self):
        self._offline(self.support_1, self.support_2)
        first = self._get_session(self.external_livechat, "First")
        session = self._get_session(self.external_livechat, "Jumper")
        self._online(self.support_1)  # before the queue job ran: first in line is "First"
        before = self._routing(session)
        self._restart_bot(session, self._forward_bot())
        self.assertEqual(self._routing(session), before, "no operator joined without the routing")
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(first.livechat_operator_id, self.support_1.partner_id, "first in line first")

    def test_08_closed_session_gets_no_operator_by_restarting_a_bot(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertEqual(session.livechat_routing_state, "closed")
        self._online(self.support_2)
        before = self._routing(session)
        self._restart_bot(session, self._forward_bot())
        self.assertEqual(self._routing(session), before, "a closed session stays closed, nobody joins")

    # ------------------------------------------------------------
    # 9. Answering means taking: no reaction, no edit into a session one is not in
    # ------------------------------------------------------------

    def test_09_reaction_into_a_waiting_session_is_refused(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        self._as_guest(waiting)
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": waiting.id,
                "post_data": {
                    "body": "Anyone there?",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            },
        )
        question = waiting.message_ids.filtered(lambda m: "Anyone there?" in m.body)
        self.assertTrue(question)
        self.authenticate(self.support_1.login, self.support_1.login)
        answer = self._jsonrpc(
            "/mail/message/reaction", {"message_id": question.id, "content": "👍", "action": "add"}
        )
        self.assertIn("error", answer, "a member of the group reads the queue, and only reads it")
        self.assertFalse(self.env["mail.message.reaction"].search([("message_id", "=", question.id)]))

    def test_09_former_operator_cannot_edit_their_message_while_it_waits(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.authenticate(self.support_1.login, self.support_1.login)
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {
                    "body": "I am Sonia",
                    "message_type": "comment",
                    "subtype_xmlid": "mail.mt_comment",
                },
            },
        )
        mine = session.message_ids.filtered(lambda m: "I am Sonia" in m.body)
        session.with_user(self.support_1).action_unfollow()
        self.assertEqual(session.livechat_routing_state, "queued", "back in General Support's queue")
        self.authenticate(self.support_1.login, self.support_1.login)
        answer = self._jsonrpc(
            "/mail/message/update_content",
            {"message_id": mine.id, "body": "Pay at evil.example", "attachment_ids": []},
        )
        self.assertIn("error", answer)
        self.env.invalidate_all()
        self.assertIn("I am Sonia", mine.body)

    # ------------------------------------------------------------
    # 10. A group the live chat dropped no longer reads nor takes its queue
    # ------------------------------------------------------------

    def test_10_dropped_entry_group_neither_reads_nor_takes_its_former_queue(self):
        front_desk = self.env["livechat.group"].create(
            {"name": "Front Desk", "user_ids": [Command.set(self.livechat_user.ids)]}
        )
        self._offline(self.support_1, self.support_2, self.livechat_user)
        waiting = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(waiting.livechat_group_id, self.group_support)
        self.external_livechat.with_user(self.admin).entry_group_ids = [Command.set(front_desk.ids)]
        self.assertEqual(waiting.livechat_group_id, front_desk, "the queue went to the entry groups")
        self.assertEqual(waiting.livechat_routing_state, "queued")
        Session = self.env["discuss.channel"].with_user(self.support_1)
        self.assertFalse(Session.search([("id", "=", waiting.id)]), "no longer an operator here")
        self.authenticate(self.support_1.login, self.support_1.login)
        answer = self._jsonrpc(
            "/web/dataset/call_kw/discuss.channel/action_livechat_take",
            {
                "model": "discuss.channel",
                "method": "action_livechat_take",
                "args": [waiting.ids],
                "kwargs": {},
            },
        )
        self.assertIn("error", answer)
        self.env.invalidate_all()
        self.assertEqual(waiting.livechat_routing_state, "queued")
        self.assertNotIn(self.support_1.partner_id, waiting.channel_member_ids.partner_id)

    # ------------------------------------------------------------
    # 7. Who asked never reads the notes, nor lets a colleague read them
    # ------------------------------------------------------------

    def _rpc_answer(self, user, model, method, *args, **kwargs):
        """Call ``model.method`` as ``user`` over JSON-RPC; return the whole answer."""
        self.authenticate(user.login, user.login)
        return self._jsonrpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def test_07_requester_cannot_invite_a_colleague_to_read_the_notes(self):
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
