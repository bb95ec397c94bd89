import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import LivechatGroupsRoutingCase, LivechatGroupsRoutingMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestWaitingAlerts(LivechatGroupsRoutingCase):
    """No waiting customer missed: the available members of the group where a session waits
    are told once, over the bus; its supervisors once it waits past the answer target."""

    def _waiting_alerts(self):
        """``{partner: [payload]}`` of the bus's "session waiting" notifications sent so far."""
        self.env.cr.precommit.run()  # the bus writes its rows before the commit
        sent = {}
        for row in self.env["bus.bus"].sudo().search([], order="id"):
            message = json.loads(row.message)
            if message["type"] == "livechat_groups/session_waiting":
                partner = self.env["res.partner"].browse(json.loads(row.channel)[2])
                sent.setdefault(partner, []).append(message["payload"])
        return sent

    def test_available_members_of_the_group_told_once(self):
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1, self.tech_1, self.sales_1, self.helpdesk_1)
        self._offline(self.support_2)
        ann = self._get_session(self.external_livechat, "Ann")
        self.assertHeldBy(ann, self.support_1, self.group_support)
        self.assertEqual(self._waiting_alerts(), {}, "nobody waits")

        bob = self._get_session(self.external_livechat, "Bob")
        self.assertWaiting(bob, self.group_support, 1)
        self.assertEqual(
            self._waiting_alerts(),
            {
                self.support_1.partner_id: [
                    {
                        "id": bob.id,
                        "kind": "waiting",
                        "title": "A customer is waiting",
                        "message": "Waiting: Bob in General Support (External Live Chat)",
                    }
                ]
            },
            "only the available members of General Support: not Simon (away), not other groups",
        )
        # the queue is served again, Bob still waits: nobody is told twice
        self.env["livechat.routing"]._serve_queues(self.group_support)
        self._visitor_says(bob, "Anyone there?")
        self.assertEqual(len(self._waiting_alerts()[self.support_1.partner_id]), 1)

    def test_forward_to_a_busy_group_tells_its_members(self):
        self._online(self.support_1, self.sales_1)
        self.external_livechat.max_sessions_per_operator = 1
        ann = self._get_session(self.external_livechat, "Ann")
        self.assertHeldBy(ann, self.support_1, self.group_support)
        busy = self._get_session(self.external_livechat, "Bea")
        self.assertWaiting(busy, self.group_support, 1)
        self.env["livechat.routing"]._hand_over(busy.sudo(), "assign", self.group_sales, self.sales_1)
        before = self._waiting_alerts()
        self._rpc(self.support_1, "discuss.channel", "action_livechat_forward", [ann.id], self.group_sales.id)
        self.assertEqual(ann.livechat_routing_state, "queued")
        after = self._waiting_alerts()
        self.assertEqual(
            [p["message"] for p in after.get(self.sales_1.partner_id, [])],
            [p["message"] for p in before.get(self.sales_1.partner_id, [])]
            + ["Waiting: Ann in Sales Department (External Live Chat)"],
        )
        self.assertNotIn(self.sales_2.partner_id, after, "Silas is away")

    def test_supervisors_told_past_the_answer_target_once(self):
        self.external_livechat.answer_target_minutes = 5
        self._offline(self.support_1, self.support_2)
        bob = self._get_session(self.external_livechat, "Bob")
        self.assertEqual(bob.livechat_routing_state, "queued")
        Timers = self.env["livechat.timers"]
        Timers._cron_livechat_timers(auto_commit=False)
        self.assertFalse(self._waiting_alerts(), "within the target")

        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE discuss_channel SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(minutes=6), bob.id),
        )
        self.env.invalidate_all()
        Timers._cron_livechat_timers(auto_commit=False)
        Timers._cron_livechat_timers(auto_commit=False)
        self.assertEqual(
            self._waiting_alerts(),
            {
                self.ext_supervisor.partner_id: [
                    {
                        "id": bob.id,
                        "kind": "target",
                        "title": "Past the answer target",
                        "message": "Bob has waited 6 min in General Support",
                    }
                ]
            },
            "once, to the supervisors of the external live chat only",
        )
        self.assertTrue(bob.livechat_target_alert_date)

    def test_nobody_silences_an_alert(self):
        bob = self._queued_session(self.external_livechat, "Bob")
        with self.assertRaises(AccessError):
            bob.with_user(self.ext_supervisor).write({"livechat_target_alert_date": fields.Datetime.now()})


@tagged("post_install", "-at_install")
class TestWaitingNotificationTour(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """An operator whose Odoo is not in focus hears of the customers who wait in their group."""

    def test_desktop_notification_then_odoo_notification_with_take(self):
        self.external_livechat.write({"name": "Web Shop Live Chat", "routing_mode": "manual"})
        self._online(self.support_1)
        self._wake_websockets_after("discuss.channel", "_livechat_tell_waiting")
        livechat = self.external_livechat

        def livechat_groups_test_visitor_asks(channels, name):
            """A visitor asks, as the website's get_session does (the test's browser is the
            operator's: each of its requests carries the test's cookie, and the operator's
            session)."""
            vals = livechat.sudo()._get_livechat_discuss_channel_vals(name)
            channels.env["discuss.channel"].sudo().create(vals)

        Channel = self.registry["im_livechat.channel"]
        Channel.livechat_groups_test_visitor_asks = livechat_groups_test_visitor_asks
        self.addCleanup(delattr, Channel, "livechat_groups_test_visitor_asks")
        self.start_tour("/odoo/discuss", "livechat_groups_waiting_notification", login=self.support_1.login)
        sessions = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.external_livechat.id)]
        )
        nina = sessions.filtered(lambda session: session.livechat_visitor_name == "Nina")
        omar = sessions.filtered(lambda session: session.livechat_visitor_name == "Omar")
        self.assertEqual(nina.livechat_routing_state, "queued")
        self.assertHeldBy(omar, self.support_1, self.group_support)
