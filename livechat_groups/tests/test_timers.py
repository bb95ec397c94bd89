import json
from datetime import datetime, timedelta

from markupsafe import Markup

from odoo.tests import freeze_time, tagged
from odoo.tools import html2plaintext

from .common import LivechatGroupsCase, LivechatGroupsRoutingCase, LivechatGroupsRoutingMixin

T0 = datetime(2026, 3, 2, 10, 0, 0)  # a Monday
SECOND = timedelta(seconds=1)


class LivechatTimersMixin(LivechatGroupsRoutingMixin):
    """A frozen clock that the database's transaction time follows too (``create_date``)."""

    def _freeze(self, moment):
        freezer = freeze_time(moment)
        self.clock = freezer.__enter__()
        self.addCleanup(freezer.__exit__)
        self._at(moment)

    def _at(self, moment):
        self.clock.move_to(moment)
        self.env.cr._now = moment

    def _run_timers(self, moment):
        self._at(moment)
        self.env["livechat.timers"]._cron_livechat_timers()
        self.env.invalidate_all()

    def _new_session(self, name, livechat=None, previous_operator=None):
        """A session as /im_livechat/get_session makes it."""
        livechat = livechat or self.external_livechat
        vals = livechat._get_livechat_discuss_channel_vals(
            name, previous_operator_id=previous_operator and previous_operator.partner_id.id
        )
        return self.env["discuss.channel"].create(vals)

    def _notifications(self, user):
        """The pop-up notifications ``user`` was sent: ``[(title, message)]``."""
        self.env.cr.precommit.run()  # the bus writes its rows before the commit
        channel = json.dumps([self.env.cr.dbname, "res.partner", user.partner_id.id], separators=(",", ":"))
        found = []
        for notification in self.env["bus.bus"].sudo().search([("channel", "=", channel)]):
            message = json.loads(notification.message)
            if message["type"] == "simple_notification":
                found.append((message["payload"]["title"], message["payload"]["message"]))
        return found

    def _staff_notes(self, session):
        """The internal notes of the session after its first hop: ``[(author, text)]``, oldest first."""
        notes = session.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_note") and m.date > T0
        ).sorted("id")
        return [(note.author_id, html2plaintext(note.body)) for note in notes]

    def _notices(self, session):
        """OdooBot's notices in the session, oldest first, as the visitor reads them."""
        odoobot = self.env.ref("base.partner_root")
        messages = session.message_ids.filtered(lambda m: m.author_id == odoobot).sorted("id")
        return [html2plaintext(m.body) for m in messages]


@tagged("post_install", "-at_install")
class TestAnswerTimeout(LivechatTimersMixin, LivechatGroupsCase):
    """The operator who got a session and does not answer in time loses it to a colleague."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.answer_timeout_minutes = 3

    def setUp(self):
        super().setUp()
        self._freeze(T0)

    def test_lapse_goes_to_a_colleague(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(session.livechat_answer_due, T0 + timedelta(minutes=3))
        self.assertEqual(
            session.livechat_transfer_ids.reason,
            "least busy of 1 available in General Support: open sessions 0",
        )
        self._online(self.support_2)
        self._run_timers(T0 + timedelta(minutes=3) - SECOND)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id, "one second early")
        self._run_timers(T0 + timedelta(minutes=3) + SECOND)
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        hop = session.livechat_transfer_ids[-1]
        self.assertEqual(
            (hop.kind, hop.from_user_id, hop.to_user_id, hop.to_group_id),
            ("timeout", self.support_1, self.support_2, self.group_support),
        )
        self.assertEqual(
            hop.reason,
            "Sonia Support did not answer within 3 minutes; least busy of 1 available in General "
            "Support: open sessions 0",
        )
        self.assertEqual(session.livechat_routing_reason, hop.reason, "the card shows the last reason")
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)
        self.assertIn("Sorry for the wait: another operator will answer you.", self._notices(session))
        # one note for the staff says who left and who answers now (not a "left" and a "joined")
        notes = self._staff_notes(session)
        self.assertEqual(
            notes, [(self.support_1.partner_id, "left the conversation: Simon Support answers it now.")]
        )
        self.assertIn(
            (
                "Session handed to another operator",
                "You did not answer Ann within 3 minutes: the session went to Simon Support.",
            ),
            self._notifications(self.support_1),
        )
        self.assertIn(
            (
                "No answer in General Support",
                "Sonia Support did not answer Ann within 3 minutes: the session went to Simon Support.",
            ),
            self._notifications(self.ext_supervisor),
        )
        self.assertEqual(session.livechat_answer_due, T0 + timedelta(minutes=6, seconds=1), "a new clock")
        self._run_timers(T0 + timedelta(minutes=4))
        self.assertEqual(len(session.livechat_transfer_ids), 2, "a lapse is acted on once")

    def test_the_staff_note_is_in_the_language_of_who_answers_now(self):
        """The scheduler acts in its own user's language; the note that says who answers now is
        for them, in theirs."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.support_2.lang = "fr_FR"
        self._online(self.support_1)
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        self._online(self.support_2)
        self.env = self.env(context=dict(self.env.context, lang="en_US"))
        self._run_timers(T0 + timedelta(minutes=3) + SECOND)
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertEqual(
            self._staff_notes(session),
            [(self.support_1.partner_id, "a quitté la conversation : Simon Support y répond maintenant.")],
        )

    def test_an_answer_stops_the_clock(self):
        self._online(self.support_1, self.support_2)
        session = self._new_session("Ann")
        operator = session.livechat_operator_id.user_ids
        self._at(T0 + timedelta(minutes=2))
        session.with_user(operator).message_post(
            body="Hello Ann", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.assertFalse(session.livechat_answer_due)
        self.assertEqual(session.livechat_first_answer_date, T0 + timedelta(minutes=2))
        self._run_timers(T0 + timedelta(minutes=10))
        self.assertEqual(session.livechat_operator_id.user_ids, operator)
        self.assertEqual(session.livechat_transfer_ids.mapped("kind"), ["route"])

    def test_a_note_is_no_answer(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        session.with_user(self.support_1).message_post(
            body="checking", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        self.assertTrue(session.livechat_answer_due, "the visitor did not read it")

    def test_nobody_else_back_to_the_front_of_the_queue(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        self._at(T0 + timedelta(minutes=1))
        waiting = self._queued_session(self.external_livechat, "Bob")  # queued at T0 + 1 min
        self._run_timers(T0 + timedelta(minutes=3))
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_queued_date, T0, "first in line: it waited before")
        hop = session.livechat_transfer_ids[-1]
        self.assertEqual((hop.kind, hop.to_user_id.id), ("timeout", False))
        self.assertIn("nobody available in General Support", hop.reason)
        self.assertLess(session.livechat_queued_date, waiting.livechat_queued_date)
        self.assertIn("you are number 1 in the queue of General Support", self._notices(session)[-1])
        self.assertEqual(
            self._staff_notes(session),
            [(self.support_1.partner_id, "left the conversation: it waits in the queue of General Support.")],
        )

    def test_off_by_default(self):
        self.external_livechat.answer_timeout_minutes = 0
        self._online(self.support_1, self.support_2)
        session = self._new_session("Ann")
        self.assertFalse(session.livechat_answer_due)
        self._run_timers(T0 + timedelta(hours=5))
        self.assertEqual(session.livechat_transfer_ids.mapped("kind"), ["route"])

    def test_due_time_schedules_the_timers(self):
        """The answer clocks started in one transaction (a batch of hand-backs starts one per
        session) have the timers run when each falls due, scheduled together at its commit."""
        cron = self.env.ref("livechat_groups.ir_cron_livechat_timers")
        Trigger = self.env["ir.cron.trigger"]
        self.env.cr.precommit.run()
        before = Trigger.search([("cron_id", "=", cron.id)])
        self._online(self.support_1, self.support_2)
        self._new_session("Ann")
        self._new_session("Bea")
        self._at(T0 + timedelta(minutes=2))
        self._new_session("Bob")
        self.assertFalse(Trigger.search([("cron_id", "=", cron.id)]) - before, "when the transaction commits")
        self.env.cr.precommit.run()
        triggers = Trigger.search([("cron_id", "=", cron.id)]) - before
        self.assertEqual(
            sorted(triggers.mapped("call_at")), [T0 + timedelta(minutes=3), T0 + timedelta(minutes=5)]
        )


@tagged("post_install", "-at_install")
class TestAwayOperator(LivechatTimersMixin, LivechatGroupsCase):
    """An operator offline longer than the grace hands their sessions back, and nothing is lost."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.away_grace_minutes = 5

    def setUp(self):
        super().setUp()
        self._freeze(T0)

    def _leave(self, user, moment):
        """``user`` closes their laptop at ``moment``: their last poll, then offline."""
        self._at(moment)
        self.env["bus.presence"].search([("user_id", "=", user.id)]).write(
            {"status": "offline", "last_poll": moment}
        )

    def test_away_operator_hands_back(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        session.with_user(self.support_1).message_post(
            body="Hello Ann", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._leave(self.support_1, T0 + timedelta(minutes=1))
        self._online(self.support_2)
        self._run_timers(T0 + timedelta(minutes=6) - SECOND)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id, "one second early")
        self._run_timers(T0 + timedelta(minutes=6) + SECOND)
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        hop = session.livechat_transfer_ids[-1]
        self.assertEqual(
            (hop.kind, hop.from_user_id, hop.to_user_id), ("requeue", self.support_1, self.support_2)
        )
        self.assertEqual(
            hop.reason,
            "Sonia Support was offline for 5 minutes; least busy of 1 available in General Support: open sessions 0",
        )
        self.assertIn("Sonia Support had to leave: another operator will answer you.", self._notices(session))
        self.assertIn(
            "Hello Ann", session.message_ids.mapped(lambda m: html2plaintext(m.body)), "nothing lost"
        )
        self.assertIn(
            (
                "Sessions handed back while you were away",
                "You were offline for 5 minutes: your session with Ann went to Simon Support.",
            ),
            self._notifications(self.support_1),
        )
        # back online, they do not find it again
        self._online(self.support_1)
        self.env["livechat.routing"]._cron_serve_queues()
        self._run_timers(T0 + timedelta(minutes=20))
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)

    def test_archived_operator_hands_back_with_a_reason(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        self._online(self.support_2)
        self.support_1.action_archive()
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        hop = session.livechat_transfer_ids[-1]
        self.assertEqual(
            (hop.kind, hop.from_user_id, hop.to_user_id), ("requeue", self.support_1, self.support_2)
        )
        self.assertEqual(hop.reason, "least busy of 1 available in General Support: open sessions 0")
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)
        self._run_timers(T0 + timedelta(hours=1))
        self.assertEqual(len(session.livechat_transfer_ids), 2, "the timers leave it alone")

    def test_nobody_else_waits_in_the_queue(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        self._leave(self.support_1, T0)
        self._run_timers(T0 + timedelta(minutes=5))
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertIn("nobody available in General Support", session.livechat_transfer_ids[-1].reason)
        self.assertIn("you are number 1 in the queue of General Support", self._notices(session)[-1])

    def test_idle_but_connected_keeps_the_session(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        self.env["bus.presence"].search([("user_id", "=", self.support_1.id)]).status = "away"
        self._run_timers(T0 + timedelta(hours=2))
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)

    def test_never_connected_counts_from_the_assignment(self):
        self.external_livechat.routing_mode = "manual"
        session = self._queued_session(self.external_livechat, "Ann")
        self._at(T0 + timedelta(minutes=2))
        session.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self._run_timers(T0 + timedelta(minutes=7) - SECOND)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        self._run_timers(T0 + timedelta(minutes=7))
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "requeue")


@tagged("post_install", "-at_install")
class TestInactiveSession(LivechatTimersMixin, LivechatGroupsCase):
    """A session where nobody wrote for the live chat's delay closes, and frees its operator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.inactivity_close_minutes = 10
        cls.external_livechat.max_sessions_per_operator = 1

    def setUp(self):
        super().setUp()
        self._freeze(T0)

    def test_silence_closes_and_frees_the_operator(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        waiting = self._new_session("Bob")
        self.assertEqual(waiting.livechat_routing_state, "queued")
        self._at(T0 + timedelta(minutes=4))
        session.with_user(self.support_1).message_post(
            body="Anything else?", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._run_timers(T0 + timedelta(minutes=14) - SECOND)
        self.assertEqual(session.livechat_routing_state, "assigned", "one second early")
        self._run_timers(T0 + timedelta(minutes=14) + SECOND)
        self.assertEqual(session.livechat_routing_state, "closed")
        self.assertFalse(session.livechat_active)
        self.assertEqual(
            self._notices(session)[-1],
            "Nobody wrote for 10 minutes, so this conversation is closed. Write again any time to start a new one.",
        )
        self.assertEqual(waiting.livechat_operator_id, self.support_1.partner_id, "the freed place is used")
        closed_messages = len(session.message_ids)
        self._run_timers(T0 + timedelta(minutes=30))
        self.assertEqual(len(session.message_ids), closed_messages, "closed once")

    def test_an_empty_message_keeps_nobody_in(self):
        """An empty comment (possible over RPC, by the operator or the visitor) is no sign of
        life: the inactivity delay runs from the last real message."""
        self._online(self.support_1)
        session = self._new_session("Ann")
        self._at(T0 + timedelta(minutes=4))
        session.with_user(self.support_1).message_post(
            body="Anything else?", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        for minute, body in ((8, ""), (9, Markup("<p><br></p>")), (12, "\u200b")):
            self._at(T0 + timedelta(minutes=minute))
            session.with_user(self.support_1).message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        self._run_timers(T0 + timedelta(minutes=14) + SECOND)
        self.assertEqual(session.livechat_routing_state, "closed", "closed 10 minutes after the last word")

    def test_visitor_who_writes_again_gets_the_same_operator(self):
        self._online(self.support_1, self.support_2)
        self.external_livechat.max_sessions_per_operator = 0
        session = self._new_session("Ann")
        operator = session.livechat_operator_id.user_ids
        self._run_timers(T0 + timedelta(minutes=10))
        self.assertEqual(session.livechat_routing_state, "closed")
        self._new_session("Cid")  # the other operator is now the least busy one
        again = self._new_session("Ann", previous_operator=operator)
        self.assertEqual(again.livechat_operator_id.user_ids, operator)
        self.assertEqual(
            again.livechat_transfer_ids.reason, f"{operator.name} talked with this visitor before"
        )

    def test_waiting_sessions_are_never_closed(self):
        session = self._new_session("Ann")
        self._run_timers(T0 + timedelta(hours=3))
        self.assertEqual(session.livechat_routing_state, "queued")


@tagged("post_install", "-at_install")
class TestRoutingReason(LivechatTimersMixin, LivechatGroupsCase):
    """Every hop the routing decides says why, in the routing service's own words."""

    def setUp(self):
        super().setUp()
        self._freeze(T0)

    def test_route_dispatch_forward_and_requeue_say_why(self):
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1, self.tech_1)
        ann = self._new_session("Ann")
        self.assertEqual(
            ann.livechat_transfer_ids.reason, "least busy of 1 available in General Support: open sessions 0"
        )
        bob = self._new_session("Bob")
        self.assertEqual(
            bob.livechat_transfer_ids.reason,
            "nobody available in General Support: waits in the queue of General Support; 1 at capacity",
        )
        ann.with_user(self.support_1).action_livechat_forward(self.group_tech.id)
        self.assertEqual(
            ann.livechat_transfer_ids[-1].reason, "least busy of 1 available in Tech Support: open sessions 0"
        )
        self.assertEqual(bob.livechat_transfer_ids[-1].kind, "route", "the freed place went to Bob")
        self.assertEqual(
            bob.livechat_transfer_ids[-1].reason,
            "least busy of 1 available in General Support: open sessions 0",
        )
        ann._action_unfollow(partner=self.tech_1.partner_id)  # the specialist leaves
        self.assertEqual(
            (ann.livechat_transfer_ids[-1].kind, ann.livechat_transfer_ids[-1].reason),
            ("requeue", "nobody available in Tech Support: waits in the queue of Tech Support"),
        )
        self.assertEqual(ann.livechat_routing_reason, ann.livechat_transfer_ids[-1].reason)

    def test_manual_routing_says_so(self):
        self.external_livechat.routing_mode = "manual"
        session = self._new_session("Ann")
        self.assertEqual(
            session.livechat_transfer_ids.reason,
            "manual routing: waits for a supervisor or an operator to take it",
        )
        session.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.assertFalse(session.livechat_transfer_ids[-1].reason, "a supervisor's choice is theirs")


@tagged("post_install", "-at_install")
class TestEmptyAnswer(LivechatTimersMixin, LivechatGroupsRoutingCase):
    """Only a real answer to the visitor, text or a file, stops the operator's clock."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.answer_timeout_minutes = 3

    def test_an_empty_message_is_no_answer(self):
        self._online(self.support_1)
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        Facts = self.env["livechat.session.report.fact"]

        def first_reply():
            # the figures' first reply, as the commit would store it
            self.env["livechat.session.report"]._livechat_refresh_facts([session.id])
            return Facts.search([("session_id", "=", session.id)]).first_reply

        for body in ("", "<p><br></p>", " ", "<p>&nbsp;</p>", "\u200b", "<p>&#8203;</p>", "<a href='x'></a>"):
            self._post(self.support_1, session, body)
            self.env.invalidate_all()
            self.assertTrue(session.livechat_answer_due, f"{body!r} answers nothing")
            self.assertFalse(session.livechat_first_answer_date)
            self.assertFalse(first_reply(), f"{body!r} is no first reply in the figures")
        self.authenticate(self.support_1.login, self.support_1.login)
        attachment = self.make_jsonrpc_request(
            "/web/dataset/call_kw/ir.attachment/create",
            {
                "model": "ir.attachment",
                "method": "create",
                "args": [
                    {"name": "quote.pdf", "raw": "%PDF-1.4", "res_model": "discuss.channel", "res_id": 0}
                ],
                "kwargs": {},
            },
        )
        self._post(self.support_1, session, "", attachment_ids=[attachment])
        self.env.invalidate_all()
        self.assertFalse(session.livechat_answer_due, "a file is an answer")
        self.assertTrue(session.livechat_first_answer_date)
        self.assertTrue(first_reply(), "and in the figures")
