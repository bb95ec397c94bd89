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

    def setUp(self):
        super().setUp()
        self.env.cr.precommit.run()
        # what the demo's waiting sessions sent at install is not this test's
        self.bus_start = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0

    def _waiting_alerts(self):
        """``{record: [payload]}`` of the bus's "session waiting" notifications sent so far, by
        the record of the bus channel they went to (a group, or a supervisor's partner)."""
        self.env.cr.precommit.run()  # the bus writes its rows before the commit
        sent = {}
        for row in self.env["bus.bus"].sudo().search([("id", ">", self.bus_start)], order="id"):
            message = json.loads(row.message)
            if message["type"] == "livechat_groups/session_waiting":
                _db, model, record_id, *_sub = json.loads(row.channel)
                sent.setdefault(self.env[model].browse(record_id), []).append(message["payload"])
        return sent

    def _target_alerts(self):
        """:meth:`_waiting_alerts` of sessions past their answer target."""
        alerts = {
            record: [payload for payload in payloads if payload["kind"] == "target"]
            for record, payloads in self._waiting_alerts().items()
        }
        return {record: payloads for record, payloads in alerts.items() if payloads}

    def test_available_members_of_the_group_told_once(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["livechat_groups"], ["fr_FR"])
        self.group_support.update_field_translations("name", {"fr_FR": "Support général"})
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1, self.tech_1, self.sales_1, self.helpdesk_1)
        self._offline(self.support_2)
        ann = self._get_session(self.external_livechat, "Ann")
        self.assertHeldBy(ann, self.support_1, self.group_support)
        self.assertEqual(self._waiting_alerts(), {}, "nobody waits")

        bob = self._get_session(self.external_livechat, "Bob")
        self.assertWaiting(bob, self.group_support, 1)
        alerts = self._waiting_alerts()
        self.assertEqual(list(alerts), [self.group_support], "one notification, to General Support only")
        [payload] = alerts[self.group_support]
        self.assertEqual((payload["id"], payload["kind"], payload["customer_ids"]), (bob.id, "waiting", []))
        self.assertEqual(
            payload["texts"]["en_US"],
            {
                "title": "A customer is waiting",
                "message": "Waiting: Bob in General Support (External Live Chat)",
            },
        )
        self.assertIn(
            "dans Support général",
            payload["texts"]["fr_FR"]["message"],
            "each member reads it in their language",
        )
        # the queue is served again, Bob still waits: nobody is told twice
        self.env["livechat.routing"]._serve_queues(self.group_support)
        self._visitor_says(bob, "Anyone there?")
        self.assertEqual(len(self._waiting_alerts()[self.group_support]), 1)

    def test_one_notification_whatever_the_size_of_the_group(self):
        """The members of the group hear of a waiting session by one bus row on the group's
        channel, not one per member: a queue in a group of a thousand writes what it writes
        in a group of two."""
        self._offline(self.support_1, self.support_2)
        self.env.cr.precommit.run()
        before = self.env["bus.bus"].sudo().search_count([])
        self._get_session(self.external_livechat, "Bob")
        self.env.cr.precommit.run()
        rows = self.env["bus.bus"].sudo().search([], order="id")[before:]
        waiting = [row for row in rows if '"livechat_groups/session_waiting"' in row.message]
        self.assertEqual(len(waiting), 1)
        self.assertEqual(
            json.loads(waiting[0].channel), [self.env.cr.dbname, "livechat.group", self.group_support.id]
        )

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
            [p["texts"]["en_US"]["message"] for p in after.get(self.group_sales, [])],
            [p["texts"]["en_US"]["message"] for p in before.get(self.group_sales, [])]
            + ["Waiting: Ann in Sales Department (External Live Chat)"],
        )

    def test_the_employee_who_asked_is_not_told(self):
        """The notification names whom the session is for: an employee who asks and is also a
        member of the group (an operator asking a colleague) is not told of their own request
        by their client."""
        self._offline(*self.group_helpdesk.member_ids)
        requester = self.employee
        session = self._ask_internal(requester)
        self.assertEqual(session.livechat_routing_state, "queued")
        [payload] = self._waiting_alerts()[session.livechat_group_id]
        self.assertEqual(payload["customer_ids"], requester.partner_id.ids)

    def test_supervisors_told_past_the_answer_target_once(self):
        self.external_livechat.answer_target_minutes = 5
        self._offline(self.support_1, self.support_2)
        bob = self._get_session(self.external_livechat, "Bob")
        self.assertEqual(bob.livechat_routing_state, "queued")
        Timers = self.env["livechat.timers"]
        Timers._cron_livechat_timers(auto_commit=False)
        self.assertFalse(self._target_alerts(), "within the target")

        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE discuss_channel SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(minutes=6), bob.id),
        )
        self.env.invalidate_all()
        Timers._cron_livechat_timers(auto_commit=False)
        Timers._cron_livechat_timers(auto_commit=False)
        self.assertEqual(
            self._target_alerts(),
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
