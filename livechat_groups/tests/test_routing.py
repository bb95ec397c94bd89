from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin


@tagged("post_install", "-at_install")
class TestRouting(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """New requests reach an available member of the entry groups, or wait in a queue."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat = cls.external_livechat
        cls.livechat.max_sessions_per_operator = 2

    def assertHeldBy(self, session, user, group):
        self.assertEqual(session.livechat_routing_state, "assigned")
        self.assertEqual(session.livechat_operator_id, user.partner_id)
        self.assertEqual(session.livechat_group_id, group)
        self.assertIn(user.partner_id, session.channel_member_ids.partner_id)
        self.assertTrue(session.livechat_assigned_date)

    def assertWaiting(self, session, group, position):
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, group)
        self.assertTrue(session.livechat_queued_date)
        self.assertFalse(session.livechat_assigned_date)
        notice = session.message_ids[:1]
        self.assertIn(f"you are number {position} in the queue of {group.name}", html2plaintext(notice.body))

    def test_least_busy_available_member(self):
        self._online(self.support_1, self.support_2)
        first = self._get_session(self.livechat, "Ann")
        second = self._get_session(self.livechat, "Bob")
        self.assertEqual((first | second).livechat_operator_id, (self.support_1 | self.support_2).partner_id)
        self.assertEqual(first.livechat_transfer_ids.mapped("kind"), ["route"])
        self.assertEqual(first.livechat_transfer_ids.to_user_id.partner_id, first.livechat_operator_id)
        self.assertEqual(first.livechat_visitor_name, "Ann")

    def test_operator_who_got_a_session_opens_the_web_client(self):
        self._online(self.support_1)
        self._get_session(self.livechat, "Ann")
        settings = self.env["res.users.settings"]._find_or_create_for_user(self.support_1)
        self.assertTrue(settings.livechat_last_assigned_date)
        formatted = settings._res_users_settings_format()
        self.assertNotIn("livechat_last_assigned_date", formatted)
        self.assertNotIn("livechat_last_request_date", formatted)
        self.authenticate(self.support_1.login, self.support_1.login)
        self.assertEqual(self.url_open("/odoo/discuss").status_code, 200)

    def test_waiting_visitors_are_told_when_they_move_up(self):
        ann, bob, cid, dan = (self._get_session(self.livechat, name) for name in ("Ann", "Bob", "Cid", "Dan"))
        notices = (ann | bob | cid | dan).livechat_queue_notice_id
        self.assertEqual(len(notices), 4, "one notice each")

        def places():
            self.env.invalidate_all()
            # a taken session's notice says who answers instead: no place
            texts = [html2plaintext(n.body) for n in notices]
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
            "you are number 1 in the queue of General Support", html2plaintext(cid.message_ids[-1].body)
        )
        # the queue job serves one more (support_1 has room for one) and rewrites the rest once
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(cid.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(places()[3], "1")

    def _served_at(self, user, **delta):
        self.env["res.users.settings"]._find_or_create_for_user(user).livechat_last_assigned_date = (
            fields.Datetime.now() - timedelta(**delta)
        )

    def test_ties_go_to_the_longest_idle(self):
        self._online(self.support_1, self.support_2)
        self._served_at(self.support_1, minutes=1)
        self._served_at(self.support_2, hours=1)
        self.assertEqual(
            self.env["livechat.routing"]._decide(self.livechat, self.group_support)[0], self.support_2
        )
        self._served_at(self.support_2, seconds=1)
        self.assertEqual(
            self.env["livechat.routing"]._decide(self.livechat, self.group_support)[0], self.support_1
        )

    def test_language_then_country_break_ties(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self._online(self.support_1, self.support_2)
        self._served_at(self.support_1, hours=1)  # support_1 would win on idleness alone
        self._served_at(self.support_2, minutes=1)
        self.support_2.partner_id.lang = "fr_FR"
        self.assertEqual(
            self.env["livechat.routing"]._decide(self.livechat, self.group_support, lang="fr_FR")[0],
            self.support_2,
        )
        belgium = self.env.ref("base.be")
        self.support_2.partner_id.country_id = belgium
        self.assertEqual(
            self.env["livechat.routing"]._decide(self.livechat, self.group_support, country_id=belgium.id)[0],
            self.support_2,
        )
        self.assertEqual(
            self.env["livechat.routing"]._decide(self.livechat, self.group_support)[0], self.support_1
        )
        # load comes before language: a busier French speaker loses
        self._get_session(self.livechat, "Ann", previous_operator=self.support_2)
        self.assertEqual(
            self.env["livechat.routing"]._decide(self.livechat, self.group_support, lang="fr_FR")[0],
            self.support_1,
        )

    def test_offline_members_get_nothing_and_visitor_waits(self):
        self._online(self.sales_1)  # online, but not in an entry group
        info = self.livechat.get_livechat_info()
        self.assertTrue(info["available"], "the button shows: the visitor will wait, not be refused")
        session = self._get_session(self.livechat, "Ann")
        self.assertWaiting(session, self.group_support, 1)
        self.assertEqual(session.livechat_transfer_ids.mapped("kind"), ["route"])
        self.assertFalse(session.livechat_transfer_ids.to_user_id)
        self.assertEqual(
            html2plaintext(self._get_session(self.livechat, "Bob").message_ids[:1].body).count("number 2"), 1
        )

    def test_overflow_to_second_entry_group(self):
        overflow = self.env["livechat.group"].create(
            {"name": "Overflow", "sequence": 50, "user_ids": [Command.link(self.tech_1.id)]}
        )
        self.livechat.specialist_group_ids = [Command.unlink(self.group_tech.id)]
        self.livechat.entry_group_ids = [Command.link(overflow.id)]
        self._online(self.support_1, self.tech_1)
        sessions = [self._get_session(self.livechat, f"V{i}") for i in range(4)]
        for session in sessions[:2]:
            self.assertHeldBy(session, self.support_1, self.group_support)
        for session in sessions[2:]:
            self.assertHeldBy(session, self.tech_1, overflow)
        self.assertWaiting(self._get_session(self.livechat, "V5"), self.group_support, 1)

    def test_previous_operator_first(self):
        self._online(self.support_1, self.support_2)
        self._get_session(self.livechat, "Ann")  # support_1 or 2 is now busier
        busy = (
            self.env["discuss.channel"]
            .search([("livechat_channel_id", "=", self.livechat.id)])
            .livechat_operator_id
        )
        busy_user = busy.user_ids
        session = self._get_session(self.livechat, "Ann again", previous_operator=busy_user)
        self.assertHeldBy(session, busy_user, self.group_support)

    def test_previous_operator_even_in_an_overflow_group(self):
        overflow = self.env["livechat.group"].create(
            {"name": "Overflow", "sequence": 50, "user_ids": [Command.link(self.tech_1.id)]}
        )
        self.livechat.specialist_group_ids = [Command.unlink(self.group_tech.id)]
        self.livechat.entry_group_ids = [Command.link(overflow.id)]
        self._online(self.support_1, self.tech_1)
        session = self._get_session(self.livechat, "Ann", previous_operator=self.tech_1)
        self.assertHeldBy(session, self.tech_1, overflow)
        self._offline(self.tech_1)
        session = self._get_session(self.livechat, "Ann", previous_operator=self.tech_1)
        self.assertHeldBy(session, self.support_1, self.group_support)

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

    def test_assign_refusals(self):
        session = self._get_session(self.livechat, "Ann")
        for intruder in (self.support_1, self.int_supervisor, self.employee):
            with self.subTest(user=intruder.login), self.assertRefused(AccessError, "Only the supervisors"):
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

    def test_queries_per_decision_do_not_grow_with_operators(self):
        """Routing reads members, presence, loads and settings in batches."""

        def queries_to_route(operator_count):
            users = self.env["res.users"]
            for index in range(operator_count):
                users |= self._user(f"crowd_{operator_count}_{index}", name=f"Crowd {operator_count} {index}")
            group = self.env["livechat.group"].create(
                {"name": f"Crowd {operator_count}", "user_ids": [Command.set(users.ids)]}
            )
            self._online(*users)
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            operator, chosen = self.env["livechat.routing"]._decide(self.livechat, group)
            self.assertIn(operator, users)
            self.assertEqual(chosen, group)
            return self.env.cr.sql_log_count - before

        self.assertEqual(queries_to_route(3), queries_to_route(30))
