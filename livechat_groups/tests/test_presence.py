from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import LivechatGroupsRoutingCase
from .test_timers import LivechatTimersMixin


@tagged("post_install", "-at_install")
class TestPresence(LivechatTimersMixin, LivechatGroupsRoutingCase):
    """The routing (online: available) and the away timer (offline past the grace: hand back)
    rest on presence rows that only a user's own connection writes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.external_livechat.away_grace_minutes = 5

    def _presence(self, user):
        return self.env["bus.presence"].search([("user_id", "=", user.id)])

    def _run_timers_later(self, minutes):
        """The timers' scheduled action, ``minutes`` from now."""
        self._freeze(fields.Datetime.now() + timedelta(minutes=minutes))
        self.env["livechat.timers"]._cron_livechat_timers()
        self.env.invalidate_all()

    def test_employee_cannot_make_an_operator_away(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.assertHeldBy(session, self.support_1, self.group_support)
        presence = self._presence(self.support_1)
        refused = "doesn't have '(write|unlink)' access to:\n- User Presence"
        self._rpc_refused(
            "AccessError",
            refused,
            self.employee,
            "bus.presence",
            "write",
            presence.ids,
            {"status": "offline"},
        )
        self._rpc_refused("AccessError", refused, self.employee, "bus.presence", "unlink", presence.ids)
        # stock's public method behind the websocket's update, called for another user: "away"
        # (idle for a day) would make them unavailable to the routing
        self._rpc_refused(
            "AccessError",
            "You may not give a presence to another user or guest.",
            self.employee,
            "bus.presence",
            "update_presence",
            24 * 3600 * 1000,
            "user_id",
            self.support_1.id,
        )
        self.assertEqual(presence.status, "online")
        self._run_timers_later(60)
        self.assertHeldBy(session, self.support_1, self.group_support)

    def test_employee_cannot_make_an_absent_operator_available(self):
        self.assertFalse(self._presence(self.support_1) | self._presence(self.support_2))
        self._rpc_refused(
            "AccessError",
            "doesn't have 'create' access to:\n- User Presence|Only your connection says",
            self.employee,
            "bus.presence",
            "web_save",
            [],
            {"user_id": self.support_1.id, "status": "online"},
            specification={},
        )
        # their own row they may create, not give to another user
        own = self._rpc(
            self.employee, "bus.presence", "web_save", [], {"user_id": self.employee.id}, specification={}
        )[0]["id"]
        self._rpc_refused(
            "AccessError",
            "You may not give a presence to another user or guest.",
            self.employee,
            "bus.presence",
            "write",
            [own],
            {"user_id": self.support_1.id},
        )
        self.assertFalse(self._presence(self.support_1))
        session = self._get_session(self.external_livechat, "Ann")
        self.assertWaiting(session, self.group_support, 1)

    def test_own_connection_updates_presence(self):
        """The web client's presence update and the close of its websocket, as the user."""
        self.authenticate(self.support_1.login, self.support_1.login)
        self.make_jsonrpc_request(
            "/websocket/peek_notifications", {"channels": [], "last": 0, "is_first_poll": True}
        )
        self.make_jsonrpc_request(
            "/websocket/update_bus_presence", {"inactivity_period": 0, "im_status_ids_by_model": {}}
        )
        self.assertEqual(self._presence(self.support_1).status, "online")
        session = self._get_session(self.external_livechat, "Ann")
        self.assertHeldBy(session, self.support_1, self.group_support)
        self.authenticate(self.support_1.login, self.support_1.login)
        self.make_jsonrpc_request("/websocket/on_closed", {})
        self.assertEqual(self._presence(self.support_1).status, "offline")
        self._run_timers_later(60)
        self.assertEqual(session.livechat_routing_state, "queued", "away for real: handed back")

    def test_an_operator_cannot_stay_available_in_advance(self):
        """An operator's own row is theirs to update, as their connection does; but a time to come
        (online "until 2099") would keep them routed to and never away after their tab closed."""
        self._offline(self.support_2)
        self.authenticate(self.support_1.login, self.support_1.login)
        self.make_jsonrpc_request(
            "/websocket/peek_notifications", {"channels": [], "last": 0, "is_first_poll": True}
        )
        self.make_jsonrpc_request(
            "/websocket/update_bus_presence", {"inactivity_period": 0, "im_status_ids_by_model": {}}
        )
        presence = self._presence(self.support_1)
        refused = "Only your connection says that you are online"
        for vals in (
            {"last_poll": "2099-01-01 00:00:00"},
            {"status": "online", "last_presence": "2099-01-01"},
        ):
            with self.subTest(vals=vals):
                self._rpc_refused(
                    "AccessError", refused, self.support_1, "bus.presence", "write", presence.ids, vals
                )
        presence.unlink()
        self._rpc_refused(
            "AccessError",
            refused,
            self.support_1,
            "bus.presence",
            "create",
            [{"user_id": self.support_1.id, "status": "online", "last_poll": "2099-01-01 00:00:00"}],
        )
        self.assertFalse(self._presence(self.support_1), "nothing made")
