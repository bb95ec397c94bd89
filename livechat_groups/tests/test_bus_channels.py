import json

from odoo import Command
from odoo.tests import tagged

from odoo.addons.bus.tests.common import WebsocketCase

from .common import LivechatGroupsRoutingMixin, LivechatGroupsScenario, LivechatGroupsWebsocketMixin


@tagged("post_install", "-at_install")
class TestBusChannels(
    LivechatGroupsWebsocketMixin, LivechatGroupsRoutingMixin, LivechatGroupsScenario, WebsocketCase
):
    """The board's news and the Waiting list's go out once per live chat and per group, over
    Odoo's real /websocket, and reach only its supervisors and its members: one notification
    whatever their number."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()

    def _new_session(self, name):
        """A visitor's new session, as get_session makes it (over HTTP, the test's visitor
        would log the websockets' users out)."""
        vals = self.external_livechat._get_livechat_discuss_channel_vals(name)
        return self.env["discuss.channel"].create(vals)

    def _received(self, websocket, user, *channels):
        """What ``user``'s websocket receives once ``channels`` are dispatched, closed by a last
        notification of their own so that what they do not hear shows."""
        user.partner_id._bus_send("livechat_groups.test_end", {})
        self.trigger_notification_dispatching([*channels, user.partner_id])
        received = {}
        while "livechat_groups.test_end" not in received:
            for notification in json.loads(websocket.recv()):
                received[notification["message"]["type"]] = notification["message"]["payload"]
        return received

    def test_the_board_news_reach_the_supervisors_once(self):
        board = (self.external_livechat, "supervisors")
        websocket = self._connect(self.ext_supervisor)
        last = self.env["bus.bus"]._bus_last_id()
        session = self._new_session("Ann")
        news = self._received(websocket, self.ext_supervisor, board)
        self.assertIn(session.id, news["livechat_groups.session_update"]["session_ids"])
        sent = (
            self.env["bus.bus"]
            .sudo()
            .search([("id", ">", last), ("message", "like", "livechat_groups.session_update")])
        )
        self.assertEqual(
            {tuple(json.loads(notification.channel)[1:]) for notification in sent},
            {("im_livechat.channel", self.external_livechat.id, "supervisors")},
            "on the live chat's channel, not one per supervisor",
        )

    def test_operators_do_not_hear_the_board(self):
        websocket = self._connect(self.support_1)
        self._new_session("Ann")
        board = (self.external_livechat, "supervisors")
        self.assertNotIn("livechat_groups.session_update", self._received(websocket, self.support_1, board))

    def test_the_waiting_list_news_reach_the_group(self):
        websocket = self._connect(self.support_1)
        last = self.env["bus.bus"]._bus_last_id()
        session = self._new_session("Ann")  # nobody online: it waits
        self.assertEqual(session.livechat_routing_state, "queued")
        news = self._received(websocket, self.support_1, self.group_support)
        self.assertIn(session.id, news["livechat_groups.queue_update"]["session_ids"])
        sent = (
            self.env["bus.bus"]
            .sudo()
            .search([("id", ">", last), ("message", "like", "livechat_groups.queue_update")])
        )
        self.assertEqual(
            {tuple(json.loads(notification.channel)[1:]) for notification in sent},
            {("livechat.group", self.group_support.id)},
            "on the group's channel, not one per member",
        )

    def test_other_groups_do_not_hear_the_waiting_list(self):
        websocket = self._connect(self.tech_1)
        self._new_session("Ann")
        self.assertNotIn(
            "livechat_groups.queue_update", self._received(websocket, self.tech_1, self.group_support)
        )

    def test_who_leaves_a_group_stops_hearing_it(self):
        websocket = self._connect(self.support_1)
        self.group_support.user_ids = [Command.unlink(self.support_1.id)]
        self.assertIn("livechat_groups.resubscribe", self._received(websocket, self.support_1))
        self.env.flush_all()  # the change is committed when the web client subscribes again
        self.subscribe(websocket, [], self.env["bus.bus"]._bus_last_id())
        self._new_session("Ann")
        self.assertNotIn(
            "livechat_groups.queue_update", self._received(websocket, self.support_1, self.group_support)
        )

    def test_an_archived_supervisor_group_stops_hearing_the_board(self):
        websocket = self._connect(self.ext_supervisor)
        self.external_livechat.supervisor_group_ids.active = False
        self.assertIn("livechat_groups.resubscribe", self._received(websocket, self.ext_supervisor))
        self.env.flush_all()  # the change is committed when the web client subscribes again
        self.subscribe(websocket, [], self.env["bus.bus"]._bus_last_id())
        self._new_session("Ann")
        board = (self.external_livechat, "supervisors")
        self.assertNotIn(
            "livechat_groups.session_update", self._received(websocket, self.ext_supervisor, board)
        )
