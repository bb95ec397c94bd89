from odoo.tests import tagged

from .messenger_common import LivechatMessengerCase


@tagged("post_install", "-at_install")
class TestMessengerTelegram(LivechatMessengerCase):
    """A Telegram customer, known by their chat id, through the real webhook route."""

    provider = "telegram"

    def _update(self, text, update_id=None, chat_id=4242, **kwargs):
        return self._post(
            self.standin.telegram_update(chat_id, first_name="Tom", text=text, update_id=update_id, **kwargs)
        )

    def test_secret_header_and_update_ids(self):
        self._online(self.support_1)
        update = self.standin.telegram_update(4242, first_name="Tom", text="Hi", update_id=1001)
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
            self.assertEqual(self._post(update, headers=headers).status_code, 403)
        self.assertFalse(self._session_of("4242"), "refused: nothing written")
        self.assertEqual(self._post(update).status_code, 200)
        self.assertEqual(self._post(update).status_code, 200, "a repeat is acknowledged...")
        self._update("Second", update_id=1002)
        session = self._session_of("4242")
        self.assertEqual(self._texts(session)[-2:], ["Hi", "Second"], "...and applied once")
        self.assertEqual(session.livechat_medium, "telegram")
        self.assertEqual(session.livechat_messenger_partner_id.name, "Tom")
        self.assertEqual(session.livechat_customer_number, "4242")

    def test_test_connection_registers_the_webhook(self):
        # Telegram posts to HTTPS only (see test_messenger_requests for an http:// address)
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com")
        self.messenger.action_test_connection()
        (request,) = [r for r in self.standin.requests if r.path.endswith("/setWebhook")]
        self.assertEqual(request.json["secret_token"], self.messenger.webhook_secret)
        self.assertTrue(request.json["url"].endswith(self.webhook_path))

    def test_reply_and_media(self):
        self._online(self.support_1)
        photo = self.standin.add_media(b"\xff\xd8 jpeg", "image/jpeg")
        self._update("Look", update_id=2001, media=("photo", photo))
        session = self._session_of("4242")
        message = self.env["mail.message"].search(
            [("model", "=", "discuss.channel"), ("res_id", "=", session.id)], order="id desc", limit=1
        )
        self.assertEqual(message.attachment_ids.raw, b"\xff\xd8 jpeg", "downloaded with getFile")
        session.with_user(self.support_1).message_post(
            body="Thanks Tom", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._send()
        (request,) = [r for r in self.standin.requests if r.path.endswith("/sendMessage")]
        self.assertEqual(request.path, f"/bot{self.standin.token}/sendMessage")
        self.assertEqual(request.json, {"chat_id": "4242", "text": "Sonia Support: Thanks Tom"})
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        self.assertEqual(row.state, "sent", "Telegram has no delivery receipts: sent is as far as it goes")
        # a returning customer is the same contact
        session.with_user(self.ext_supervisor).action_livechat_close()
        self._update("Back again", update_id=2002)
        new = self._session_of("4242") - session
        self.assertEqual(new.livechat_messenger_partner_id, session.livechat_messenger_partner_id)
