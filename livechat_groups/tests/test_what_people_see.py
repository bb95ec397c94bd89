from datetime import timedelta

from odoo.tests import tagged

from .common import LivechatGroupsRoutingMixin, LivechatGroupsRpcMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestWhatPeopleSee(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """Each role's screens in Chromium, asserting the names and the texts a person reads."""

    def test_operator_takes_a_waiting_session_from_discuss(self):
        """A Take button in Discuss, and the session named after the visitor."""
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        marc = self._get_session(self.external_livechat, "Marc")
        self._visitor_says(marc, "My order has not arrived")
        self.assertEqual(marc.livechat_routing_state, "queued")
        self.start_tour(
            "/odoo/discuss", "livechat_groups_operator_takes_from_discuss", login=self.support_1.login
        )
        self.assertEqual(marc.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(marc.livechat_transfer_ids[-1].kind, "take")

    def test_operator_opens_a_waiting_session_from_the_sessions(self):
        """Live Chat > Channels > sessions opens a waiting session without an access
        error; it can be taken from its form."""
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        marc = self._get_session(self.external_livechat, "Marc")
        self.start_tour(
            f"/odoo/action-im_livechat.discuss_channel_action_from_livechat_channel?active_id={self.external_livechat.id}",
            "livechat_groups_operator_takes_from_sessions",
            login=self.support_1.login,
        )
        self.assertEqual(marc.livechat_operator_id, self.support_1.partner_id)

    def test_employee_reads_the_group_then_the_operator(self):
        """The employee's chat is named after the group while they wait, then after
        the operator; never OdooBot."""
        self.internal_livechat.routing_mode = "manual"
        self.internal_livechat.name = "HR and Accounting Desk"  # the demo data has an "Internal Live Chat"
        self.start_tour(
            "/odoo/discuss", "livechat_groups_employee_waits_for_helpdesk", login=self.employee.login
        )
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session._livechat_display_values()["livechat_group_name"], "General Helpdesk")
        session.with_user(self.helpdesk_1).action_livechat_take()
        self.assertEqual(session._livechat_display_values()["livechat_operator_name"], "Hugo Helpdesk")
        self.start_tour(
            self._discuss(session), "livechat_groups_employee_reads_operator_name", login=self.employee.login
        )

    def test_forward_says_where_the_session_went(self):
        """The forward's confirmation, the group's description, the offline
        expert's warning, and the note marked as internal for the specialist."""
        self.group_sales.description = "Prices and quotations"
        self._online(self.support_1, self.sales_1)
        self._offline(self.sales_2)
        ann = self._get_session(self.external_livechat, "Ann")
        self._visitor_says(ann, "I need a quote")
        bob = self._get_session(self.external_livechat, "Bob")
        self._visitor_says(bob, "Hello?")
        self.assertEqual(bob.livechat_operator_id, self.support_1.partner_id)
        self.start_tour(self._discuss(ann), "livechat_groups_forward_says_where", login=self.support_1.login)
        self.assertEqual(ann.livechat_operator_id, self.sales_1.partner_id)
        self.start_tour(self._discuss(ann), "livechat_groups_specialist_sees_note", login=self.sales_1.login)

    def test_board_says_what_happened(self):
        """The board's columns, the Assign confirmation with its warning, and
        no 'Stay in the conversation' for a supervisor who is not in it."""
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        ann = self._get_session(self.external_livechat, "Ann")
        ann.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        bob = self._get_session(self.external_livechat, "Bob")
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_supervisor_forward_dialog",
            login=self.ext_supervisor.login,
        )
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_says_what_happened",
            login=self.ext_supervisor.login,
        )
        self.assertEqual(bob.livechat_operator_id, self.sales_2.partner_id)

    def test_figures_read_plainly(self):
        """The figures' names say what they count; durations read mm:ss."""
        ann = self._get_session(self.external_livechat, "Ann")
        self._online(self.support_1)
        ann.with_user(self.ext_supervisor).action_livechat_assign(self.support_1.id)
        assign = ann.livechat_transfer_ids.filtered(lambda t: t.kind == "assign")
        self.env.flush_all()
        # the operator got the session two and a half minutes after the request
        self.env.cr.execute(
            "UPDATE livechat_session_transfer SET create_date = %s WHERE id = %s",
            (ann.create_date + timedelta(minutes=2, seconds=30), assign.id),
        )
        self.start_tour(
            "/odoo/livechat-group-figures",
            "livechat_groups_figures_read_plainly",
            login=self.ext_supervisor.login,
        )

    def test_no_meaningless_controls_on_an_internal_live_chat(self):
        """No Join, Widget or Channel Rules on a grouped internal live chat."""
        self.start_tour(
            f"/odoo/livechat/{self.internal_livechat.id}",
            "livechat_groups_no_meaningless_controls",
            login=self.admin.login,
        )
