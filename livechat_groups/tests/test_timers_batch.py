import json
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import tagged
from odoo.tools import html2plaintext

from odoo.addons.livechat_groups.models import livechat_routing

from .common import CommitPoints, Killed, LivechatGroupsCase
from .test_timers import LivechatTimersMixin

T0 = datetime(2026, 3, 2, 10, 0, 0)  # a Monday


@tagged("post_install", "-at_install")
class TestTimersBatch(LivechatTimersMixin, LivechatGroupsCase):
    """A shift change: many sessions lapse at once, and the timers hand them back as a set:
    by batches committed together, what each hand-back leaves for the others (the freed places,
    the queues that moved) done once per batch, nobody getting back a session they let lapse."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.answer_timeout_minutes = 3
        cls.extra = cls.env["res.users"]
        for index in range(6):
            cls.extra |= cls._user(f"extra_{index}", name=f"Extra Operator {index}")
        cls.group_support.user_ids = [Command.link(user.id) for user in cls.extra]

    def setUp(self):
        super().setUp()
        self._freeze(T0)

    def _lapsed_sessions(self, count):
        """``count`` sessions held by the operators online now, whose answer lapses at T0 + 3 min."""
        return self.env["discuss.channel"].concat(*(self._new_session(f"Visitor {i}") for i in range(count)))

    def test_committed_by_growing_batches(self):
        self._online(self.support_1, self.support_2, *self.extra)
        sessions = self._lapsed_sessions(7)
        self.assertEqual(len(set(sessions.livechat_operator_id)), 7, "one each")
        self._at(T0 + timedelta(minutes=3, seconds=1))
        with CommitPoints(self) as commits:
            self.env["livechat.timers"]._cron_livechat_timers(auto_commit=True)
        self.assertEqual(commits.commits, 3, "batches of 1, 2 and 4 sessions")
        self.env.invalidate_all()
        for session in sessions:
            hops = session.livechat_transfer_ids.filtered(lambda hop: hop.kind == "timeout")
            self.assertEqual(len(hops), 1, "handed back once")
            self.assertNotEqual(session.livechat_operator_id, hops.from_user_id.partner_id, "to someone else")
            self.assertEqual(session.livechat_routing_state, "assigned")

    def test_two_lapsed_operators_swap_never_get_their_own_back(self):
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1, self.support_2)
        first, second = self._lapsed_sessions(2)
        self.assertEqual(first.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(second.livechat_operator_id, self.support_2.partner_id)
        self._run_timers(T0 + timedelta(minutes=3, seconds=1))
        # in one batch: the first waits (support_2 is full), the second goes to support_1 who
        # was freed; the batch's end serves the first to support_2, freed in turn
        self.assertEqual(first.livechat_operator_id, self.support_2.partner_id)
        self.assertEqual(second.livechat_operator_id, self.support_1.partner_id)
        for session in first | second:
            self.assertEqual(len(session.livechat_transfer_ids.filtered(lambda h: h.kind == "timeout")), 1)
            held = session.channel_member_ids.partner_id & (self.support_1 | self.support_2).partner_id
            self.assertEqual(held, session.livechat_operator_id, "one holder in the conversation")

    def test_freed_places_served_once_per_batch(self):
        self._online(self.support_1, self.support_2, *self.extra)
        sessions = self._lapsed_sessions(8)
        Routing = type(self.env["livechat.routing"])
        serve_queues = Routing._serve_queues
        calls = []

        def counted(routing, *args, **kwargs):
            if kwargs.get("freed_by") is not None:  # a place freed (not a queue served by name)
                calls.append(kwargs["freed_by"])
            return serve_queues(routing, *args, **kwargs)

        self.patch(Routing, "_serve_queues", counted)
        self._run_timers(T0 + timedelta(minutes=3, seconds=1))
        self.assertEqual(len(sessions.livechat_transfer_ids.filtered(lambda hop: hop.kind == "timeout")), 8)
        # batches of 1, 2, 4 and 1 sessions: the queues are served once for each, with every
        # operator its sessions freed (one at a time, it was once per session)
        self.assertEqual(len(calls), 4, [freed.ids for freed in calls])
        self.assertEqual(sum(len(freed) for freed in calls), 8)

    def test_a_batch_does_not_read_again_for_each_session_what_it_read(self):
        """Removing a member empties the ORM's whole cache (stock's ``unlink``): the operators
        whom the routing took sessions from leave them at the end of the batch, so that each
        session of a batch does not read again what the ones before it read (here its live
        chat: the timers read it for each session's notices)."""
        self._online(self.support_1, self.support_2, *self.extra)
        sessions = self._lapsed_sessions(8)
        odoobot = self.env.ref("base.partner_root")
        for session in sessions:
            # a website visitor, a guest, asked (the test's user, OdooBot, is no visitor)
            session.channel_member_ids.filtered(lambda member: member.partner_id == odoobot).unlink()
            guest = self.env["mail.guest"].create({"name": session.name})
            self.env["discuss.channel.member"].create({"channel_id": session.id, "guest_id": guest.id})
        self.env.invalidate_all()
        reads = []
        execute = Cursor.execute

        def counted(cr, query, params=None, log_exceptions=True):
            if 'FROM "im_livechat_channel"' in str(getattr(query, "code", query)):
                reads.append(query)
            return execute(cr, query, params, log_exceptions)

        self.patch(Cursor, "execute", counted)
        self._run_timers(T0 + timedelta(minutes=3, seconds=1))
        self.assertEqual(len(sessions.livechat_transfer_ids.filtered(lambda hop: hop.kind == "timeout")), 8)
        # batches of 1, 2, 4 and 1 sessions: read by each batch's first session, and by the
        # queues served at its end, once its operators left
        self.assertLessEqual(len(reads), 2 * 4, "twice a batch, not once a session")
        for session in sessions:
            held = (
                session.channel_member_ids.partner_id
                & (self.support_1 | self.support_2 | self.extra).partner_id
            )
            self.assertEqual(held, session.livechat_operator_id, "who let it lapse left it")

    def _bus_rows(self, after=0):
        """What the bus was sent after row ``after``: ``[(id, channel without the database,
        message)]``, in order."""
        self.env.cr.precommit.run()  # the bus writes its rows before the commit
        return [
            (row.id, json.loads(row.channel)[1:], json.loads(row.message))
            for row in self.env["bus.bus"].sudo().search([("id", ">", after)], order="id")
        ]

    def _bus_targets(self, message):
        """Who was sent ``message`` live (``discuss.channel/new_message``): the bus channels'
        ``(model, id)``."""
        return {
            tuple(channel[:2])
            for _id, channel, sent in self._bus_rows()
            if sent["type"] == "discuss.channel/new_message"
            and message.id in [data["id"] for data in sent["payload"]["data"].get("mail.message", [])]
        }

    def test_a_batch_writes_its_messages_together_each_where_it_belongs(self):
        """The visitors' notices and the staff's notes of a batch are written together, at its
        end (one INSERT a batch, not one a message), and each session reads its own in order:
        the visitor's notice, then the note that says who answers now. The visitor is sent the
        notice live, not the note; the staff (who answers now, who left) are sent the note."""
        self._online(self.support_1, self.support_2, *self.extra)
        sessions = self._lapsed_sessions(4)
        holders = {session: session._livechat_operator_user() for session in sessions}
        last = self.env["mail.message"].search([], order="id desc", limit=1).id
        inserts = []
        execute = Cursor.execute

        def counted(cr, query, params=None, log_exceptions=True):
            if str(getattr(query, "code", query)).lstrip().startswith('INSERT INTO "mail_message"'):
                inserts.append(query)
            return execute(cr, query, params, log_exceptions)

        self.patch(Cursor, "execute", counted)
        self._run_timers(T0 + timedelta(minutes=3, seconds=1))
        self.assertEqual(len(inserts), 3, "batches of 1, 2 and 1 sessions: one INSERT each")
        odoobot, note = self.env.ref("base.partner_root"), self.env.ref("mail.mt_note")
        for session in sessions:
            now = session._livechat_operator_user()
            self.assertNotEqual(now, holders[session])
            messages = session.message_ids.filtered(lambda message, last=last: message.id > last).sorted("id")
            self.assertEqual(
                [(m.author_id, m.subtype_id == note, html2plaintext(m.body)) for m in messages],
                [
                    (odoobot, False, "Sorry for the wait: another operator will answer you."),
                    (
                        holders[session].partner_id,
                        True,
                        f"left the conversation: {now.name} answers it now.",
                    ),
                ],
            )
            notice, staff_note = messages
            self.assertIn(
                ("discuss.channel", session.id), self._bus_targets(notice), "the conversation reads it"
            )
            # for the staff only: who answers now, and who left (posted before they leave)
            staff = {("res.partner", now.partner_id.id), ("res.partner", holders[session].partner_id.id)}
            self.assertEqual(self._bus_targets(staff_note), staff)

    def test_a_session_that_waits_reads_its_notices_in_order(self):
        """A session of a batch that goes back to its queue (nobody is free) is told of its
        place right away: the notice of the lapse, kept for the batch's end, comes first."""
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1)
        session = self._lapsed_sessions(1)
        last = self.env["mail.message"].search([], order="id desc", limit=1).id
        self._run_timers(T0 + timedelta(minutes=3, seconds=1))
        self.assertEqual(session.livechat_routing_state, "queued")
        odoobot = self.env.ref("base.partner_root")
        notices = [
            html2plaintext(m.body)
            for m in session.message_ids.filtered(lambda m: m.id > last and m.author_id == odoobot).sorted(
                "id"
            )
        ]
        self.assertEqual(len(notices), 2, notices)
        self.assertEqual(notices[0], "Sorry for the wait: another operator will answer you.")
        self.assertIn("number 1 in the queue of General Support", notices[1])

    def test_who_left_is_not_shown_the_session_again(self):
        """Stock's ``_action_unfollow`` posts before it tells who leaves to unpin the session: a
        message posted after it would pin it again in their Discuss, still listening to the
        session's members until their client listens again. A batch posts its notes and notices,
        and serves its queues (a session served there posts its "joined" note), before its
        operators leave. In one batch: the first session waits (support_2 is full), the second
        goes to support_1, freed, and the batch's end serves the first to support_2."""
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1, self.support_2)
        sessions = self._lapsed_sessions(2)
        holders = [session._livechat_operator_user() for session in sessions]
        last = self._bus_rows()[-1][0]
        self._at(T0 + timedelta(minutes=3, seconds=1))
        lapsed = self.env["livechat.timers"]._livechat_answer_lapsed
        with self.env["livechat.routing"]._hand_back_batch() as routing:
            for session in routing._in_batch(sessions):
                routing._in_savepoint(session, lapsed, skip_errors=False)
        self.env.invalidate_all()
        self.assertEqual(
            [session._livechat_operator_user() for session in sessions], [self.support_2, self.support_1]
        )
        rows = self._bus_rows(last)
        for session, holder in zip(sessions, holders, strict=True):
            (left,) = [
                row_id
                for row_id, channel, message in rows
                if channel == ["res.partner", holder.partner_id.id]
                and message["type"] == "discuss.channel/leave"
                and message["payload"]["discuss.channel"][0]["id"] == session.id
            ]
            # what the session's members (who left among them) and who left were sent after it
            after = [
                message
                for row_id, channel, message in rows
                if row_id > left
                and (
                    channel[:2] == ["discuss.channel", session.id]
                    or (
                        channel == ["res.partner", holder.partner_id.id]
                        and message["type"] == "discuss.channel/new_message"
                        and message["payload"]["id"] == session.id
                    )
                )
            ]
            self.assertNotIn(
                "discuss.channel/new_message", [m["type"] for m in after], "nothing posted after they left"
            )
            self.assertNotIn('"is_pinned": true', json.dumps(after), "nor pinned again")

    def test_who_keeps_a_session_whose_hand_back_failed_does_not_leave_it(self):
        """In a batch, the operators leave the sessions taken from them at its end; a session
        whose hand-back failed (and was undone) is still theirs: they stay in it."""
        self._online(self.support_1, self.support_2, *self.extra)
        kept, failed = self._lapsed_sessions(2)
        holders = {session: session._livechat_operator_user() for session in kept | failed}

        def hand_back(session):
            session._livechat_post_notice("Sorry for the wait", batched=True)
            session.env["livechat.routing"]._requeue(session, holders[session])
            if session == failed:
                raise ValueError("a bug after the hand-back")

        with self.env["livechat.routing"]._hand_back_batch() as routing:
            first, second = routing._in_batch(kept | failed)
            routing._in_savepoint(first, hand_back)
            with self.assertLogs(livechat_routing.__name__, "ERROR"):
                routing._in_savepoint(second, hand_back)
        self.env.invalidate_all()
        self.assertNotEqual(kept.livechat_operator_id, holders[kept].partner_id)
        self.assertNotIn(holders[kept].partner_id, kept.channel_member_ids.partner_id)
        self.assertEqual(failed.livechat_operator_id, holders[failed].partner_id, "undone")
        self.assertIn(holders[failed].partner_id, failed.channel_member_ids.partner_id, "still theirs")
        self.assertFalse(failed.livechat_transfer_ids.filtered(lambda hop: hop.kind == "requeue"))
        self.assertEqual(self._notices(kept).count("Sorry for the wait"), 1)
        self.assertNotIn("Sorry for the wait", self._notices(failed), "its notice was undone with it")
        left = self.env.ref("mail.mt_note")
        self.assertTrue(kept.message_ids.filtered(lambda m: m.subtype_id == left), "who left it says so")
        self.assertFalse(failed.message_ids.filtered(lambda m: m.subtype_id == left), "nobody left it")

    def test_the_operator_given_a_session_loads_it_once(self):
        """Who is given a session joins it: their Discuss loads it when told so (stock's
        ``discuss.channel/joined``), and is not sent the whole session a second time."""
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1)
        session = self._lapsed_sessions(1)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        self._online(self.support_2)
        self._run_timers(T0 + timedelta(minutes=3, seconds=1))
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        told = []
        for _id, channel, message in self._bus_rows():
            if channel != ["res.partner", self.support_2.partner_id.id]:
                continue
            payload = message["payload"]
            if message["type"] == "discuss.channel/joined":
                told += [message["type"]] * (payload["channel"]["id"] == session.id)
            elif message["type"] == "mail.record/insert":
                told += [
                    message["type"] for data in payload.get("discuss.channel", []) if data["id"] == session.id
                ]
        self.assertEqual(told, ["discuss.channel/joined"])

    def test_killed_while_its_operators_leave_keeps_the_batch_whole(self):
        """The operators leave at the end of their batch, before it is committed: a worker
        killed then loses the whole batch (its sessions still theirs, with them in it), never
        half of it, and the next run hands each one back once."""
        self._online(self.support_1, self.support_2, *self.extra)
        sessions = self._lapsed_sessions(3)
        holders = [session.livechat_operator_id for session in sessions]
        Session = type(self.env["discuss.channel"])
        leave = Session._livechat_leave_batch

        def leave_or_die(channels, leaving):
            if sessions[2] in [session for session, _operator in leaving]:
                raise Killed  # in the second batch (two sessions), as its operators leave
            return leave(channels, leaving)

        self.patch(Session, "_livechat_leave_batch", leave_or_die)
        self._at(T0 + timedelta(minutes=3, seconds=1))
        with CommitPoints(self) as commits:
            self.env["livechat.timers"]._cron_livechat_timers(auto_commit=True)
        self.assertEqual(commits.commits, 1, "the first batch, of one session")

        def timeouts(session):
            return len(session.livechat_transfer_ids.filtered(lambda hop: hop.kind == "timeout"))

        self.assertEqual([timeouts(session) for session in sessions], [1, 0, 0])
        self.assertNotIn(holders[0], sessions[0].channel_member_ids.partner_id)
        for session, holder in zip(sessions[1:], holders[1:], strict=True):
            self.assertEqual(session.livechat_operator_id, holder, "the killed batch is undone whole")
            self.assertIn(holder, session.channel_member_ids.partner_id)

        self.patch(Session, "_livechat_leave_batch", leave)
        self._run_timers(T0 + timedelta(minutes=3, seconds=2))
        self.assertEqual([timeouts(session) for session in sessions], [1, 1, 1])
        for session, holder in zip(sessions, holders, strict=True):
            self.assertNotEqual(session.livechat_operator_id, holder)
            self.assertNotIn(holder, session.channel_member_ids.partner_id)

    # ------------------------------------------------------------
    # Who joins and who leaves at a batch's end is told as stock tells it
    # ------------------------------------------------------------

    def _told(self, do, session, member_ids):
        """What doing ``do()`` sent on the bus: ``[(target model, type, payload)]``, in order,
        each payload with ``session``'s id read "S" and ``member_ids``' read "M", its other
        values by their type (two sessions differ in their names, their uuids, their times)."""
        rows = self._bus_rows()
        last = rows[-1][0] if rows else 0
        do()

        def shape(value, key=None, persona=False):
            if isinstance(value, dict):
                return {k: shape(v, k, persona="type" in value) for k, v in value.items()}
            if isinstance(value, list):
                return [shape(v) for v in value]
            if key == "id" and not persona and value == session.id:
                return "S"
            if key == "id" and not persona and value in member_ids():
                return "M"
            if key in ("id", "memberCount", "channel_type", "model", "is_pinned", "open_chat_window"):
                return value
            return type(value).__name__

        return [
            (channel[0], message["type"], shape(message["payload"]))
            for _id, channel, message in self._bus_rows(last)
        ]

    def test_join_batch_tells_as_stock(self):
        """The operators given sessions in a batch join them at its end, all at once: they and
        the sessions' members are told what stock's ``_add_members`` tells them."""
        self._online(self.support_1)
        stock, batched = self._new_session("Visitor A"), self._new_session("Visitor B")
        joiner = self.support_2
        Member = self.env["discuss.channel.member"]

        def members(session):
            return lambda: Member.search(
                [("channel_id", "=", session.id), ("partner_id", "=", joiner.partner_id.id)]
            ).ids

        told_stock = self._told(
            lambda: stock.with_user(joiner)
            .sudo()
            ._add_members(users=joiner, open_chat_window=True, post_joined_message=False),
            stock,
            members(stock),
        )
        told_batched = self._told(
            lambda: self.env["discuss.channel"]._livechat_join_batch([(batched, joiner)]),
            batched,
            members(batched),
        )
        self.assertTrue(told_stock)
        self.assertIn("discuss.channel/joined", [kind for _target, kind, _payload in told_stock])
        self.assertEqual(told_batched, told_stock)
        self.assertIn(joiner.partner_id, batched.channel_member_ids.partner_id)

    def test_leave_batch_tells_as_stock(self):
        """The operators whom a batch took sessions from leave them at its end, all at once:
        they and the sessions' members are told what stock's ``_action_unfollow`` tells them
        (apart from its "left" message: the batch posted the staff's note)."""
        self._online(self.support_1)
        stock, batched = self._new_session("Visitor A"), self._new_session("Visitor B")
        leaver = self.support_2  # a colleague who joined both, not who holds them
        for session in (stock, batched):
            session.with_user(leaver).sudo()._add_members(users=leaver, post_joined_message=False)
        Member = self.env["discuss.channel.member"]
        gone = {
            session: Member.search(
                [("channel_id", "=", session.id), ("partner_id", "=", leaver.partner_id.id)]
            ).ids
            for session in (stock, batched)
        }

        def unfollow_without_message():
            # the batch posted the staff's note: stock's "left the channel" is not compared
            with patch.object(
                type(stock), "message_post", lambda channel, **kwargs: channel.env["mail.message"]
            ):
                stock._action_unfollow(partner=leaver.partner_id)

        told_stock = self._told(unfollow_without_message, stock, lambda: gone[stock])
        told_batched = self._told(
            lambda: self.env["discuss.channel"]._livechat_leave_batch([(batched, leaver)]),
            batched,
            lambda: gone[batched],
        )
        self.assertIn("discuss.channel/leave", [kind for _target, kind, _payload in told_stock])
        self.assertEqual(told_batched, told_stock)
        self.assertNotIn(leaver.partner_id, batched.channel_member_ids.partner_id)
        self.assertEqual(batched.livechat_operator_id, self.support_1.partner_id, "its holder keeps it")

    def test_joined_note_in_a_batch_reads_as_outside_one(self):
        """Who is given a session in a batch (its operator archived: ``_release``) is noted
        as having joined it as anyone who joins outside a batch is: the same note, written as
        theirs."""
        self._online(self.support_1)
        given, joined = self._new_session("Visitor A"), self._new_session("Visitor B")
        self._online(self.support_2)
        self.support_1.active = False  # their sessions go back to the routing, as a batch
        self.env.invalidate_all()
        self.assertEqual(given.livechat_operator_id, self.support_2.partner_id)
        joined.with_user(self.ext_supervisor).sudo()._add_members(users=self.ext_supervisor)

        def note(session, partner):
            (message,) = session.message_ids.filtered(
                lambda m: m.author_id == partner and "joined the conversation" in m.body
            )
            return (
                message.message_type,
                message.subtype_id,
                html2plaintext(message.body).replace(partner.name, "X"),
            )

        self.assertEqual(note(given, self.support_2.partner_id), note(joined, self.ext_supervisor.partner_id))
        self.assertEqual(note(given, self.support_2.partner_id)[0], "comment")
