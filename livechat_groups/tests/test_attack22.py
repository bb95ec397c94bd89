"""The attack on issue 22's siblings (commit c6539e3), by a reviewer who did not write the fix:
each test states what must hold, and failed on c6539e3 (the hole it names is closed since)."""

from datetime import timedelta

from odoo import fields
from odoo.tests import freeze_time, tagged

from .common import LivechatGroupsRoutingCase


@tagged("post_install", "-at_install")
class TestAttack22(LivechatGroupsRoutingCase):
    """Siblings of the holes closed for issue 22: a member's own writes of the timers' fields, a
    presence set online by hand, other users' dialogs, another company's template, the staff's
    dialogs and reasons read by the customer."""

    def _answer_ok(self, answer):
        return "error" not in answer

    # ------------------------------------------------------------------
    # A. the inactivity timer reads last_interest_dt, which members write directly
    # ------------------------------------------------------------------

    def test_a_requester_cannot_keep_their_session_alive_by_writing_its_time(self):
        """c6539e3 made an empty comment no sign of life; but the employee who asked (a member
        of their session, with stock's write right on discuss.channel) writes the field itself:
        the session is never closed by the inactivity timer and holds the operator's capacity."""
        self.internal_livechat.inactivity_close_minutes = 10
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        self.assertEqual(session.livechat_routing_state, "assigned")
        answer = self._rpc_answer(
            self.employee,
            "discuss.channel",
            "write",
            session.ids,
            {"last_interest_dt": "2099-01-01 00:00:00"},
        )
        self.env.invalidate_all()
        self.assertFalse(
            self._answer_ok(answer),
            f"the requester wrote last_interest_dt = {session.last_interest_dt} over JSON-RPC",
        )

    def test_a_requester_write_defeats_the_inactivity_timer(self):
        """The consequence of the write above: an hour of silence later the session is still open."""
        self.internal_livechat.inactivity_close_minutes = 10
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        self._rpc_answer(
            self.employee,
            "discuss.channel",
            "write",
            session.ids,
            {"last_interest_dt": "2099-01-01 00:00:00"},
        )
        later = fields.Datetime.now() + timedelta(hours=1)
        with freeze_time(later):
            self.env.cr._now = later
            self.env["livechat.timers"]._cron_livechat_timers()
        self.env.invalidate_all()
        self.assertEqual(session.livechat_routing_state, "closed", "an hour of silence closes the session")

    # ------------------------------------------------------------------
    # B. presence: a status needs no time to come to stay "online"
    # ------------------------------------------------------------------

    def test_b_an_operator_cannot_pin_themselves_online_over_rpc(self):
        """c6539e3 refuses a presence time to come; the away timer and the routing read the
        status, which a plain RPC write sets to "online" with a last poll a day old."""
        self._online(self.support_1)
        presence = self.env["bus.presence"].search([("user_id", "=", self.support_1.id)])
        presence.status = "offline"
        day_ago = fields.Datetime.to_string(fields.Datetime.now() - timedelta(days=1))
        answer = self._rpc_answer(
            self.support_1, "bus.presence", "write", presence.ids, {"status": "online", "last_poll": day_ago}
        )
        self.env.invalidate_all()
        self.assertFalse(
            self._answer_ok(answer),
            f"status {presence.status} with a last poll of {presence.last_poll}: im_status "
            f"{self.support_1.im_status}, routed to and never away",
        )

    # ------------------------------------------------------------------
    # C. the dialogs of other users are readable (and writable) by any Live Chat user
    # ------------------------------------------------------------------

    def test_c_a_forward_dialog_is_its_authors_only(self):
        """An operator's Forward dialog holds their note (meant for the operators of that
        session), the session's name (the visitor's), the live chat's members and their load.
        An operator of the internal live chat reads it with search_read, and rewrites it."""
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Nadia Secret")
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        self._rpc(
            self.support_1,
            "livechat.session.forward",
            "web_save",
            [],
            {"session_id": session.id, "group_id": self.group_sales.id, "note": "card 4242 charged twice"},
            specification={"id": {}},
        )
        read = self._rpc_answer(
            self.accounting_1,
            "livechat.session.forward",
            "search_read",
            [],
            ["session_id", "note", "livechat_channel_id", "member_overview"],
        )
        self.assertNotIn("4242", str(read), "another live chat's operator reads the note")
        self.assertNotIn("Nadia Secret", str(read), "and the visitor's name")
        dialog = self.env["livechat.session.forward"].search([("create_uid", "=", self.support_1.id)])
        answer = self._rpc_answer(
            self.int_supervisor, "livechat.session.forward", "write", dialog.ids, {"note": "rewritten"}
        )
        self.assertFalse(self._answer_ok(answer), "another live chat's supervisor rewrites the dialog")

    # ------------------------------------------------------------------
    # D. the template dialog reads a template of another company
    # ------------------------------------------------------------------

    def test_d_the_template_dialog_reads_no_template_of_another_company(self):
        """livechat.messenger.template.send's ``body`` is related (read as superuser), and
        template_id is checked nowhere: an operator of company 1 reads a template of company 2,
        which the multi-company rule hides from them."""
        company_2 = self.env["res.company"].create({"name": "Second Company"})
        messenger = (
            self.env["livechat.messenger"]
            .sudo()
            .create(
                {
                    "name": "Company 2 WhatsApp",
                    "provider": "whatsapp",
                    "livechat_channel_id": self.external_livechat.id,
                    "access_token": "t",
                    "app_secret": "s",
                    "phone_number_id": "999",
                }
            )
        )
        template = self.env["livechat.messenger.template"].create(
            {"messenger_id": messenger.id, "name": "co2_offer", "body": "Company 2 confidential offer"}
        )
        messenger.company_id = company_2
        self.assertFalse(template.with_user(self.support_1).has_access("read"), "hidden from the operator")
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        answer = self._rpc_answer(
            self.support_1,
            "livechat.messenger.template.send",
            "onchange",
            [],
            {"session_id": session.id, "template_id": template.id},
            ["template_id"],
            {"session_id": {}, "template_id": {"fields": {"display_name": {}}}, "body": {}},
        )
        self.assertNotIn("confidential", str(answer), "the onchange answers the hidden template's body")
        answer = self._rpc_answer(
            self.support_1,
            "livechat.messenger.template.send",
            "web_save",
            [],
            {"session_id": session.id, "template_id": template.id},
            specification={"body": {}, "template_id": {"fields": {"display_name": {}}}},
        )
        self.assertNotIn("confidential", str(answer), "create + read answer it too")

    # ------------------------------------------------------------------
    # E. a requester who is a Live Chat user elsewhere reads the internal desk's staff and load
    # ------------------------------------------------------------------

    def test_e_a_requester_reads_no_operator_table_of_the_desk_they_asked(self):
        """The dialogs check only that the session is readable; the employee who asked reads
        their own session. An operator of the external live chat asks the internal one, then
        opens the Assign dialog on their request: every operator of the internal live chat,
        whether available, and how many sessions each holds (hole 11, through the requester)."""
        self._offline(self.helpdesk_1)
        session = self._ask_internal(self.tech_1)
        self.assertEqual(session.livechat_requester_id, self.tech_1.partner_id)
        answer = self._rpc_answer(
            self.tech_1,
            "livechat.session.assign",
            "onchange",
            [],
            {"session_id": session.id},
            ["session_id"],
            {"session_id": {}, "operator_overview": {}, "operator_ids": {"fields": {"display_name": {}}}},
        )
        for name in ("Hugo Helpdesk", "Ada Accounting", "Hector Hr"):
            self.assertNotIn(name, str(answer), "the requester reads the desk's operators and load")

    # ------------------------------------------------------------------
    # F. the employee who asked reads the staff's routing reasons on their own session
    # ------------------------------------------------------------------

    def test_f_a_requester_reads_no_routing_reason(self):
        """``livechat_routing_reason`` is a field of the session, which its customer reads
        over RPC: they are told "another operator will answer you", and read "Hugo Helpdesk
        did not answer within 1 minutes" and the desk's load ("least busy of 1 available ...:
        open sessions 0")."""
        self.internal_livechat.answer_timeout_minutes = 1
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        later = fields.Datetime.now() + timedelta(minutes=2)
        with freeze_time(later):
            self.env.cr._now = later
            self.env["livechat.timers"]._cron_livechat_timers()
        self.env.invalidate_all()
        self.assertIn("did not answer", session.livechat_routing_reason)
        answer = self._rpc_answer(
            self.employee, "discuss.channel", "read", session.ids, ["livechat_routing_reason"]
        )
        self.assertNotIn(
            "Hugo Helpdesk did not answer", str(answer), "the requester reads the staff's reason"
        )
