import json
from unittest.mock import patch

from odoo.tests import BaseCase, tagged

from odoo.addons.livechat_groups.messengers import MessengerError, common, telegram, whatsapp
from odoo.addons.livechat_groups_tools.standin import StandIn, whatsapp_signature


@tagged("post_install", "-at_install")
class TestWhatsAppProtocol(BaseCase):
    """The WhatsApp protocol module on its own: no database."""

    def test_handshake(self):
        params = {"hub.mode": "subscribe", "hub.verify_token": "ours", "hub.challenge": "1158201444"}
        self.assertEqual(whatsapp.check_handshake(params, "ours"), "1158201444")
        self.assertIsNone(whatsapp.check_handshake(dict(params, **{"hub.verify_token": "theirs"}), "ours"))
        self.assertIsNone(whatsapp.check_handshake(dict(params, **{"hub.mode": "unsubscribe"}), "ours"))
        self.assertIsNone(whatsapp.check_handshake(params, ""), "no verify token configured: refused")

    def test_signature_over_raw_bytes(self):
        # Meta signs the escaped-unicode form it sends: re-encoding the JSON would not match
        raw = b'{"text":"Gr\\u00fc\\u00dfe"}'
        header = whatsapp_signature(raw, "secret")
        self.assertTrue(whatsapp.verify_signature(raw, {"X-Hub-Signature-256": header}, "secret"))
        reencoded = json.dumps(json.loads(raw), ensure_ascii=False).encode()
        self.assertFalse(whatsapp.verify_signature(reencoded, {"X-Hub-Signature-256": header}, "secret"))
        self.assertFalse(whatsapp.verify_signature(raw, {}, "secret"), "missing header")
        self.assertFalse(whatsapp.verify_signature(raw, {"X-Hub-Signature-256": header}, ""), "no secret")
        self.assertFalse(whatsapp.verify_signature(raw, {"X-Hub-Signature-256": header[7:]}, "secret"))

    def test_parse_messages_and_statuses(self):
        standin = StandIn("whatsapp")
        self.addCleanup(standin.server.server_close)
        payload = standin.whatsapp_payload(
            "16505551234",
            name="Carla",
            text="Hello",
            message_id="wamid.1",
            timestamp=1749416383,
            statuses=[standin.whatsapp_status("wamid.9", "failed", "16505551234", error_code=131047)],
        )
        messages, statuses = whatsapp.parse_webhook(payload, standin.phone_number_id)
        self.assertEqual(len(messages), 1)
        message = messages[0]
        self.assertEqual(
            (message.external_id, message.chat_id, message.name, message.text, message.phone),
            ("wamid.1", "16505551234", "Carla", "Hello", "+16505551234"),
        )
        self.assertEqual(str(message.date), "2025-06-08 20:59:43")
        self.assertEqual(
            (statuses[0].external_id, statuses[0].state, statuses[0].error_code),
            ("wamid.9", "failed", 131047),
        )
        with self.assertRaises(ValueError):
            whatsapp.parse_webhook({"object": "page"}, standin.phone_number_id)

    def test_unknown_kinds_left_out(self):
        """What WhatsApp adds one day is left out, and only it."""
        standin = StandIn("whatsapp")
        self.addCleanup(standin.server.server_close)
        base = {"from": "16505551234", "timestamp": "1749416383"}
        payload = standin.whatsapp_payload(
            "16505551234",
            messages=[
                dict(base, id="wamid.1", type="hologram", hologram={}),
                dict(
                    base,
                    id="wamid.2",
                    type="edit",
                    edit={"original_message_id": "wamid.0", "message": {"type": "hologram"}},
                ),
                dict(base, id="wamid.3", type="system", system={"type": "user_left_forever", "body": "?"}),
                dict(base, id="wamid.4", type="text", text={"body": "Kept"}),
            ],
            statuses=[standin.whatsapp_status("wamid.9", "played", "16505551234")],
        )
        messages, statuses = whatsapp.parse_webhook(payload, standin.phone_number_id)
        self.assertEqual([(message.external_id, message.text) for message in messages], [("wamid.4", "Kept")])
        self.assertEqual(statuses, [])

    def test_unreadable_answers_are_refusals(self):
        """Another system's answers are read as carefully as its webhooks: an answer that
        cannot be read is the provider's refusal, which the intake and the outbox handle."""

        class Answer:
            status_code = 200

            def __init__(self, body):
                self.body = body

            def json(self):
                if isinstance(self.body, Exception):
                    raise self.body
                return self.body

        api = whatsapp.WhatsAppApi("https://graph.invalid/v21.0", "token", "100")
        for body in (
            ["not", "an", "object"],
            {"url": ["x"]},
            {"file_size": "big"},
            {},
            ValueError("not JSON"),
        ):
            with (
                patch.object(whatsapp, "http_call", return_value=Answer(body)),
                self.assertRaises(MessengerError),
            ):
                api.download_media("m1", 1024)
        for body in ({"messages": [{"id": ["x"]}]}, ValueError("not JSON"), [1]):
            with patch.object(whatsapp, "http_call", return_value=Answer(body)):
                with self.assertRaises(MessengerError):
                    api.send({})
                with self.assertRaises(MessengerError):
                    api.upload_media(b"x", "image/png", "x.png")
        bot = telegram.TelegramApi("https://telegram.invalid", "token")
        for result in (["x"], {"file_path": ["x"]}, {"file_size": "big", "file_path": "a"}, {}):
            answer = Answer({"ok": True, "result": result})
            with patch.object(telegram, "http_call", return_value=answer), self.assertRaises(MessengerError):
                bot.download_file("f1", 1024)

    def test_requests_and_errors(self):
        self.assertEqual(
            whatsapp.text_message("16505551234", "Hi"),
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "text",
                "text": {"preview_url": False, "body": "Hi"},
            },
        )
        self.assertEqual(
            whatsapp.template_message("1", "follow_up", "en_US")["template"]["language"],
            {"policy": "deterministic", "code": "en_US"},
        )
        self.assertEqual(whatsapp.media_kind("image/png"), "image")
        self.assertEqual(whatsapp.media_kind("application/pdf"), "document")
        error = whatsapp.map_error(400, {"error": {"code": 131047, "message": "Re-engagement message"}})
        self.assertEqual((error.reason, error.transient), ("window_closed", False))
        self.assertTrue(whatsapp.map_error(503, None).transient)
        self.assertTrue(whatsapp.map_error(400, {"error": {"code": 130429}}).transient, "rate limit")
        self.assertEqual(whatsapp.map_error(401, {"error": {"code": 190}}).reason, "unauthorized")

    def test_rate_limits_wait_the_right_delay(self):
        for code, delay in ((130429, 2), (131056, 6)):
            error = whatsapp.map_error(400, {"error": {"code": code, "message": f"(#{code}) Rate limit hit"}})
            self.assertEqual(
                (error.reason, error.retry_after, error.transient), ("rate_limited", delay, True)
            )
        self.assertIsNone(whatsapp.map_error(503, {"error": {"code": 2}}).retry_after, "down, not a limit")

    def test_delivery_parts_one_per_conversation(self):
        standin = StandIn("whatsapp")
        self.addCleanup(standin.server.server_close)
        payload = standin.whatsapp_payload("16505551234", text="Hi", message_id="wamid.a")
        value = payload["entry"][0]["changes"][0]["value"]
        value["messages"].append(dict(value["messages"][0], id="wamid.b", **{"from": "16505559999"}))
        value["statuses"] = [
            {"id": "wamid.out", "status": "sent", "timestamp": "1749416383", "recipient_id": "16505551234"}
        ]
        messages, statuses = whatsapp.parse_webhook(payload, standin.phone_number_id)
        parts = common.delivery_parts(messages, statuses)
        self.assertEqual([chat for chat, _key in parts], ["16505551234", "16505559999", ""])
        self.assertEqual(parts, common.delivery_parts(messages, statuses), "a replay has the same keys")
        self.assertEqual(
            common.events_of_part(messages, statuses, "16505559999")[0][0].external_id, "wamid.b"
        )
        self.assertEqual(common.events_of_part(messages, statuses, ""), ([], statuses))
        # a later status of the same message is another delivery
        statuses[0].state = "read"
        self.assertNotEqual(parts[2], common.delivery_parts([], statuses)[0])


@tagged("post_install", "-at_install")
class TestTelegramProtocol(BaseCase):
    def test_secret_header(self):
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        self.assertTrue(telegram.verify_signature(b"{}", headers, "s3cret"))
        self.assertFalse(telegram.verify_signature(b"{}", headers, "other"))
        self.assertFalse(telegram.verify_signature(b"{}", {}, "s3cret"), "missing header")
        self.assertFalse(telegram.verify_signature(b"{}", headers, ""), "no secret configured: refused")

    def test_parse_update(self):
        standin = StandIn("telegram")
        self.addCleanup(standin.server.server_close)
        update = standin.telegram_update(4242, first_name="Tom", text="Hi", update_id=77, date=1749416383)
        (message,), statuses = telegram.parse_webhook(update)
        self.assertEqual(
            (message.external_id, message.chat_id, message.name, message.text), ("77", "4242", "Tom", "Hi")
        )
        self.assertEqual((message.phone, statuses), ("", []))
        self.assertEqual(telegram.parse_webhook({"update_id": 78, "edited_message": {}}), ([], []))
        with self.assertRaises(ValueError):
            telegram.parse_webhook({"message": {}})
        self.assertEqual(
            telegram.map_error(
                403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            ).reason,
            "unknown_recipient",
        )
        self.assertTrue(telegram.map_error(429, {"ok": False, "error_code": 429}).transient)


@tagged("post_install", "-at_install")
class TestRatingButtonsProtocol(BaseCase):
    """The rating question's buttons and the customers' taps, in each provider's shapes."""

    def test_button_ids(self):
        button = common.rating_button_id(42, 5)
        self.assertEqual(common.read_rating_button(button), ("42", 5))
        self.assertLessEqual(len(button.encode()), 64, "Telegram's callback_data: 64 bytes at most")
        for other in (
            "cancel-button",
            "livechat_rating:42:4",
            "livechat_rating:x:5",
            "livechat_rating:42",
            None,
            5,
        ):
            self.assertIsNone(common.read_rating_button(other), other)

    def test_whatsapp_button_reply(self):
        standin = StandIn("whatsapp")
        self.addCleanup(standin.server.server_close)
        reply = {
            "from": "16505551234",
            "id": "wamid.tap",
            "timestamp": "1749416383",
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": common.rating_button_id(42, 3), "title": "😐 OK"},
            },
        }
        other = dict(
            reply,
            id="wamid.other",
            interactive={"type": "button_reply", "button_reply": {"id": "cancel", "title": "Cancel"}},
        )
        (tap, plain), _statuses = whatsapp.parse_webhook(
            standin.whatsapp_payload("16505551234", messages=[reply, other]), standin.phone_number_id
        )
        self.assertEqual((tap.action, tap.target, tap.rating, tap.chat_id), ("rate", "42", 3, "16505551234"))
        self.assertEqual(
            (plain.action, plain.text), ("post", "Cancel"), "another button: its title, as before"
        )
        # the question: at most 3 buttons, titles cut to 20 characters as WhatsApp counts them
        message = whatsapp.buttons_message(
            "16505551234", "How was it?", [("a", "😊" * 15), ("b", "x"), ("c", "y"), ("d", "z")]
        )
        buttons = message["interactive"]["action"]["buttons"]
        self.assertEqual(len(buttons), 3)
        self.assertEqual(buttons[0]["reply"]["title"], "😊" * 10)

    def test_telegram_callback_query(self):
        update = {
            "update_id": 10,
            "callback_query": {
                "id": "cbq-1",
                "from": {"id": 4242, "is_bot": False, "first_name": "Tom", "language_code": "fr"},
                "message": {"message_id": 7, "chat": {"id": 4242, "type": "private"}, "date": 1749416383},
                "chat_instance": "1",
                "data": common.rating_button_id(42, 1),
            },
        }
        (tap,), _statuses = telegram.parse_webhook(update)
        self.assertEqual(
            (tap.action, tap.target, tap.rating, tap.chat_id, tap.ref, tap.external_id, tap.lang),
            ("rate", "42", 1, "4242", "cbq-1", "10", "fr"),
        )
        # a message too old for Telegram to show (date 0): still the customer's tap
        update["callback_query"]["message"]["date"] = 0
        self.assertEqual(telegram.parse_webhook(update)[0][0].rating, 1)
        # another button, a group's tap: nothing
        update["callback_query"]["data"] = "something_else"
        self.assertEqual(telegram.parse_webhook(update), ([], []))
        update["callback_query"]["data"] = common.rating_button_id(42, 1)
        update["callback_query"]["message"]["chat"]["type"] = "group"
        self.assertEqual(telegram.parse_webhook(update), ([], []))
        self.assertEqual(
            telegram.inline_keyboard([("d1", "A"), ("d2", "B")]),
            {
                "inline_keyboard": [
                    [{"text": "A", "callback_data": "d1"}, {"text": "B", "callback_data": "d2"}]
                ]
            },
        )
