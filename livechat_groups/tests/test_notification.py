import json

from odoo.tests import tagged

from odoo.addons.bus.tests.common import WebsocketCase

from .common import LivechatGroupsRoutingMixin, LivechatGroupsScenario, LivechatGroupsWebsocketMixin


@tagged("post_install", "-at_install")
class TestOperatorNotified(
    LivechatGroupsWebsocketMixin, LivechatGroupsRoutingMixin, LivechatGroupsScenario, WebsocketCase
):
    """The operator who gets a session hears about it at once, over Odoo's real /websocket."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_scenario()

    def _sessions_received(self, websocket, user):
        """Dispatch what the bus holds for ``user`` and return the session ids they were sent:
        the sessions they joined (stock's ``discuss.channel/joined``, on which their Discuss
        loads it) or were sent whole."""
        self.trigger_notification_dispatching([user.partner_id])
        received = set()
        for notification in json.loads(websocket.recv()):
            message = notification["message"]
            payload = message["payload"]
            if message["type"] == "discuss.channel/joined":
                received.add(payload["channel"]["id"])
            elif isinstance(payload, dict):
                received.update(channel["id"] for channel in payload.get("discuss.channel", []))
        return received

    def test_operator_notified_when_queue_drains(self):
        session = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(session.livechat_routing_state, "queued")
        websocket = self._connect(self.support_2)
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertIn(session.id, self._sessions_received(websocket, self.support_2))

    def test_operator_notified_when_assigned(self):
        self.external_livechat.routing_mode = "manual"
        session = self._get_session(self.external_livechat, "Ann")
        websocket = self._connect(self.support_1)
        session.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        self.assertIn(session.id, self._sessions_received(websocket, self.support_1))

    def test_specialist_notified_when_forwarded(self):
        self._online(self.support_1, self.tech_1)
        session = self._get_session(self.external_livechat, "Ann")
        websocket = self._connect(self.tech_1)
        session.with_user(self.support_1).action_livechat_forward(self.group_tech.id, note="Printer on fire")
        self.assertEqual(session.livechat_operator_id, self.tech_1.partner_id)
        self.assertIn(session.id, self._sessions_received(websocket, self.tech_1))
