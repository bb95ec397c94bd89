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
