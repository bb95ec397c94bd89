from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import (
    LivechatGroupsRoutingCase,
    ManyMembersMixin,
)


@tagged("post_install", "-at_install")
class TestSessionActions(LivechatGroupsRoutingCase):
    """Take, assign, join and close, each with its refusals; answering a waiting session means
    taking it first."""

    def test_take(self):
        session = self._get_session(self.livechat, "Ann")
        # the same refusal through every way in: the form and the board, Discuss, the dialog
        takes = ("action_livechat_take", "livechat_take_session", "action_livechat_take_open")
        for take in takes:
            with (
                self.subTest(method=take),
                self.assertRefused(AccessError, "Only the members of General Support"),
            ):
                getattr(session.with_user(self.sales_1), take)()
        self.assertEqual(session.livechat_routing_state, "queued")
        session.with_user(self.support_2).action_livechat_take()
        self.assertHeldBy(session, self.support_2, self.group_support)
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "take")
        for take in takes:
            with self.subTest(method=take), self.assertRefused(UserError, "no longer waiting"):
                getattr(session.with_user(self.support_1), take)()
        self.assertHeldBy(session, self.support_2, self.group_support)

    def test_take_respects_capacity(self):
        self.livechat.max_sessions_per_operator = 1
        first, second = self._get_session(self.livechat, "Ann"), self._get_session(self.livechat, "Bob")
        first.with_user(self.support_1).action_livechat_take()
        with self.assertRefused(UserError, "You already hold 1 sessions"):
            second.with_user(self.support_1).action_livechat_take()
        self.assertEqual(second.livechat_routing_state, "queued")

    def test_operator_closes_their_own_session(self):
        """The operator who holds a session closes it (Discuss's header, the form) over RPC; its
        place goes at once to the next waiting one. Who only sees it wait, or another operator of
        the group, may not; the buttons are offered only to who may."""
        self.livechat.max_sessions_per_operator = 1
        self._online(self.support_1)
        held = self._get_session(self.livechat, "Ann")
        waiting = self._get_session(self.livechat, "Bob")
        self.assertHeldBy(held, self.support_1, self.group_support)
        self.assertEqual(waiting.livechat_routing_state, "queued")
        Session = self.env["discuss.channel"]
        for user, session, can in (
            (self.support_1, held, True),
            (self.support_2, held, False),
            (self.support_2, waiting, False),
            (self.ext_supervisor, waiting, True),
        ):
            with self.subTest(user=user.login, session=session.livechat_visitor_name):
                shown = Session.with_user(user).browse(session.id)
                self.assertEqual(shown.livechat_can_forward, can)
                self.assertEqual(shown.livechat_can_close, can)
        self._rpc_refused(
            "AccessError",
            "Only the operator of this session, the supervisors of External Live Chat",
            self.support_2,
            "discuss.channel",
            "action_livechat_close",
            held.ids,
        )
        self.assertEqual(held.livechat_routing_state, "assigned")
        self._rpc(self.support_1, "discuss.channel", "action_livechat_close", held.ids)
        self.assertEqual(held.livechat_routing_state, "closed")
        self.assertFalse(held.livechat_active)
        self.assertHeldBy(waiting, self.support_1, self.group_support)
        self.assertFalse(Session.with_user(self.support_1).browse(held.id).livechat_can_close)

    def test_assign_refusals(self):
        session = self._get_session(self.livechat, "Ann")
        with self.assertRefused(AccessError, "Only the supervisors"):
            session.with_user(self.support_1).action_livechat_assign(self.support_1.id)
        # who has nothing to do with the live chat is not told its name
        for intruder in (self.int_supervisor, self.employee):
            with (
                self.subTest(user=intruder.login),
                self.assertRefused(AccessError, "not one of the live chats you work in"),
            ):
                session.with_user(intruder).action_livechat_assign(self.support_1.id)
        for bad in (self.hr_1.id, self.employee.id, 0, "x", None):
            with (
                self.subTest(assignee=bad),
                self.assertRefused(UserError, "not a member of the operator groups"),
            ):
                session.with_user(self.ext_supervisor).action_livechat_assign(bad)
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_transfer_ids.mapped("kind"), ["route"])
        # a specialist may be assigned directly; the group follows
        session.with_user(self.admin).action_livechat_assign(self.tech_1.id)
        self.assertHeldBy(session, self.tech_1, self.group_tech)
        with self.assertRefused(UserError, "already holds"):
            session.with_user(self.admin).action_livechat_assign(self.tech_1.id)

    def test_closed_session_is_not_steered(self):
        session = self._get_session(self.livechat, "Ann")
        session._close_livechat_session()
        self.assertEqual(session.livechat_routing_state, "closed")
        with self.assertRefused(UserError, "closed"):
            session.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        with self.assertRefused(UserError, "closed"):
            session.with_user(self.support_1).action_livechat_take()

    def test_seeing_a_waiting_session_does_not_let_one_write_in_it(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        self.assertTrue(
            self.env["discuss.channel"].with_user(self.support_1).search([("id", "=", waiting.id)])
        )
        before = self._routing(waiting)
        self._post_refused(self.support_1, waiting, "I answer without taking", "take the session")
        self._rpc_refused(
            "AccessError",
            "take the session",
            self.support_1,
            "discuss.channel",
            "message_post",
            waiting.ids,
            body="Via RPC",
            message_type="comment",
        )
        self._rpc_refused(
            "AccessError",
            "",
            self.support_1,
            "mail.message",
            "create",
            [{"model": "discuss.channel", "res_id": waiting.id, "body": "Forged", "message_type": "comment"}],
        )
        self.assertEqual(self._routing(waiting), before)
        self.assertNotIn("answer without", self._guest_messages(waiting))
        # taking it opens the conversation to them
        waiting.with_user(self.support_1).action_livechat_take()
        self._post(self.support_1, waiting, "Now I answer")
        self.assertIn("Now I answer", self._guest_messages(waiting))

    def test_supervisor_joins_before_writing(self):
        self._online(self.support_1)
        held = self._get_session(self.external_livechat, "Ann")
        self._post_refused(self.ext_supervisor, held, "Hello from the supervisor", "join it")
        held.with_user(self.ext_supervisor).action_livechat_join()
        self._post(self.ext_supervisor, held, "Hello from the supervisor")
        self.assertIn("Hello from the supervisor", self._guest_messages(held))

    def test_reaction_into_a_waiting_session_is_refused(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        self._visitor_says(waiting, "Anyone there?")
        question = waiting.message_ids.filtered(lambda m: "Anyone there?" in m.body)
        self.assertTrue(question)
        self.authenticate(self.support_1.login, self.support_1.login)
        answer = self._jsonrpc(
            "/mail/message/reaction", {"message_id": question.id, "content": "👍", "action": "add"}
        )
        self.assertIn("error", answer, "a member of the group reads the queue, and only reads it")
        self.assertFalse(self.env["mail.message.reaction"].search([("message_id", "=", question.id)]))

    def test_former_operator_cannot_edit_their_message_while_it_waits(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self._post(self.support_1, session, "I am Sonia")
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


@tagged("post_install", "-at_install")
class TestSessionActionsManyMembers(ManyMembersMixin, TestSessionActions):
    pass
