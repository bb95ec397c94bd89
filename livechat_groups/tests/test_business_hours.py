from datetime import datetime, timedelta

from odoo import Command
from odoo.tests import tagged

from .common import LivechatGroupsCase, ManyMembersMixin
from .test_timers import SECOND, LivechatTimersMixin

MONDAY_OPENING = datetime(2026, 3, 2, 8, 0, 0)  # 09:00 in Brussels (UTC+1 in March)


@tagged("post_install", "-at_install")
class TestBusinessHours(LivechatTimersMixin, LivechatGroupsCase):
    """A group answers within its calendar's hours, in the calendar's time zone, never on a
    public holiday; outside them it is skipped, and visitors learn when it opens."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Brussels Desk",
                "tz": "Europe/Brussels",
                "attendance_ids": [Command.clear()]
                + [
                    Command.create(
                        {"name": f"Day {day}", "dayofweek": str(day), "hour_from": 9, "hour_to": 18}
                    )
                    for day in range(5)
                ],
            }
        )
        # Tuesday 3 March is a public holiday in Brussels: time off without a resource
        cls.env["resource.calendar.leaves"].create(
            {
                "name": "Public holiday",
                "calendar_id": cls.calendar.id,
                "date_from": datetime(2026, 3, 2, 23, 0, 0),
                "date_to": datetime(2026, 3, 3, 22, 59, 59),
            }
        )
        (cls.group_support | cls.group_helpdesk | cls.group_tech).resource_calendar_id = cls.calendar

    def setUp(self):
        super().setUp()
        self._freeze(MONDAY_OPENING - SECOND)
        self._online(self.support_1, self.support_2, self.helpdesk_1, self.tech_1)

    def test_closed_one_second_before_opening(self):
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(
            session.livechat_transfer_ids.reason,
            "nobody available in General Support: waits in the queue of General Support; 2 outside business hours",
        )
        # the widget's welcome said it: the session does not say it again (issue 24, item 5)
        self.assertEqual(
            self.external_livechat.get_livechat_info()["options"]["default_message"],
            "We are closed right now: we answer again from Monday 09:00 (Europe/Brussels). Leave your "
            "question here, it waits for us.",
        )
        self.assertFalse([text for text in self._notices(session) if "closed" in text])
        # the desk opens: the queue job serves it
        self._at(MONDAY_OPENING + SECOND)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(session.livechat_routing_state, "assigned")

    def test_open_one_second_after_opening(self):
        self._at(MONDAY_OPENING + SECOND)
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_routing_state, "assigned")
        self.assertNotIn("closed", " ".join(self._notices(session)))

    def test_requester_reads_the_opening_in_their_time_zone(self):
        self.employee.tz = "America/New_York"
        self.internal_livechat.with_user(self.employee).livechat_start_session()
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertIn("we answer again from Monday 03:00.", self._notices(session)[-1])

    def test_public_holiday_is_closed_all_day(self):
        self._at(datetime(2026, 3, 3, 10, 0, 0))  # Tuesday 11:00 in Brussels, a holiday
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertIn(
            "we answer again from Wednesday 09:00 (Europe/Brussels)",
            self.external_livechat.get_livechat_info()["options"]["default_message"],
        )

    def test_overflow_to_an_open_group(self):
        night = self.env["livechat.group"].create(
            {"name": "Night Shift", "sequence": 9, "user_ids": [Command.set(self.sales_1.ids)]}
        )  # no calendar: always open
        self.external_livechat.entry_group_ids |= night
        self._online(self.sales_1)
        session = self._new_session("Ann")
        self.assertEqual(session.livechat_operator_id, self.sales_1.partner_id)
        self.assertEqual(
            session.livechat_routing_reason,
            "least busy of 1 available in Night Shift: open sessions 0; 2 outside business hours",
        )

    def test_website_button_says_when(self):
        info = self.external_livechat.get_livechat_info()
        self.assertTrue(info["available"])
        self.assertEqual(info["options"]["button_text"], "We answer from Monday 09:00 (Europe/Brussels)")
        self._at(MONDAY_OPENING)
        info = self.external_livechat.get_livechat_info()
        self.assertEqual(info["options"]["button_text"], self.external_livechat.button_text)

    def test_forward_dialog_says_the_group_is_closed(self):
        self._at(MONDAY_OPENING - timedelta(hours=2))
        self.group_support.resource_calendar_id = False
        session = self._new_session("Ann")
        operator = session.livechat_operator_id.user_ids
        operator.tz = "Europe/Brussels"
        dialog = (
            self.env["livechat.session.forward"]
            .with_user(operator)
            .create({"session_id": session.id, "group_id": self.group_tech.id})
        )
        self.assertEqual(
            dialog.group_closed_notice,
            "Tech Support is outside its business hours: it answers again from Monday 09:00. Until "
            "then the session waits in its queue.",
        )


@tagged("post_install", "-at_install")
class TestBusinessHoursManyMembers(ManyMembersMixin, TestBusinessHours):
    pass
