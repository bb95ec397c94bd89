import json
from datetime import datetime, timedelta

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import tagged

from odoo.addons.livechat_groups.models import livechat_routing
from odoo.addons.livechat_groups.models.livechat_routing import HAND_BACK_BATCH

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

    def test_who_keeps_a_session_whose_hand_back_failed_does_not_leave_it(self):
        """In a batch, the operators leave the sessions taken from them at its end; a session
        whose hand-back failed (and was undone) is still theirs: they stay in it."""
        self._online(self.support_1, self.support_2, *self.extra)
        kept, failed = self._lapsed_sessions(2)
        holders = {session: session._livechat_operator_user() for session in kept | failed}

        def hand_back(session):
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
        self.env.cr.precommit.run()  # the bus writes its rows before the commit
        channel = json.dumps(
            [self.env.cr.dbname, "res.partner", self.support_2.partner_id.id], separators=(",", ":")
        )
        told = []
        for notification in self.env["bus.bus"].sudo().search([("channel", "=", channel)]):
            message = json.loads(notification.message)
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
        Routing = type(self.env["livechat.routing"])
        leave = Routing._leave

        def leave_or_die(routing, session, operator):
            if session == sessions[2] and routing.env.context.get(HAND_BACK_BATCH) is None:
                raise Killed  # in the second batch (two sessions), as its operators leave
            return leave(routing, session, operator)

        self.patch(Routing, "_leave", leave_or_die)
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

        self.patch(Routing, "_leave", leave)
        self._run_timers(T0 + timedelta(minutes=3, seconds=2))
        self.assertEqual([timeouts(session) for session in sessions], [1, 1, 1])
        for session, holder in zip(sessions, holders, strict=True):
            self.assertNotEqual(session.livechat_operator_id, holder)
            self.assertNotIn(holder, session.channel_member_ids.partner_id)
