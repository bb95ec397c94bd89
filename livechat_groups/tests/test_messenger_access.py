from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import LivechatGroupsCase


@tagged("post_install", "-at_install")
class TestMessengerAccess(LivechatGroupsCase):
    """Only Live Chat administrators configure messengers and read their secrets."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.messenger = cls.env["livechat.messenger"].create(
            {
                "name": "WhatsApp",
                "livechat_channel_id": cls.external_livechat.id,
                "access_token": "token-123",
                "app_secret": "secret-456",
                "phone_number_id": "100",
            }
        )

    def test_admin_configures_and_reads_secrets(self):
        messenger = self.messenger.with_user(self.admin)
        self.assertEqual(messenger.app_secret, "secret-456")
        self.assertIn(f"/livechat_groups/messenger/{messenger.webhook_token}", messenger.webhook_url)
        self.assertGreater(len(messenger.webhook_token), 20, "unguessable")
        messenger.name = "WhatsApp Sales"
        self.assertEqual(self.external_livechat.with_user(self.admin).messenger_count, 1)

    def test_others_neither_read_secrets_nor_write(self):
        for user in (self.support_1, self.ext_supervisor, self.livechat_user):
            messenger = self.messenger.with_user(user)
            self.assertEqual(messenger.name, "WhatsApp", "operators read the account's name")
            data = messenger.fields_get()
            for secret in ("access_token", "app_secret", "verify_token", "webhook_secret", "webhook_url"):
                self.assertNotIn(secret, data, f"{secret} is not even described to {user.name}")
            with self.assertRaises(AccessError):
                messenger.read(["app_secret"])
            with self.assertRaises(AccessError):
                messenger.write({"name": "Mine"})
            with self.assertRaises(AccessError):
                self.env["livechat.messenger"].with_user(user).create(
                    {"name": "Rogue", "livechat_channel_id": self.external_livechat.id}
                )
        with self.assertRaises(AccessError):
            self.messenger.with_user(self.employee).read(["name"])
        # testing the connection uses the account's credentials: the administrators' to do
        for user in (self.support_1, self.ext_supervisor):
            with self.assertRaises(AccessError):
                self.messenger.with_user(user).action_test_connection()

    def test_operators_cannot_relink_a_session(self):
        session = self.env["discuss.channel"].create(
            {
                "name": "S",
                "channel_type": "livechat",
                "livechat_channel_id": self.external_livechat.id,
                "livechat_operator_id": self.support_1.partner_id.id,
            }
        )
        with self.assertRaises(AccessError):
            session.with_user(self.support_1).write({"livechat_messenger_chat_id": "123"})
