from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestMessengerDemo(TransactionCase):
    def test_demo_whatsapp_account(self):
        """The external live chat of the demo has a WhatsApp account that talks to the local
        stand-in (make standin), with a template."""
        messenger = self.env.ref("livechat_groups.messenger_whatsapp")
        self.assertEqual(messenger.livechat_channel_id, self.env.ref("livechat_groups.channel_external"))
        self.assertEqual(messenger.api_base_url, "http://127.0.0.1:8090/v21.0")
        self.assertTrue(messenger.webhook_url.endswith("/livechat_groups/messenger/demo-whatsapp"))
        self.assertEqual(messenger.template_ids.mapped("name"), ["follow_up"])
        self.assertEqual(self.env.ref("livechat_groups.channel_external").messenger_count, 1)

    def test_demo_whatsapp_customer_rated_an_earlier_session(self):
        """The reference scenario's WhatsApp customer rated her earlier WhatsApp session, with a
        comment; it counts in the Group Figures."""
        session = self.env.ref("livechat_groups.session_carmen_whatsapp")
        customer = self.env.ref("livechat_groups.partner_whatsapp_customer")
        self.assertEqual(session.livechat_messenger_partner_id, customer)
        self.assertEqual(session.livechat_routing_state, "closed")
        rating = session.rating_ids
        self.assertEqual((rating.rating, rating.feedback), (5, "Quick and friendly, thank you!"))
        self.assertEqual(rating.partner_id, customer)
        self.assertEqual(rating.rated_partner_id, self.env.ref("livechat_groups.user_support_1").partner_id)
        row = self.env["livechat.session.report"].search([("session_id", "=", session.id)])
        self.assertEqual((row.medium, row.satisfaction), ("whatsapp", 100.0))
