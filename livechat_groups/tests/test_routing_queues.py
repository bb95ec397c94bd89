from unittest.mock import patch

import psycopg2

from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import (
    LivechatGroupsChatbotMixin,
    LivechatGroupsRoutingCase,
    ManyMembersMixin,
)


@tagged("post_install", "-at_install")
class TestRoutingQueues(LivechatGroupsChatbotMixin, LivechatGroupsRoutingCase):
    """Sessions that wait: their place in the queue and its order, the queues served as places
    free up, sessions handed back (requeue), one session's failure kept to its savepoint."""

    def test_waiting_visitors_are_told_when_they_move_up(self):
        ann, bob, cid, dan = (self._get_session(self.livechat, name) for name in ("Ann", "Bob", "Cid", "Dan"))
        notices = (ann | bob | cid | dan).livechat_queue_notice_id
        self.assertEqual(len(notices), 4, "one notice each")

        def places():
            self.env.invalidate_all()
            # a taken session's notice says who answers instead: no place
            texts = [self._shown_text(n) for n in notices]
            return [
                t.split("you are number ")[1].split(" ")[0] if "you are number " in t else "-" for t in texts
            ]

        self.assertEqual(places(), ["1", "2", "3", "4"])
        messages = len(cid.message_ids)
        ann._close_livechat_session()  # the first visitor leaves
        self.assertEqual(places(), ["1", "1", "2", "3"])
        self._online(self.support_1)
        bob.with_user(self.support_1).action_livechat_take()  # an operator takes the first one
        self.assertEqual(places()[1:], ["-", "1", "2"])
        self.assertIn(
            "Sonia Support is answering you now.",
            html2plaintext(bob.livechat_queue_notice_id.body or notices[1].body),
        )
        self.assertEqual(len(cid.message_ids), messages, "the notice is rewritten, not posted again")
        self.assertIn(
            "you are number 1 in the queue of General Support", self._shown_text(cid.message_ids[-1])
        )
        # the queue job serves one more (support_1 has room for one) and rewrites the rest once
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(cid.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(places()[3], "1")

    def test_queue_drains_when_an_operator_frees_a_place(self):
        self.livechat.max_sessions_per_operator = 1
        self._online(self.support_1)
        held = self._get_session(self.livechat, "Ann")
        waiting = self._get_session(self.livechat, "Bob")
        self.assertWaiting(waiting, self.group_support, 1)
        waiting.with_context(mail_create_nosubscribe=True).message_post(
            body="Still there?", author_id=False, message_type="comment"
        )
        held._close_livechat_session()  # Ann leaves
        self.assertEqual(held.livechat_routing_state, "closed")
        self.assertHeldBy(waiting, self.support_1, self.group_support)
        self.assertIn("Still there?", "".join(waiting.message_ids.mapped("body")), "nothing written is lost")
        self.assertNotIn(self.env.ref("base.partner_root"), waiting.channel_member_ids.partner_id)

    def test_queue_drains_when_an_operator_comes_online(self):
        waiting = self._get_session(self.livechat, "Ann")
        self.assertWaiting(waiting, self.group_support, 1)
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertHeldBy(waiting, self.support_2, self.group_support)
        self.assertEqual(waiting.livechat_transfer_ids.mapped("kind"), ["route", "route"])

    def test_operator_who_leaves_hands_the_session_back(self):
        self._online(self.support_1, self.support_2)
        session = self._get_session(self.livechat, "Ann")
        leaver = session.livechat_operator_id.user_ids
        session.with_user(leaver).action_unfollow()
        other = (self.support_1 | self.support_2) - leaver
        self.assertHeldBy(session, other, self.group_support)
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "requeue")
        self.assertEqual(session.livechat_transfer_ids[-1].from_user_id, leaver)

    def test_manual_mode_waits_for_supervisors(self):
        self.livechat.routing_mode = "manual"
        self._online(self.support_1)
        session = self._get_session(self.livechat, "Ann")
        self.assertWaiting(session, self.group_support, 1)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(session.livechat_routing_state, "queued", "no automatic draining in manual mode")
        session.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.assertHeldBy(session, self.support_1, self.group_support)
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "assign")

    def test_queue_job_never_gives_requesters_their_own_session(self):
        self._offline(self.helpdesk_1)
        own = self._ask_internal(self.helpdesk_1)
        other = self._ask_internal(self.employee)
        self.assertEqual([own.livechat_routing_state, other.livechat_routing_state], ["queued", "queued"])
        self._online(self.helpdesk_1)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(own.livechat_routing_state, "queued", "helpdesk_1 asked: they do not answer")
        self.assertEqual(other.livechat_operator_id, self.helpdesk_1.partner_id, "the others are served")

    def test_supervisor_closes_a_session_while_a_requester_waits(self):
        self._online(self.helpdesk_1)
        held = self._ask_internal(self.employee)
        self._offline(self.helpdesk_1)
        own = self._ask_internal(self.helpdesk_1)
        self._online(self.helpdesk_1)
        held.with_user(self.int_supervisor).action_livechat_close()
        self.assertEqual(held.livechat_routing_state, "closed")
        self.assertEqual(own.livechat_routing_state, "queued")

    def test_operator_who_leaves_never_hands_to_the_requester(self):
        group_members = self.group_helpdesk.user_ids
        self.group_helpdesk.user_ids = group_members | self.int_supervisor
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.int_supervisor)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        self._online(self.int_supervisor)
        session.with_user(self.helpdesk_1).action_unfollow()
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertNotIn(self.int_supervisor.partner_id, session.livechat_operator_id)

    def _two_waiting(self, first, second):
        """Two sessions waiting in the external live chat's queue, its operators online again."""
        self._offline(self.support_1, self.support_2)
        sessions = [self._get_session(self.external_livechat, name) for name in (first, second)]
        self._online(self.support_1, self.support_2)
        return sessions

    def _hand_over_fails_for(self, failing, error):
        """Patch the routing's hand-over so that it raises ``error`` for the session ``failing``
        (after writing its name, to show that nothing of it is kept), and works for the others."""
        Routing = self.registry["livechat.routing"]
        hand_over = Routing._hand_over

        def failing_hand_over(routing, session, *args, **kwargs):
            if session.id == failing.id:
                session.write({"name": "half-written"})
                raise error
            return hand_over(routing, session, *args, **kwargs)

        return patch.object(Routing, "_hand_over", failing_hand_over)

    def test_one_session_that_fails_does_not_stop_the_others(self):
        broken, fine = self._two_waiting("Broken", "Fine")
        with (
            self._hand_over_fails_for(broken, ValueError("boom")),
            self.assertLogs("odoo.addons.livechat_groups.models.livechat_routing", "ERROR") as logs,
        ):
            self.env["livechat.routing"]._cron_serve_queues()
        self.assertIn(f"Live chat session {broken.id} could not be routed", logs.output[0])
        self.assertEqual(broken.livechat_routing_state, "queued")
        self.assertEqual(broken.name, "Broken (General Support)", "nothing of the failure is written")
        self.assertEqual(fine.livechat_routing_state, "assigned")

    def test_serving_after_a_commit_leaves_a_session_changed_meanwhile_and_serves_the_others(self):
        # another worker changed one waiting session since this transaction began (it serves
        # it, or hands it back): that one is theirs, the rest of the queue is served all the same
        changed, fine = self._two_waiting("Changed", "Fine")
        conflict = psycopg2.errors.SerializationFailure("could not serialize access due to concurrent update")
        with self._hand_over_fails_for(changed, conflict):
            self.env["livechat.routing"]._serve_after_commit(changed.livechat_group_id)
            # what runs once the transaction is committed, in a cursor of its own (the test's)
            self.env.cr.postcommit.run()
        self.env.invalidate_all()
        self.assertEqual(changed.livechat_routing_state, "queued")
        self.assertEqual(changed.name, "Changed (General Support)", "nothing of the conflict is written")
        self.assertEqual(fine.livechat_routing_state, "assigned")

    def test_chatbot_waits_in_the_queue_when_nobody_can_take_it(self):
        script = self._chatbot()
        self._offline(self.support_1, self.support_2)
        session = self._chatbot_session(script)
        forward = script.script_step_ids.filtered(lambda step: step.step_type == "forward_operator")
        forward._process_step(session)
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertTrue(session.livechat_queue_notice_id)
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertIn(self.support_2.partner_id, session.channel_member_ids.partner_id)

    def test_waiting_visitor_cannot_jump_the_queue_by_restarting_a_bot(self):
        self._offline(self.support_1, self.support_2)
        first = self._get_session(self.external_livechat, "First")
        session = self._get_session(self.external_livechat, "Jumper")
        self._online(self.support_1)  # before the queue job ran: first in line is "First"
        before = self._holder(session)
        self._restart_bot(session, self._forward_bot())
        self.assertEqual(self._holder(session), before, "no operator joined without the routing")
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(first.livechat_operator_id, self.support_1.partner_id, "first in line first")

    def test_closed_session_gets_no_operator_by_restarting_a_bot(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertEqual(session.livechat_routing_state, "closed")
        self._online(self.support_2)
        before = self._holder(session)
        self._restart_bot(session, self._forward_bot())
        self.assertEqual(self._holder(session), before, "a closed session stays closed, nobody joins")


@tagged("post_install", "-at_install")
class TestRoutingQueuesManyMembers(ManyMembersMixin, TestRoutingQueues):
    pass
