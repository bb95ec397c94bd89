from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoData(TransactionCase):
    """The reference scenario ships as demo data."""

    def test_both_livechats(self):
        ref = self.env.ref
        external = ref("livechat_groups.channel_external")
        internal = ref("livechat_groups.channel_internal")
        self.assertEqual(external.audience, "external")
        self.assertEqual(external.entry_group_ids.mapped("name"), ["General Support"])
        self.assertEqual(
            sorted(external.specialist_group_ids.mapped("name")), ["Sales Department", "Tech Support"]
        )
        self.assertEqual(external.supervisor_group_ids.mapped("name"), ["External Supervisors"])
        self.assertEqual(internal.audience, "internal")
        self.assertEqual(internal.requester_group_ids.mapped("name"), ["All Employees"])
        self.assertEqual(internal.entry_group_ids.mapped("name"), ["General Helpdesk"])
        self.assertEqual(
            sorted(internal.specialist_group_ids.mapped("name")), ["Accounting Department", "HR Department"]
        )
        self.assertEqual(internal.supervisor_group_ids.mapped("name"), ["Internal Supervisors"])
        for channel in external | internal:
            for group in channel._operator_group_ids():
                self.assertGreaterEqual(len(group.member_ids), 2, group.name)
            for group in channel.supervisor_group_ids:
                self.assertGreaterEqual(len(group.member_ids), 1, group.name)
        self.assertIn(ref("livechat_groups.user_employee"), internal.requester_group_ids.member_ids)

    def test_supervision_board(self):
        """The External Supervisors' board has something to show: two visitors wait, one of
        them too long, and gary answers a third."""
        ref = self.env.ref
        elena = ref("livechat_groups.user_ext_supervisor")
        board = self.env["discuss.channel"].with_user(elena).search([("livechat_supervised", "=", True)])
        marc, julia, noah = (ref(f"livechat_groups.session_{name}") for name in ("marc", "julia", "noah"))
        self.assertLessEqual(marc | julia | noah, board)
        self.assertEqual((marc | julia).mapped("livechat_routing_state"), ["queued", "queued"])
        self.assertTrue(marc.with_user(elena).livechat_board_overdue)
        self.assertFalse(julia.with_user(elena).livechat_board_overdue)
        self.assertEqual(marc.with_user(elena).livechat_last_message, "My order #4512 has not arrived yet.")
        self.assertEqual(noah.livechat_operator_user_id, ref("livechat_groups.user_support_1"))
        self.assertEqual(noah.livechat_transfer_ids.mapped("kind"), ["route", "assign"])

    def test_whatsapp_customer_has_an_earlier_website_session(self):
        """The demo's WhatsApp customer chatted with gary on the website, and rated it: gary
        reads it in her history, and gets her first when she writes on WhatsApp."""
        ref = self.env.ref
        carmen = ref("livechat_groups.partner_whatsapp_customer")
        gary = ref("livechat_groups.user_support_1")
        website = ref("livechat_groups.session_carmen_website")
        self.assertEqual(
            (website.livechat_medium, website.livechat_routing_state, website.livechat_operator_user_id),
            ("website", "closed", gary),
        )
        self.assertEqual(website.livechat_requester_id, carmen)
        self.assertEqual(website.rating_last_value, 5)
        self.assertEqual(
            self.env["livechat.routing"]._previous_operator(ref("livechat_groups.channel_external"), carmen),
            gary,
        )
        self.assertIn(website, self.env["discuss.channel"].with_user(gary).search([("id", "=", website.id)]))
