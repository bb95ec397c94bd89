import json
import re
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import (
    WIDGET_HELPERS,
    LivechatGroupsRoutingCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
    LivechatGroupsTourCase,
)

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

    def _queue_notifications(self):
        """The notifications of the queues' moves sent since the test's departure:
        ``[(group, ids of its waiting sessions in order)]``, each on its group's queue channel,
        with nothing else in it."""
        self.env.cr.precommit.run()
        sent = []
        for notification in self.env["bus.bus"].sudo().search([("id", ">", self.since)], order="id"):
            message = json.loads(notification.message)
            if message["type"] != "livechat_groups/queue_places":
                continue
            _db, model, group_id, subchannel = json.loads(notification.channel)
            self.assertEqual((model, subchannel), ("livechat.group", "queue"), "on the group's queue channel")
            self.assertEqual(message["payload"]["group_id"], group_id)
            self.assertEqual(set(message["payload"]), {"group_id", "queue"}, "nothing else")
            sent.append((self.env[model].browse(group_id), message["payload"]["queue"]))
        return sent

    def _told(self):
        """``{session: place}``: the last place each waiting visitor's client works out from
        its queue's notifications since the test's departure, as ``livechat_queue_places.js``
        does: the number of sessions before its own, plus one."""
        told = {}
        for _group, queue in self._queue_notifications():
            for place, session_id in enumerate(queue, start=1):
                told[self.env["discuss.channel"].browse(session_id)] = place
        return told

    def _loaded_body(self, session):
        """The body of ``session``'s queue notice as its visitor's client loads it."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        (notice,) = [
            m for m in data["data"]["mail.message"] if m["id"] == session.livechat_queue_notice_id.id
        ]
        self.assertEqual(notice["livechat_groups_queue_group_id"], session.livechat_group_id.id)
        return notice["body"]

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
        self.assertEqual(
            self._queue_notifications(),
            [(self.group_support, (self.ann | self.cid | self.dan).ids)],
            "one notification for the queue, none per visitor",
        )
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
        for notification in pushed:
            for session in self.bob | self.cid | self.dan:
                self.assertNotIn(session.name, notification.message, "no visitor's name")
                # no visitor's notice sent anywhere: the others' clients work out their place
                self.assertNotIn(f'"id": {session.livechat_queue_notice_id.id},', notification.message)
        self.assertNotIn("o_livechat_groups_position", str(pushed.mapped("message")))

    def test_two_departures_one_notification(self):
        """An operator comes back and the routing gives them two waiting sessions at once: the
        queue sends one notification for both departures."""
        self._online(self.support_1)  # two sessions at the most
        self.env["livechat.routing"]._serve_queues(self.group_support)
        self.assertHeldBy(self.ann, self.support_1, self.group_support)
        self.assertHeldBy(self.bob, self.support_1, self.group_support)
        self.assertEqual(self._queue_notifications(), [(self.group_support, (self.cid | self.dan).ids)])
        self.assertPlaces(self.group_support, self.cid | self.dan)

    def test_the_visitor_reads_the_number_in_their_language(self):
        """A French visitor's client puts the number their queue sends into the words their
        notice was posted in, and nothing else changes."""
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["livechat_groups"], ["fr_FR"], overwrite=True)
        self.dan.livechat_visitor_lang = "fr_FR"
        self.dan.livechat_queue_notice_id.unlink()
        self.dan._livechat_post_queue_notice()
        loaded = self._loaded_body(self.dan)  # what the widget holds: the words in French, place 4
        self.assertIn('o_livechat_groups_position">4<', loaded)
        self.assertNotIn("you are number", loaded)
        self.since = self._last_bus_id()
        self._online(self.support_1)
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", self.ann.ids)
        self.assertEqual(self._told()[self.dan], 3)
        shown = PLACE.sub(f'o_livechat_groups_position">{self._told()[self.dan]}<', loaded)
        self.assertEqual(
            shown, loaded.replace('o_livechat_groups_position">4<', 'o_livechat_groups_position">3<')
        )
        self.assertEqual(html2plaintext(shown), self._shown_text(self.dan.livechat_queue_notice_id))


@tagged("post_install", "-at_install")
class TestQueuePlacesWidget(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """A visitor waiting in the website widget (or an employee waiting in Discuss) reads their
    place move live: Ann waits before Bob; while Bob waits, an operator takes Ann (in the
    request of Bob's next message, another transaction than the one that queued him), and Bob's
    widget says he is number 1 without a reload, from his queue's one notification."""

    WIDGET = (
        WIDGET_HELPERS
        + """
        (async () => {
            await odoo.livechatReady;
            (await waitFor(".o-livechat-LivechatButton")).click();
            await write("My printer is on fire");
            await waitFor(".o-mail-NotificationMessage", "you are number 2 in the queue of General Support");
            window.livechatGroupsNotReloaded = true;
            // the widget asks for its queue's channel once it read the notice: let it subscribe
            await new Promise((resolve) => setTimeout(resolve, 3000));
            await write("Are you still there?");
            await waitFor(".o-mail-NotificationMessage", "you are number 1 in the queue of General Support");
            if (!window.livechatGroupsNotReloaded) {
                throw new Error("the widget was reloaded");
            }
            console.log("test successful");
        })().catch((error) => console.error(error.message));
    """
    )

    def _take_on_message(self, session, operator):
        """When the visitor writes "Are you still there?", ``operator`` takes ``session``, in
        the same request (another transaction than the one that queued the visitor), and the
        browsers' websockets wake up for what the queue sends."""
        Session = self.registry["discuss.channel"]
        after_hook = Session._message_post_after_hook

        def operator_takes(channel, message, msg_vals):
            res = after_hook(channel, message, msg_vals)
            if "Are you still there" in str(message.body):
                env = channel.env(user=operator, context={})
                env["bus.presence"].sudo().search([("user_id", "=", operator.id)]).status = "online"
                env["discuss.channel"].browse(session.id).action_livechat_take()
            return res

        self.patch(Session, "_message_post_after_hook", operator_takes)
        self._wake_websockets_after("discuss.channel", "_livechat_refresh_queue_notices")

    def assertToldByTheQueue(self, group):
        """What told the visitor their new place: the queue's one notification, never their
        notice sent to them again."""
        sent = self.env["bus.bus"].sudo().search([], order="id")
        self.assertEqual(
            [json.loads(n.channel)[1:] for n in sent if "livechat_groups/queue_places" in n.message],
            [["livechat.group", group.id, "queue"]],
        )
        places_sent = [
            int(place.group(1))
            for n in sent
            if isinstance(payload := json.loads(n.message)["payload"], dict)
            for record in payload.get("mail.message", [])
            if (place := PLACE.search(record.get("body") or ""))
        ]
        self.assertNotIn(1, places_sent, "the notice was never sent again with the new place")

    def test_the_widget_shows_the_new_place_live(self):
        ann = self._get_session(self.external_livechat, "Ann")
        self._visitor_says(ann, "Hello")
        self.assertEqual(ann.livechat_routing_state, "queued")
        self._take_on_message(ann, self.support_1)
        self.browser_js(f"/im_livechat/support/{self.external_livechat.id}", self.WIDGET)
        self.env.invalidate_all()
        self.assertHeldBy(ann, self.support_1, self.group_support)
        bob = self.env["discuss.channel"].search(
            [
                ("livechat_channel_id", "=", self.external_livechat.id),
                ("livechat_routing_state", "=", "queued"),
            ]
        )
        self.assertEqual(len(bob), 1)
        self.assertIn(
            "you are number 1 in the queue of General Support", self._shown_text(bob.livechat_queue_notice_id)
        )
        self.assertToldByTheQueue(self.group_support)

    def test_discuss_shows_the_employee_their_new_place_live(self):
        self.internal_livechat.name = "HR and Accounting Desk"  # the demo data has an "Internal Live Chat"
        eva = self._queued_session(self.internal_livechat, "Eva")
        session = self._ask_internal(self.employee)
        self.assertEqual(
            (session.livechat_routing_state, session.livechat_group_id), ("queued", self.group_helpdesk)
        )
        self._take_on_message(eva, self.helpdesk_1)
        self.start_tour(
            self._discuss(session), "livechat_groups_employee_place_moves", login=self.employee.login
        )
        self.env.invalidate_all()
        self.assertHeldBy(eva, self.helpdesk_1, self.group_helpdesk)
        self.assertIn(
            "you are number 1 in the queue of General Helpdesk",
            self._shown_text(session.livechat_queue_notice_id),
        )
        self.assertToldByTheQueue(self.group_helpdesk)
