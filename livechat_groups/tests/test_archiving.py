from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import (
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
)


@tagged("post_install", "-at_install")
class TestArchiving(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Archiving or deleting a group, a user or a live chat, and changing a live chat's groups:
    held sessions are released, waiting ones move to the entry groups, rights go with the group."""

    def test_archived_supervisor_group_reads_and_steers_nothing(self):
        self._online(self.support_1)
        held = self._get_session(self.external_livechat, "Ann")
        self._offline(self.support_1)
        waiting = self._get_session(self.external_livechat, "Bob")
        self.group_ext_supervisors.active = False
        Session = self.env["discuss.channel"].with_user(self.ext_supervisor)
        for context in ({}, {"active_test": False}):
            with self.subTest(context=context):
                env_session = Session.with_context(**context)
                self.assertFalse(env_session.search([("id", "in", (held | waiting).ids)]))
                self.assertFalse(
                    self.env["livechat.session.transfer"]
                    .with_user(self.ext_supervisor)
                    .with_context(**context)
                    .search([("session_id", "=", held.id)])
                )
                self.assertFalse(
                    self.env["livechat.session.report"]
                    .with_user(self.ext_supervisor)
                    .with_context(**context)
                    .search([("livechat_channel_id", "=", self.external_livechat.id)])
                )
        before = self._routing(waiting)
        self._rpc_refused(
            "AccessError",
            "Only the supervisors of External Live Chat",
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            waiting.ids,
            self.support_2.id,
            context={"active_test": False},
        )
        self.assertEqual(self._routing(waiting), before)

    def test_group_with_sessions_cannot_be_deleted(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        with self.assertRefused(UserError, "archive the group instead of deleting it"):
            self.group_support.with_user(self.admin).unlink()
        self.assertTrue(self.group_support.exists())
        self.assertEqual(waiting.livechat_group_id, self.group_support)
        unused = self.env["livechat.group"].create({"name": "Unused"})
        unused.with_user(self.admin).unlink()
        self.assertFalse(unused.exists())

    def test_archiving_an_entry_group_moves_its_queue(self):
        overflow = self.env["livechat.group"].create(
            {"name": "Overflow", "sequence": 5, "user_ids": [Command.set(self.sales_2.ids)]}
        )
        self.external_livechat.entry_group_ids |= overflow
        self._offline(self.support_1, self.support_2, self.sales_2)
        first = self._get_session(self.external_livechat, "Ann")
        second = self._get_session(self.external_livechat, "Bob")
        self.assertEqual((first | second).livechat_group_id, self.group_support)
        waited_since = first.livechat_queued_date
        self.group_support.with_user(self.admin).active = False
        self.assertEqual(first.livechat_group_id, overflow)
        self.assertEqual(second.livechat_group_id, overflow)
        self.assertEqual(first.livechat_routing_state, "queued")
        self.assertEqual(first.livechat_queued_date, waited_since, "first in line as it was")
        self.assertEqual(first.livechat_transfer_ids[-1].kind, "requeue")
        self._online(self.sales_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(first.livechat_operator_id, self.sales_2.partner_id, "and is served from there")

    def test_taking_a_group_off_a_live_chat_from_the_group_moves_its_queue(self):
        # the same move as from the live chat's side, through the group's inverse field
        self._offline(self.support_1, self.support_2, self.tech_1)
        waiting = self._get_session(self.external_livechat, "Ann")
        self._online(self.support_1)
        waiting.with_user(self.support_1).action_livechat_take()
        waiting.with_user(self.support_1).action_livechat_forward(self.group_tech.id)
        self.assertEqual(
            (waiting.livechat_group_id, waiting.livechat_routing_state), (self.group_tech, "queued")
        )
        waited_since = waiting.livechat_queued_date
        self.group_tech.with_user(self.admin).write(
            {"specialist_channel_ids": [Command.unlink(self.external_livechat.id)]}
        )
        self.assertNotIn(self.group_tech, self.external_livechat.specialist_group_ids)
        self.assertEqual(waiting.livechat_group_id, self.group_support, "back with the entry groups")
        self.assertEqual(waiting.livechat_transfer_ids[-1].kind, "requeue")
        self.assertEqual(waiting.livechat_operator_id, self.support_1.partner_id, "served at once")
        self.assertGreaterEqual(waiting.livechat_assigned_date, waited_since)

    def test_last_entry_group_with_a_queue_cannot_be_archived(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        with self.assertRefused(UserError, "is the last entry group of External Live Chat"):
            self.group_support.with_user(self.admin).active = False
        self.assertTrue(self.group_support.active)
        self.assertEqual(waiting.livechat_group_id, self.group_support)

    def test_session_forwarded_to_an_archived_group_goes_back_to_the_entry_groups(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        self._online(self.tech_1)
        session.with_user(self.support_1).action_livechat_forward(self.group_tech.id)
        self.assertEqual(session.livechat_operator_id, self.tech_1.partner_id)
        self.group_tech.active = False
        session.with_user(self.tech_1).action_unfollow()
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)

    def test_deleting_a_live_chat_ends_its_open_sessions(self):
        """As stock, a live chat may be deleted (stock's own tests delete every live chat); its
        open sessions end first, each visitor told, and the freed operator serves their other
        live chats' queue."""
        other = self.env["im_livechat.channel"].create(
            {"name": "Other Desk", "entry_group_ids": [Command.set(self.group_support.ids)]}
        )
        self.external_livechat.max_sessions_per_operator = other.max_sessions_per_operator = 1
        self._online(self.support_1)
        self._offline(self.support_2)
        held = self._get_session(self.external_livechat, "Ann")
        waiting = self._get_session(self.external_livechat, "Bob")
        elsewhere = self._get_session(other, "Cid")
        self.assertHeldBy(held, self.support_1, self.group_support)
        self.assertEqual((waiting | elsewhere).mapped("livechat_routing_state"), ["queued", "queued"])
        self._rpc(self.admin, "im_livechat.channel", "unlink", self.external_livechat.ids)
        self.assertFalse(self.external_livechat.exists())
        self.assertEqual((held | waiting).mapped("livechat_routing_state"), ["closed", "closed"])
        self.assertFalse(held.livechat_active)
        self.assertIn("This live chat is no longer available", held.message_ids[:1].body)
        self.assertHeldBy(elsewhere, self.support_1, self.group_support)

    def test_archived_operator_hands_back_their_sessions(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self._online(self.support_2)
        self.support_1.with_user(self.env.ref("base.user_admin")).active = False
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "requeue")

    def test_deleted_operator_hands_back_their_sessions(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        operator_partner = self.support_1.partner_id
        self._online(self.support_2)
        self._rpc(self.env.ref("base.user_admin"), "res.users", "unlink", self.support_1.ids)
        self.assertFalse(self.support_1.exists())
        self.assertHeldBy(session, self.support_2, self.group_support)
        self.assertNotIn(operator_partner, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "requeue")

    def test_requester_archived_or_deleted_ends_their_requests(self):
        """An employee who asked the internal live chat and is archived or deleted leaves no
        session behind: the waiting one leaves the queue, the one in progress frees its operator
        (who reads why), and the next employee in the queue is served."""
        admin = self.env.ref("base.user_admin")
        self.internal_livechat.max_sessions_per_operator = 1
        leaver = self._user("leaver", "base.group_user", name="Lena Leaver")
        quitter = self._user("quitter", "base.group_user", name="Quinn Quitter")
        self._online(self.helpdesk_1)
        held = self._ask_internal(leaver)
        self.assertHeldBy(held, self.helpdesk_1, self.group_helpdesk)
        waiting = self._ask_internal(quitter)
        self.assertEqual(waiting.livechat_routing_state, "queued")
        third = self._ask_internal(self.employee)
        self._rpc(admin, "res.users", "unlink", quitter.ids)
        self.assertEqual(waiting.livechat_routing_state, "closed")
        self.assertFalse(waiting.livechat_active)
        self._rpc(admin, "res.users", "write", leaver.ids, {"active": False})
        self.assertEqual(held.livechat_routing_state, "closed")
        self.assertIn(
            "Lena Leaver is no longer a user of this database: the session is closed.",
            held.message_ids[:1].body,
        )
        self.assertHeldBy(third, self.helpdesk_1, self.group_helpdesk)

    def test_operator_removed_from_the_groups_hands_back_their_sessions(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.group_support.with_user(self.admin).user_ids = [Command.unlink(self.support_1.id)]
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)

    def test_operator_who_left_a_tied_user_group_hands_back_their_sessions(self):
        tied = self.env["res.groups"].create(
            {"name": "Support Team", "users": [Command.set(self.support_1.ids)]}
        )
        self.group_support.write(
            {"user_ids": [Command.unlink(self.support_1.id)], "system_group_ids": [Command.set(tied.ids)]}
        )
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        tied.users = [Command.unlink(self.support_1.id)]
        self.assertEqual(session.livechat_routing_state, "queued")

    def test_operator_of_both_groups_keeps_the_session(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        self.group_sales.user_ids |= self.support_1
        self.group_support.user_ids -= self.support_1
        self.assertEqual(
            session.livechat_operator_id, self.support_1.partner_id, "still an operator of the live chat"
        )

    def test_dropped_entry_group_neither_reads_nor_takes_its_former_queue(self):
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
        answer = self._rpc_answer(self.support_1, "discuss.channel", "action_livechat_take", waiting.ids)
        self.assertIn("error", answer)
        self.env.invalidate_all()
        self.assertEqual(waiting.livechat_routing_state, "queued")
        self.assertNotIn(self.support_1.partner_id, waiting.channel_member_ids.partner_id)
