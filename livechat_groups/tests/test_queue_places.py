import json
import re
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged

from .common import LivechatGroupsRoutingCase

PLACE = re.compile(r'o_livechat_groups_position">(\d+)<')


@tagged("post_install", "-at_install")
class TestQueuePlaces(LivechatGroupsRoutingCase):
    """Each waiting visitor reads their true place in the queue, live and after a reload,
    whoever leaves the queue (take, assign, forward, timeout, close, a group archived), while a
    departure writes no one else's notice and tells each visitor nothing but their own place."""

    def setUp(self):
        super().setUp()
        self._offline(self.support_1, self.support_2, self.tech_1)
        self.ann, self.bob, self.cid, self.dan = (
            self._get_session(self.external_livechat, name) for name in ("Ann", "Bob", "Cid", "Dan")
        )
        self.since = self._last_bus_id()

    def _last_bus_id(self):
        self.env.cr.precommit.run()  # the bus writes its rows when the transaction commits
        return self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id

    def _told(self):
        """``{session: place}``: the last place each visitor was told on the bus since the test's
        departure, each on their own session and about their own notice only."""
        self.env.cr.precommit.run()
        told = {}
        for notification in self.env["bus.bus"].sudo().search([("id", ">", self.since)], order="id"):
            message = json.loads(notification.message)
            if message["type"] != "mail.record/insert":
                continue
            for record in message["payload"].get("mail.message", []):
                place = PLACE.search(record.get("body") or "")
                if not place:
                    continue
                _db, model, res_id = json.loads(notification.channel)
                session = self.env[model].browse(res_id)
                self.assertEqual(model, "discuss.channel", "sent to the visitor's own session")
                notice = self.env["mail.message"].browse(record["id"])
                self.assertEqual(
                    (notice.model, notice.res_id), (model, session.id), "about their own notice only"
                )
                self.assertEqual(set(record), {"id", "body"}, "nothing else")
                told[session] = int(place.group(1))
        return told

    def _loaded(self, session):
        """The place ``session``'s visitor reads after a reload (what their widget loads)."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        places = [
            int(place.group(1))
            for message in data["data"]["mail.message"]
            if message["id"] == session.livechat_queue_notice_id.id
            and (place := PLACE.search(message["body"] or ""))
        ]
        return places[0] if places else None

    def _notice_writes(self):
        """Rows of mail.message updated so far in this transaction."""
        self.env.flush_all()
        self.env.cr.execute("SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'mail_message'")
        return self.env.cr.fetchone()[0]

    def assertPlaces(self, group, expected, live=True):
        """The sessions waiting in ``group`` are ``expected`` in this order, and each visitor
        was told their place live (unless ``live`` is False: they just joined the queue, and their
        new notice says it) and reads it after a reload."""
        self.env.invalidate_all()
        waiting = self.env["discuss.channel"].search(
            [("livechat_routing_state", "=", "queued"), ("livechat_group_id", "=", group.id)],
            order="livechat_queued_date, id",
        )
        self.assertEqual(waiting, expected)
        told = self._told()
        for place, session in enumerate(waiting, start=1):
            if live:
                self.assertEqual(told.get(session), place, f"{session.name} is told their place live")
            self.assertEqual(self._loaded(session), place, f"{session.name} reads it after a reload")

    def test_take(self):
        self._online(self.support_1)
        writes = self._notice_writes()
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", self.bob.ids)
        self.assertEqual(self.bob.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(self._notice_writes() - writes, 1, "only the taken session's notice is written")
        self.assertPlaces(self.group_support, self.ann | self.cid | self.dan)
        self.assertNotIn(self.bob, self._told(), "who was taken is told who answers, not a place")
        # the stored text keeps the place it was posted with: nothing was rewritten
        self.assertIn(
            '<span class="o_livechat_groups_position">4</span>', str(self.dan.livechat_queue_notice_id.body)
        )

    def test_assign(self):
        self._rpc(
            self.ext_supervisor, "discuss.channel", "action_livechat_assign", self.cid.ids, self.support_2.id
        )
        self.assertEqual(self.cid.livechat_operator_id, self.support_2.partner_id)
        self.assertPlaces(self.group_support, self.ann | self.bob | self.dan)

    def test_forward(self):
        self._rpc(
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_forward",
            self.ann.ids,
            self.group_tech.id,
        )
        self.assertPlaces(self.group_support, self.bob | self.cid | self.dan)
        self.assertPlaces(self.group_tech, self.ann, live=False)
        self.assertIn(
            "you are number 1 in the queue of Tech Support",
            self._shown_text(self.ann.livechat_queue_notice_id),
        )

    def test_close(self):
        self._as_visitor(self.ann)
        self.make_jsonrpc_request("/im_livechat/visitor_leave_session", {"channel_id": self.ann.id})
        self.assertEqual(self.ann.livechat_routing_state, "closed")
        self.assertPlaces(self.group_support, self.bob | self.cid | self.dan)

    def test_timeout_puts_the_session_back_at_the_front(self):
        self.external_livechat.answer_timeout_minutes = 3
        self._online(self.support_1)
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", self.ann.ids)
        self.since = self._last_bus_id()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE discuss_channel SET livechat_answer_due = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(minutes=1), self.ann.id),
        )
        self.env.invalidate_all()
        self._offline(self.support_1)  # nobody else can take it: back to the front of the queue
        self.env["livechat.timers"]._cron_livechat_timers()
        self.assertEqual(self.ann.livechat_transfer_ids[-1].kind, "timeout")
        self.assertPlaces(self.group_support, self.ann | self.bob | self.cid | self.dan)

    def test_archiving_the_group_moves_the_places(self):
        overflow = self.env["livechat.group"].create(
            {"name": "Overflow", "sequence": 5, "user_ids": [Command.set(self.sales_2.ids)]}
        )
        self.external_livechat.entry_group_ids |= overflow
        self._offline(self.sales_2)
        self.since = self._last_bus_id()
        self._rpc(self.admin, "livechat.group", "write", self.group_support.ids, {"active": False})
        self.assertPlaces(overflow, self.ann | self.bob | self.cid | self.dan)

    def test_a_departure_tells_nothing_of_the_others(self):
        self._online(self.support_1)
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", self.ann.ids)
        self.env.cr.precommit.run()
        pushed = self.env["bus.bus"].sudo().search([("id", ">", self.since)])
        for session in self.bob | self.cid | self.dan:
            others = (self.ann | self.bob | self.cid | self.dan) - session
            mine = pushed.filtered(
                lambda n, s=session: json.loads(n.channel)[1:] == ["discuss.channel", s.id]
            )
            self.assertTrue(mine)
            for notification in mine:
                for other in others:
                    self.assertNotIn(other.name, notification.message)
                    self.assertNotIn(f'"id": {other.livechat_queue_notice_id.id},', notification.message)
