import json

from odoo.tests import tagged

from odoo.addons.bus.tests.common import WebsocketCase

from .common import LivechatGroupsRoutingMixin, LivechatGroupsScenario, LivechatGroupsWebsocketMixin

QUEUE = "livechat_groups/queue_places"


@tagged("post_install", "-at_install")
class TestQueueBus(
    LivechatGroupsWebsocketMixin, LivechatGroupsRoutingMixin, LivechatGroupsScenario, WebsocketCase
):
    """A group's queue is a bus channel of its own, over Odoo's real /websocket: a visitor
    waiting in it hears it move, one notification for all of them; nobody else may listen,
    whatever they ask for."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()

    def setUp(self):
        super().setUp()
        self._offline(self.support_1, self.support_2, self.tech_1)
        self.ann, self.bob = (self._waiting(name) for name in ("Ann", "Bob"))

    def _waiting(self, name, livechat=None):
        """A website visitor's new session, waiting (as get_session makes it: over HTTP, the
        test's visitor would log the websockets' users out)."""
        livechat = livechat or self.external_livechat
        session = self.env["discuss.channel"].create(livechat._get_livechat_discuss_channel_vals(name))
        guest = self.env["mail.guest"].create({"name": name})
        session._add_members(guests=guest, post_joined_message=False)
        self.assertEqual(session.livechat_routing_state, "queued")
        return session

    def _connect_guest(self, guest):
        """The visitor's widget's websocket, as their guest cookie opens it."""
        return self.websocket_connect(cookie=f"{guest._cookie_name}={guest._format_auth_cookie()}")

    def _hears(self, websocket, own, group, taken=None):
        """Whether ``websocket`` (whose own bus channel is ``own``) asking for ``group``'s queue
        hears it move when ``taken`` (by default Ann) is taken; the queue's payload when it does."""
        taken = taken or self.ann
        self.subscribe(websocket, [f"livechat_groups_queue_{group.id}"], self.env["bus.bus"]._bus_last_id())
        self._online(self.support_1)
        self.last = self.env["bus.bus"]._bus_last_id()
        taken.with_user(self.support_1).action_livechat_take()
        self.assertHeldBy(taken, self.support_1, self.group_support)
        own._bus_send("livechat_groups.test_end", {})
        self.trigger_notification_dispatching([own, (group, "queue")])
        received = {}
        while "livechat_groups.test_end" not in received:
            for notification in json.loads(websocket.recv()):
                received[notification["message"]["type"]] = notification["message"]["payload"]
        return received.get(QUEUE)

    def test_a_waiting_visitor_hears_their_queue_move(self):
        guest = self.bob.channel_member_ids.guest_id
        heard = self._hears(self._connect_guest(guest), guest, self.group_support)
        self.assertEqual(heard, {"group_id": self.group_support.id, "queue": self.bob.ids})
        sent = self.env["bus.bus"].sudo().search([("id", ">", self.last), ("message", "like", QUEUE)])
        self.assertEqual(
            [json.loads(notification.channel)[1:] for notification in sent],
            [["livechat.group", self.group_support.id, "queue"]],
            "one notification on the group's queue, not one per visitor",
        )

    def test_an_employee_waiting_on_the_internal_live_chat_hears_their_queue(self):
        self.internal_livechat.with_user(self.employee).livechat_start_session()
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_routing_state, "queued")
        group = session.livechat_group_id
        self.subscribe(
            websocket := self._connect(self.employee),
            [f"livechat_groups_queue_{group.id}"],
            self.env["bus.bus"]._bus_last_id(),
        )
        self.env["discuss.channel"]._livechat_refresh_queue_notices(group)
        self.employee.partner_id._bus_send("livechat_groups.test_end", {})
        self.trigger_notification_dispatching([self.employee.partner_id, (group, "queue")])
        received = {}
        while "livechat_groups.test_end" not in received:
            for notification in json.loads(websocket.recv()):
                received[notification["message"]["type"]] = notification["message"]["payload"]
        self.assertEqual(received.get(QUEUE), {"group_id": group.id, "queue": session.ids})

    def test_a_guest_waiting_elsewhere_cannot_listen(self):
        cid = self._waiting("Cid")
        self.env["livechat.routing"]._hand_over(cid, "forward", self.group_tech, self.env["res.users"])
        self.assertEqual((cid.livechat_routing_state, cid.livechat_group_id), ("queued", self.group_tech))
        guest = cid.channel_member_ids.guest_id
        self.assertIsNone(self._hears(self._connect_guest(guest), guest, self.group_support))

    def test_a_guest_who_waits_nowhere_cannot_listen(self):
        guest = self.env["mail.guest"].create({"name": "Mallory"})
        self.assertIsNone(self._hears(self._connect_guest(guest), guest, self.group_support))

    def test_a_portal_user_cannot_listen(self):
        self.assertIsNone(self._hears(self._connect(self.portal), self.portal.partner_id, self.group_support))

    def test_an_internal_user_of_another_desk_cannot_listen(self):
        self.assertIsNone(self._hears(self._connect(self.hr_1), self.hr_1.partner_id, self.group_support))

    def test_the_groups_own_operators_do_not_listen(self):
        self.assertIsNone(
            self._hears(self._connect(self.support_2), self.support_2.partner_id, self.group_support)
        )

    def test_who_was_taken_no_longer_listens(self):
        """Once Ann is taken, her widget asking for the queue again is refused: her notice says
        who answers her now."""
        self._online(self.support_1)
        self.ann.with_user(self.support_1).action_livechat_take()
        guest = self.ann.channel_member_ids.guest_id
        self._offline(self.support_1)
        self._waiting("Cid")
        self.assertIsNone(self._hears(self._connect_guest(guest), guest, self.group_support, taken=self.bob))
