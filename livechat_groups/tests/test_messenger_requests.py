"""Every request the addon sends to WhatsApp and Telegram, recorded by the stand-in, checked
against a small schema drawn from the providers' published descriptions (see
``fixtures/README.md``): required fields, types, lengths; and long answers split in parts
that each provider accepts."""

import re
import time
from datetime import timedelta

from freezegun import freeze_time
from markupsafe import Markup

from odoo.exceptions import UserError
from odoo.tests import BaseCase, tagged

from odoo.addons.livechat_groups.messengers.common import rating_button_id, split_text, utf16_length

from .messenger_common import LivechatMessengerCase

# ------------------------------------------------------------
# A small schema language: what the references say, checked
# ------------------------------------------------------------

STRING, INTEGER, BOOLEAN = "string", "integer", "boolean"


def check(value, schema, path="$"):
    """The ways ``value`` breaks ``schema`` (an empty list when it conforms).

    ``schema`` is a dict: ``type`` (a name or a tuple of names: string, integer, boolean,
    object, array, file), ``required``, ``properties`` (unknown properties refused unless
    ``open``), ``enum``, ``min_length``/``max_length`` (UTF-16 units, as the providers count),
    ``pattern``, ``items``.
    """
    errors = []
    kinds = schema.get("type")
    kinds = (kinds,) if isinstance(kinds, str) else kinds or ()
    python = {
        STRING: str,
        INTEGER: int,
        BOOLEAN: bool,
        "object": dict,
        "array": list,
        "file": tuple,
    }
    if kinds and not any(
        isinstance(value, python[kind]) and not (kind == INTEGER and isinstance(value, bool))
        for kind in kinds
    ):
        return [f"{path}: {type(value).__name__} is not {' or '.join(kinds)}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if utf16_length(value) < schema.get("min_length", 0):
            errors.append(f"{path}: shorter than {schema['min_length']}")
        if utf16_length(value) > schema.get("max_length", float("inf")):
            errors.append(f"{path}: {utf16_length(value)} characters, more than {schema['max_length']}")
        if "pattern" in schema and not re.fullmatch(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}.{name}: required" for name in schema.get("required", ()) if name not in value]
        for name, item in value.items():
            if name in properties:
                errors += check(item, properties[name], f"{path}.{name}")
            elif not schema.get("open"):
                errors.append(f"{path}.{name}: not in the reference")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += check(item, schema["items"], f"{path}[{index}]")
    return errors


# Meta's OpenAPI description of the Cloud API, v23.0 (facebook/openapi): BaseMessageProperties,
# TextMessage_1 (body: maxLength 4096), MediaObject_1 (id, caption: maxLength 1024; filename for
# documents), TemplateObject and LanguageObject (policy and code required, policy "deterministic")
WHATSAPP_BASE = {
    "messaging_product": {"type": STRING, "enum": ["whatsapp"]},
    "recipient_type": {"type": STRING, "enum": ["individual", "group"]},
    "to": {"type": STRING, "pattern": r"\d{5,20}"},
    "context": {"type": "object", "required": ["message_id"], "properties": {"message_id": {"type": STRING}}},
    # "an arbitrary string, useful for tracking", given back in the message's statuses (Cloud API
    # messages reference; max. 512 characters)
    "biz_opaque_callback_data": {"type": STRING, "min_length": 1, "max_length": 512},
}
WHATSAPP_MEDIA = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": STRING, "min_length": 1},
        "caption": {"type": STRING, "max_length": 1024},
        "filename": {"type": STRING},
    },
}
WHATSAPP_MESSAGES = {
    "text": {
        "type": "object",
        "required": ["messaging_product", "to", "type", "text"],
        "properties": {
            **WHATSAPP_BASE,
            "type": {"type": STRING, "enum": ["text"]},
            "text": {
                "type": "object",
                "required": ["body"],
                "properties": {
                    "body": {"type": STRING, "min_length": 1, "max_length": 4096},
                    "preview_url": {"type": BOOLEAN},
                },
            },
        },
    },
    "template": {
        "type": "object",
        "required": ["messaging_product", "to", "type", "template"],
        "properties": {
            **WHATSAPP_BASE,
            "type": {"type": STRING, "enum": ["template"]},
            "template": {
                "type": "object",
                "required": ["name", "language"],
                "properties": {
                    "name": {"type": STRING, "min_length": 1, "max_length": 512},
                    "language": {
                        "type": "object",
                        "required": ["policy", "code"],
                        "properties": {
                            "policy": {"type": STRING, "enum": ["deterministic"]},
                            "code": {"type": STRING, "min_length": 2},
                        },
                    },
                    "components": {
                        "type": "array",
                        "items": {"type": "object", "required": ["type"], "open": True},
                    },
                },
            },
        },
    },
}
# Meta's "Interactive reply buttons messages" (InteractiveObject, type "button"): a body of at
# most 1,024 characters, 1 to 3 reply buttons, each an id of at most 256 characters and a title
# of at most 20, unique within the message
WHATSAPP_REPLY_BUTTON = {
    "type": "object",
    "required": ["type", "reply"],
    "properties": {
        "type": {"type": STRING, "enum": ["reply"]},
        "reply": {
            "type": "object",
            "required": ["id", "title"],
            "properties": {
                "id": {"type": STRING, "min_length": 1, "max_length": 256, "pattern": r"\S(.*\S)?"},
                "title": {"type": STRING, "min_length": 1, "max_length": 20},
            },
        },
    },
}
WHATSAPP_MESSAGES["interactive"] = {
    "type": "object",
    "required": ["messaging_product", "to", "type", "interactive"],
    "properties": {
        **WHATSAPP_BASE,
        "type": {"type": STRING, "enum": ["interactive"]},
        "interactive": {
            "type": "object",
            "required": ["type", "body", "action"],
            "properties": {
                "type": {"type": STRING, "enum": ["button"]},
                "body": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": STRING, "min_length": 1, "max_length": 1024}},
                },
                "action": {
                    "type": "object",
                    "required": ["buttons"],
                    "properties": {"buttons": {"type": "array", "items": WHATSAPP_REPLY_BUTTON}},
                },
            },
        },
    },
}
for _kind in ("image", "audio", "video", "document", "sticker"):
    WHATSAPP_MESSAGES[_kind] = {
        "type": "object",
        "required": ["messaging_product", "to", "type", _kind],
        "properties": {**WHATSAPP_BASE, "type": {"type": STRING, "enum": [_kind]}, _kind: WHATSAPP_MEDIA},
    }
# POST /{Phone-Number-ID}/media: multipart, messaging_product and file required
WHATSAPP_UPLOAD = {
    "type": "object",
    "required": ["messaging_product", "file"],
    "properties": {
        "messaging_product": {"type": STRING, "enum": ["whatsapp"]},
        "type": {"type": STRING, "pattern": r"[\w.+-]+/[\w.+-]+"},
        "file": {"type": "file"},
    },
}

# The Bot API (api.json of PaulSonOfLars/telegram-bot-api-spec, Bot API 10.1): chat_id Integer or
# String; text 1-4096 characters; caption 0-1024; setWebhook's url an HTTPS URL, its
# secret_token 1-256 characters of A-Z, a-z, 0-9, _ and -
TELEGRAM_CHAT_ID = {"type": (INTEGER, STRING), "pattern": r"-?\d+|@\w+"}
# InlineKeyboardMarkup: inline_keyboard, an Array of Array of InlineKeyboardButton (text; here
# callback_data, 1-64 bytes)
TELEGRAM_INLINE_KEYBOARD = {
    "type": "object",
    "required": ["inline_keyboard"],
    "properties": {
        "inline_keyboard": {
            "type": "array",
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["text", "callback_data"],
                    "properties": {
                        "text": {"type": STRING, "min_length": 1},
                        "callback_data": {"type": STRING, "pattern": r"[\x21-\x7e]{1,64}"},
                    },
                },
            },
        }
    },
}
TELEGRAM_METHODS = {
    "getMe": {"type": "object", "properties": {}},
    "sendMessage": {
        "type": "object",
        "required": ["chat_id", "text"],
        "properties": {
            "chat_id": TELEGRAM_CHAT_ID,
            "text": {"type": STRING, "min_length": 1, "max_length": 4096},
            "reply_markup": TELEGRAM_INLINE_KEYBOARD,
        },
    },
    # answerCallbackQuery: callback_query_id required; text 0-200 characters
    "answerCallbackQuery": {
        "type": "object",
        "required": ["callback_query_id"],
        "properties": {
            "callback_query_id": {"type": STRING, "min_length": 1},
            "text": {"type": STRING, "max_length": 200},
        },
    },
    "sendPhoto": {
        "type": "object",
        "required": ["chat_id", "photo"],
        "properties": {
            "chat_id": TELEGRAM_CHAT_ID,
            "photo": {"type": ("file", STRING)},
            "caption": {"type": STRING, "max_length": 1024},
        },
    },
    "sendDocument": {
        "type": "object",
        "required": ["chat_id", "document"],
        "properties": {
            "chat_id": TELEGRAM_CHAT_ID,
            "document": {"type": ("file", STRING)},
            "caption": {"type": STRING, "max_length": 1024},
        },
    },
    "setWebhook": {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": STRING, "pattern": r"https://\S+"},
            "secret_token": {"type": STRING, "pattern": r"[A-Za-z0-9_-]{1,256}"},
        },
    },
    "getFile": {"type": "object", "required": ["file_id"], "properties": {"file_id": {"type": STRING}}},
}

# a 5,200-character answer in paragraphs of sentences: more than one message on either provider
LONG_ANSWER = "\n\n".join(
    " ".join(
        f"Step {paragraph}.{sentence}: check the refund form, then confirm it." for sentence in range(10)
    )
    for paragraph in range(10)
)


class RequestsCase(LivechatMessengerCase):
    def _reply(self, session, body, attachments=()):
        return session.with_user(self.support_1).message_post(
            body=body,
            attachment_ids=[attachment.id for attachment in attachments],
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )

    def _attachments(self, session):
        return self.env["ir.attachment"].create(
            [
                {
                    "name": name,
                    "raw": raw,
                    "mimetype": mimetype,
                    "res_model": "discuss.channel",
                    "res_id": session.id,
                }
                for name, raw, mimetype in (
                    ("label.png", b"\x89PNG fake", "image/png"),
                    ("invoice.pdf", b"%PDF-1.4 fake", "application/pdf"),
                )
            ]
        )

    def _close_and_rate(self, session):
        """The operator closes ``session``; the customer taps "Good" on the rating question (the
        provider's shape of a tap: WhatsApp's button reply, Telegram's callback query)."""
        session.with_user(self.support_1).action_livechat_close()
        self._send()
        button = rating_button_id(session.id, 5)
        chat_id = session.livechat_messenger_chat_id
        if self.provider == "whatsapp":
            tap = {
                "from": chat_id,
                "id": "wamid.tap",
                "timestamp": str(int(time.time())),
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": button, "title": "😊 Good"}},
            }
            self._post(self.standin.whatsapp_payload(chat_id, messages=[tap]))
        else:
            update = self.standin.telegram_update(int(chat_id))
            query = {
                "id": "cbq-1",
                "from": update["message"]["from"],
                "message": update["message"],
                "data": button,
            }
            self._post({"update_id": update["update_id"], "callback_query": query})
        self._send()
        self.assertEqual(session.rating_ids.rating, 5)

    def assertSplitAnswer(self, session, message, texts, signature):
        """The long answer went out in order, in parts the provider takes, each its own row,
        signed once, no word cut."""
        self.assertGreater(len(LONG_ANSWER), 4096)
        self.assertEqual(len(texts), 2, texts)
        self.assertTrue(texts[0].startswith(signature))
        self.assertFalse([text for text in texts[1:] if signature in text], "signed on the first part only")
        self.assertTrue(all(utf16_length(text) <= 4096 for text in texts))
        self.assertEqual(
            " ".join(texts)[len(signature) :].split(), LONG_ANSWER.split(), "every word, in order"
        )
        self.assertTrue(texts[0].endswith("confirm it."), "cut between paragraphs")
        rows = self.Outbox.search([("message_id", "=", message.id)], order="id")
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows.mapped("state"), ["sent", "sent"])
        self.assertEqual(len(set(rows.mapped("external_id"))), 2, "each part tracked by its own id")


@tagged("post_install", "-at_install")
class TestWhatsAppRequests(RequestsCase):
    def test_every_request_matches_the_reference(self):
        self._online(self.support_1)
        media_id = self.standin.add_media(b"%PDF-1.4 order", "application/pdf", "order.pdf")
        self._write("16505551234", "My order", media=("document", media_id))
        session = self._session_of("16505551234")
        self._reply(session, "We are on it")
        long_message = self._reply(
            session, Markup("<p>%s</p>") % Markup("</p><p>").join(LONG_ANSWER.split("\n\n"))
        )
        self._reply(session, "", attachments=self._attachments(session))
        template = self.env["livechat.messenger.template"].create(
            {
                "messenger_id": self.messenger.id,
                "name": "follow_up",
                "language": "en_US",
                "body": "Hello again!",
            }
        )
        session.with_user(self.support_1).action_livechat_messenger_send_template(template.id)
        self._send()
        # the session closes: the rating question, with reply buttons; the customer's tap is thanked
        self._close_and_rate(session)

        sent, kinds = [], []
        for request in self.standin.requests:
            path = request.path.split("?")[0]
            if request.method == "GET":
                self.assertRegex(path, rf"^/v21\.0/{media_id}$|^/download/{media_id}$")
                continue
            self.assertEqual(request.headers["Authorization"], f"Bearer {self.standin.token}")
            if path.endswith("/media"):
                self.assertEqual(check(request.form, WHATSAPP_UPLOAD), [], request)
                continue
            self.assertEqual(path, f"/v21.0/{self.standin.phone_number_id}/messages")
            kind = request.json.get("type")
            self.assertIn(kind, WHATSAPP_MESSAGES, request)
            self.assertEqual(check(request.json, WHATSAPP_MESSAGES[kind]), [], request)
            kinds.append(kind)
            sent.append(request.json)
        self.assertEqual(
            sorted(kinds),
            ["document", "image", "interactive", "template", "text", "text", "text", "text", "text"],
        )
        (question,) = [message for message in sent if message["type"] == "interactive"]
        self.assertEqual(len(question["interactive"]["action"]["buttons"]), 3)
        self.assertEqual(
            [message["template"]["language"] for message in sent if message["type"] == "template"],
            [{"policy": "deterministic", "code": "en_US"}],
        )
        texts = [message["text"]["body"] for message in sent if message["type"] == "text"][1:3]
        self.assertSplitAnswer(session, long_message, texts, "*Sonia Support*: ")
        # each part's statuses move that part
        rows = self.Outbox.search([("message_id", "=", long_message.id)], order="id")
        status = self.standin.whatsapp_status(rows[1].external_id, "read", "16505551234")
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]))
        self.assertEqual(rows.mapped("state"), ["sent", "read"])
        self.assertEqual(long_message._livechat_messenger_state_values()["livechatMessengerState"], "sent")

    def test_parts_reach_the_customer_in_order(self):
        self._online(self.support_1)
        self._write("16505551234", "Tell me everything")
        session = self._session_of("16505551234")
        # WhatsApp is unavailable for the first part (it surely took nothing: it answered 503)
        self.standin.down = True
        self.addCleanup(setattr, self.standin, "down", False)
        message = self._reply(
            session, Markup("<p>%s</p>") % Markup("</p><p>").join(LONG_ANSWER.split("\n\n"))
        )
        self._send()
        rows = self.Outbox.search([("message_id", "=", message.id)], order="id")
        self.assertEqual(rows.mapped("state"), ["queued", "queued"], "the second part waits for the first")
        (attempt,) = self.standin.sent()
        self.assertEqual(attempt["text"]["body"], rows[0].text_part, "the second part was not even tried")
        self.standin.down = False
        # the second part is not claimed while the first waits: only the first has a next attempt
        with freeze_time(rows[0].next_attempt_date + timedelta(seconds=1)):
            self._send()
        self.assertEqual(rows.mapped("state"), ["sent", "sent"])
        texts = [sent["text"]["body"] for sent in self.standin.sent()[1:]]
        self.assertEqual(texts, rows.mapped("text_part"), "in order")
        self.assertTrue(texts[0].startswith("*Sonia Support*: Step 0.0"))


@tagged("post_install", "-at_install")
class TestTelegramRequests(RequestsCase):
    provider = "telegram"

    def test_every_request_matches_the_reference(self):
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com")
        self.messenger.action_test_connection()
        self._online(self.support_1)
        photo = self.standin.add_media(b"\xff\xd8 jpeg", "image/jpeg")
        self._post(self.standin.telegram_update(4242, first_name="Tom", text="Look", media=("photo", photo)))
        session = self._session_of("4242")
        self._reply(session, "Thanks Tom")
        long_message = self._reply(
            session, Markup("<p>%s</p>") % Markup("</p><p>").join(LONG_ANSWER.split("\n\n"))
        )
        self._reply(session, "", attachments=self._attachments(session))
        self._send()
        # the session closes: the rating question, with an inline keyboard; the tap is answered
        self._close_and_rate(session)

        methods, texts = [], []
        for request in self.standin.requests:
            path = request.path.split("?")[0]
            if path.startswith("/file/"):
                self.assertEqual(path, f"/file/bot{self.standin.token}/{photo}")
                continue
            prefix = f"/bot{self.standin.token}/"
            self.assertTrue(path.startswith(prefix), path)
            method = path[len(prefix) :]
            self.assertIn(method, TELEGRAM_METHODS, request)
            self.assertEqual(check(request.json or request.form, TELEGRAM_METHODS[method]), [], request)
            methods.append(method)
            if method == "sendMessage":
                texts.append(request.json["text"])
        self.assertEqual(
            sorted(methods),
            [
                "answerCallbackQuery",
                "getFile",
                "getMe",
                "sendDocument",
                "sendMessage",
                "sendMessage",
                "sendMessage",
                "sendMessage",
                "sendMessage",
                "sendPhoto",
                "setWebhook",
            ],
        )
        self.assertSplitAnswer(session, long_message, texts[1:3], "Sonia Support: ")

    def test_webhook_needs_https(self):
        self.env["ir.config_parameter"].set_param("web.base.url", "http://odoo.example.com")
        with self.assertRaisesRegex(
            UserError, "Telegram delivers messages only to an HTTPS address"
        ) as caught:
            self.messenger.action_test_connection()
        self.assertIn("http://odoo.example.com", str(caught.exception))
        self.assertIn("web.base.url", str(caught.exception))
        self.assertFalse(
            [request for request in self.standin.requests if request.path.endswith("/setWebhook")],
            "nothing registered",
        )


@tagged("post_install", "-at_install")
class TestSplitText(BaseCase):
    """Where a long answer is cut, without a database."""

    def test_boundaries(self):
        self.assertEqual(split_text("  ", 10), [])
        self.assertEqual(split_text("Short one.", 10), ["Short one."])
        # a paragraph break first, then a line, then a sentence, then a space
        self.assertEqual(split_text("aaaa bbbb\n\ncccc", 12), ["aaaa bbbb", "cccc"])
        self.assertEqual(split_text("aaaa bbbb\ncccc dd", 12), ["aaaa bbbb", "cccc dd"])
        self.assertEqual(split_text("Aaa bb. Cccc dd eee", 12), ["Aaa bb.", "Cccc dd eee"])
        self.assertEqual(split_text("aaaa bbbb cccc", 12), ["aaaa bbbb", "cccc"])
        # a break too early would leave a short part: a later space is taken
        self.assertEqual(split_text("Aa. bbbbb ccccc dd", 12), ["Aa. bbbbb", "ccccc dd"])
        # only a word longer than the limit is cut
        self.assertEqual(split_text("x" * 25, 10), ["x" * 10, "x" * 10, "x" * 5])
        # emoji outside the basic plane count twice, as the providers count them
        self.assertEqual(split_text("😀😀😀 😀😀", 6), ["😀😀😀", "😀😀"])
        text = " ".join(f"word{i}" for i in range(3000))
        parts = split_text(text, 4096)
        self.assertTrue(all(len(part) <= 4096 for part in parts))
        self.assertEqual(" ".join(parts), text)
