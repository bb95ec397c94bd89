from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from odoo.addons.livechat_groups.messengers import telegram, whatsapp

from .messenger_common import LivechatMessengerCase

# the providers' answers when a limit is hit, in the shapes they document (HTTP status, body)
WHATSAPP_THROUGHPUT = (
    400,
    {
        "error": {
            "message": "(#130429) Rate limit hit",
            "type": "OAuthException",
            "code": 130429,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": "Cloud API message throughput has been reached.",
            },
            "fbtrace_id": "AbCdEfGh0123",
        }
    },
)
WHATSAPP_PAIR = (
    400,
    {
        "error": {
            "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            "type": "OAuthException",
            "code": 131056,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": "Too many messages sent from the sender phone number to the same "
                "recipient phone number in a short period of time.",
            },
            "fbtrace_id": "AbCdEfGh4567",
        }
    },
)
TELEGRAM_FLOOD = (
    429,
    {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 17",
        "parameters": {"retry_after": 17},
    },
)


class OutboxLimitsCase(LivechatMessengerCase):
    """Two customers each answered; the provider refuses the first answer with a limit."""

    carla, dan = "16505551234", "16505559999"

    def _customer_writes(self, chat, text):
        self._write(chat, text)

    def setUp(self):
        super().setUp()
        self._online(self.support_1)
        self._customer_writes(self.carla, "Hello")
        self._customer_writes(self.dan, "Hi")
        self.sessions = {chat: self._session_of(chat) for chat in (self.carla, self.dan)}

    def _answer(self, chat, body):
        message = (
            self.sessions[chat]
            .with_user(self.support_1)
            .message_post(body=body, message_type="comment", subtype_xmlid="mail.mt_comment")
        )
        return self.Outbox.search([("message_id", "=", message.id)])

    def _sent_texts(self):
        """What Odoo asked the provider to send, in order (refused or taken)."""
        texts = []
        for sent in self.standin.sent():
            text = sent["text"]["body"] if isinstance(sent.get("text"), dict) else sent["text"]
            texts.append(text.split(": ", 1)[1])
        return texts

    def assertLimitRespected(self, refusal, delay):
        """The first answer to Carla is refused with ``refusal``: it waits ``delay`` seconds,
        her second answer waits behind it, Dan's goes; then both go, in order."""
        first = self._answer(self.carla, "one")
        second = self._answer(self.carla, "two")
        other = self._answer(self.dan, "for Dan")
        self.standin.refusals.append(refusal)
        started = fields.Datetime.now()
        with freeze_time(started):
            self._send()
        self.assertEqual(self._sent_texts(), ["one", "for Dan"], "another conversation is not held back")
        self.assertEqual((first.state, first.failure_code), ("queued", "rate_limited"))
        self.assertEqual(first.next_attempt_date, started + timedelta(seconds=delay))
        self.assertEqual(first.attempt_count, 0, "a limit is not a failed attempt")
        self.assertEqual((second.state, other.state), ("queued", "sent"))
        self.assertEqual(
            first.message_id._livechat_messenger_state_values()["livechatMessengerWait"]["reason"],
            "rate_limited",
        )
        with freeze_time(started + timedelta(seconds=delay - 1)):
            self._send()
        self.assertEqual(self._sent_texts(), ["one", "for Dan"], "not before the provider's delay")
        with freeze_time(started + timedelta(seconds=delay + 1)):
            self._send()
        self.assertEqual(self._sent_texts(), ["one", "for Dan", "one", "two"], "in order, never overtaken")
        self.assertEqual((first.state, second.state), ("sent", "sent"))

    def _check_limit_never_fails_the_message(self):
        """Hit again and again by ``refusal``: the message waits each time, and is never failed
        for it (each provider's class runs it: this class is not a test of its own)."""
        row = self._answer(self.carla, "patient")
        now = fields.Datetime.now()
        for attempt in range(15):
            self.standin.refusals.append(self.refusal)
            with freeze_time(now + timedelta(minutes=attempt)):
                self._send()
            self.assertEqual(row.state, "queued")
        with freeze_time(now + timedelta(minutes=16)):
            self._send()
        self.assertEqual(row.state, "sent")


@tagged("post_install", "-at_install")
class TestOutboxLimitsWhatsApp(OutboxLimitsCase):
    refusal = WHATSAPP_PAIR

    def test_limit_never_fails_the_message(self):
        self._check_limit_never_fails_the_message()

    def test_pair_rate_limit_131056(self):
        self.assertLimitRespected(WHATSAPP_PAIR, whatsapp.RATE_LIMIT_DELAYS[131056])

    def test_throughput_130429(self):
        self.assertLimitRespected(WHATSAPP_THROUGHPUT, whatsapp.RATE_LIMIT_DELAYS[130429])

    def test_an_earlier_answer_waiting_on_a_retry_is_not_overtaken(self):
        # the provider down for Carla's first answer: her next one waits for it
        first = self._answer(self.carla, "one")
        self.standin.down = True
        self._send()
        self.standin.down = False
        second = self._answer(self.carla, "two")
        self._send()
        self.assertEqual((first.state, second.state), ("queued", "queued"))
        with freeze_time(first.next_attempt_date + timedelta(seconds=1)):
            self._send()
        self.assertEqual(self._sent_texts(), ["one", "one", "two"], "two never tried before one")


@tagged("post_install", "-at_install")
class TestOutboxLimitsTelegram(OutboxLimitsCase):
    provider = "telegram"
    carla, dan = "4242", "4343"
    refusal = TELEGRAM_FLOOD

    def test_limit_never_fails_the_message(self):
        self._check_limit_never_fails_the_message()

    def _customer_writes(self, chat, text):
        self._post(self.standin.telegram_update(int(chat), first_name=f"T{chat}", text=text))

    def test_flood_control_429_waits_retry_after(self):
        self.assertLimitRespected(TELEGRAM_FLOOD, 17)

    def test_unreadable_retry_after(self):
        error = telegram.map_error(429, {"ok": False, "error_code": 429, "description": "Too Many Requests"})
        self.assertEqual((error.reason, error.retry_after), ("rate_limited", telegram.DEFAULT_RETRY_AFTER))
        error = telegram.map_error(429, dict(TELEGRAM_FLOOD[1], parameters={"retry_after": 10**9}))
        self.assertEqual(error.retry_after, telegram.MAX_RETRY_AFTER)
