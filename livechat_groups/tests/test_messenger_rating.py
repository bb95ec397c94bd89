"""The end-of-session rating of messenger customers: asked once when their session closes, in
their language, with the provider's own buttons; their tap, through the signed webhook, becomes
the session's stock rating, counted in the Group Figures; their next message is its comment."""

import itertools
import time
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import html2plaintext
from odoo.tools.translate import code_translations

from ..messengers.common import rating_button_id
from .common import LivechatGroupsRpcMixin
from .messenger_common import LivechatMessengerCase
from .test_messenger_conformance import fixture, whatsapp_value
from .test_visitor_language import FrenchMixin

QUESTION = "How was your conversation with us? Tap a button; you may add a comment in your next message."
_ids = itertools.count(1)


class RatingCase(LivechatMessengerCase, LivechatGroupsRpcMixin):
    def setUp(self):
        super().setUp()
        self._online(self.support_1)

    def _open(self, chat_id, text="Where is my parcel?"):
        """The customer ``chat_id`` writes; Sonia gets the session and answers."""
        self._write_as(chat_id, text)
        session = self._session_of(chat_id).filtered("livechat_active")
        self.assertEqual(session.livechat_operator_user_id, self.support_1)
        session.with_user(self.support_1).message_post(
            body="It arrives tomorrow.", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        return session

    def _write_as(self, chat_id, text):
        return self._write(chat_id, text)

    def _close(self, session):
        """Sonia closes the session from Discuss (JSON-RPC), and the outbox sends."""
        self._rpc(self.support_1, "discuss.channel", "action_livechat_close", [session.id])
        self._send()
        self.env.invalidate_all()

    def _questions(self, session):
        return self.Outbox.search([("session_id", "=", session.id), ("rating_question", "=", True)])

    def _satisfaction(self, domain, groupby=()):
        """The Group Figures' satisfaction, read as the pivot reads it (with the percentile,
        from the rollup when it can)."""
        Report = self.env["livechat.session.report"].with_user(self.ext_supervisor)
        rows = Report._read_group(
            [("livechat_channel_id", "=", self.external_livechat.id), *domain],
            list(groupby),
            ["satisfaction:avg", "waiting_time_p90:p90", "__count"],
        )
        return {row[: len(groupby)]: row[len(groupby)] for row in rows}


@tagged("post_install", "-at_install")
class TestWhatsAppRating(RatingCase):
    def _tap(self, wa_id, session, value, message_id=None):
        """The customer ``wa_id`` taps the rating button ``value`` of ``session``: Meta's own
        example of an interactive button reply (fixtures/meta), given our button and numbers."""
        payload = fixture("meta", "webhook_examples", "Interactive Button Reply Message")
        value_ = whatsapp_value(payload)
        value_["metadata"]["phone_number_id"] = self.standin.phone_number_id
        value_["contacts"][0]["wa_id"] = wa_id
        message = value_["messages"][0]
        message.update(
            {"from": wa_id, "id": message_id or f"wamid.tap{next(_ids)}", "timestamp": str(int(time.time()))}
        )
        message["interactive"]["button_reply"] = {
            "id": rating_button_id(session.id, value),
            "title": "😊 Good",
        }
        response = self._post(payload)
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        return payload

    def test_customer_taps_a_button_the_rating_is_the_sessions(self):
        session = self._open("16505551234")
        self._close(session)
        # one question, with WhatsApp's reply buttons: stock's values, best first
        (question,) = self.standin.sent()[-1:]
        self.assertEqual(question["type"], "interactive")
        self.assertEqual(question["interactive"]["type"], "button")
        self.assertEqual(question["interactive"]["body"]["text"], QUESTION)
        self.assertEqual(
            [button["reply"]["id"] for button in question["interactive"]["action"]["buttons"]],
            [rating_button_id(session.id, value) for value in (5, 3, 1)],
        )
        self.assertEqual(self._questions(session).state, "sent")
        self.assertIn(QUESTION, self._texts(session), "the operators read what the customer was asked")
        # the customer taps "Good"
        self._tap("16505551234", session, 5)
        rating = session.rating_ids
        self.assertEqual(len(rating), 1)
        self.assertEqual(
            (rating.rating, rating.partner_id, rating.rated_partner_id, rating.consumed, rating.is_internal),
            (5, session.livechat_messenger_partner_id, self.support_1.partner_id, True, False),
        )
        self.assertEqual(rating.parent_res_model, "im_livechat.channel", "as stock's widget: per live chat")
        self.assertEqual(session.rating_last_value, 5)
        self.assertEqual(rating.message_id.model, "discuss.channel")
        self.assertEqual(rating.message_id.res_id, session.id, "shown in the session")
        # thanked, as a message (WhatsApp shows nothing for a tap); the rating's message is not sent
        self._send()
        self.assertEqual(self.standin.sent()[-1]["text"]["body"], "Thank you for your rating!")
        # in the figures: per channel, per operator, per group
        self.assertEqual(self._satisfaction([("medium", "=", "whatsapp")])[()], 100.0)
        self.assertEqual(self._satisfaction([], ["operator_id"])[(self.support_1,)], 100.0)
        self.assertEqual(self._satisfaction([], ["final_group_id"])[(self.group_support,)], 100.0)
        self.assertEqual(self._satisfaction([], ["medium"])[("whatsapp",)], 100.0)
        # the next message is the comment, not a new session
        self._write("16505551234", "Very kind, thanks")
        self.assertEqual(len(self._session_of("16505551234")), 1, "no new session for the comment")
        self.assertEqual(rating.feedback, "Very kind, thanks")
        self.assertEqual(session.rating_last_feedback, "Very kind, thanks")
        # the one after opens a session, as always
        self._write("16505551234", "Another question")
        self.assertEqual(len(self._session_of("16505551234")), 2)

    def test_repeated_late_and_forged_answers_change_nothing(self):
        session = self._open("16505551234")
        other = self._open("16505559999")
        self._close(session)
        self._close(other)
        self._tap("16505551234", session, 1, message_id="wamid.first-tap")
        rating = session.rating_ids
        self.assertEqual(rating.rating, 1)
        # the same delivery again, a second tap on another button: the first answer stays
        self._tap("16505551234", session, 1, message_id="wamid.first-tap")
        self._tap("16505551234", session, 5)
        self.assertEqual(session.rating_ids, rating)
        self.assertEqual(rating.rating, 1)
        # a button naming another customer's session: refused, and posted nowhere
        messages = self.env["mail.message"].search_count([("model", "=", "discuss.channel")])
        self._tap("16505551234", other, 5)
        self.assertFalse(other.rating_ids)
        self.assertEqual(self.env["mail.message"].search_count([("model", "=", "discuss.channel")]), messages)
        # a tap on the old question after a new session started: nothing
        self._write("16505559999", "I wrote again")
        self.assertEqual(len(self._session_of("16505559999")), 2)
        self._tap("16505559999", other, 5)
        self.assertFalse(other.rating_ids)
        # asked once: closing again (the session is closed) asks nothing more
        self.assertEqual(len(self._questions(session)), 1)
        self.env["livechat.routing"]._end(session, self.support_1)
        self.assertEqual(len(self._questions(session)), 1)

    def test_no_question_outside_the_window_nor_when_the_live_chat_says_no(self):
        with freeze_time(datetime.now() - timedelta(hours=25)):
            session = self._open("16505551234")
        self._close(session)
        self.assertFalse(self._questions(session), "WhatsApp would refuse it: not asked")
        self.assertFalse(session.livechat_rating_asked_date)
        self.assertFalse([sent for sent in self.standin.sent() if sent["type"] == "interactive"])
        # the live chat's option
        self.external_livechat.livechat_messenger_rating = False
        session = self._open("16505550000")
        self._close(session)
        self.assertFalse(self._questions(session))

    def test_nobody_but_the_customer_answers(self):
        session = self._open("16505551234")
        self._close(session)
        # the operator cannot make a message a comment, nor stop the question, over RPC
        answer = self._rpc_answer(
            self.support_1,
            "discuss.channel",
            "write",
            [session.id],
            {"livechat_rating_comment_until": "2099-01-01 00:00:00"},
        )
        self.assertIn("AccessError", answer["error"]["data"]["name"])
        self.assertIn(
            "Only the messenger customer's answers change the rating", answer["error"]["data"]["message"]
        )
        self.assertFalse(session.livechat_rating_comment_until)
        with self.assertRaisesRegex(AccessError, "Only the messenger customer's answers"):
            self.env["discuss.channel"].with_user(self.admin).create(
                {"name": "Forged", "channel_type": "livechat", "livechat_rating_asked_date": "2020-01-01"}
            )


@tagged("post_install", "-at_install")
class TestTelegramRating(RatingCase):
    provider = "telegram"

    def _write_as(self, chat_id, text):
        response = self._post(self.standin.telegram_update(int(chat_id), first_name="Tom", text=text))
        self.assertEqual(response.status_code, 200)
        return response

    def _tap(self, chat_id, session, value, update_id=None):
        """The customer ``chat_id`` taps a button of our inline keyboard: Telegram's
        ``callback_query`` update (fixtures/telegram, after the Bot API's description)."""
        payload = fixture("telegram", "callback_query")
        payload["update_id"] = update_id or 900000000 + next(_ids)
        query = payload["callback_query"]
        query["id"] = f"cbq{payload['update_id']}"
        query["from"]["id"] = query["message"]["chat"]["id"] = int(chat_id)
        query["data"] = rating_button_id(session.id, value)
        response = self._post(payload)
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        return query["id"]

    def _answers(self):
        return [
            request.json for request in self.standin.requests if request.path.endswith("/answerCallbackQuery")
        ]

    def test_customer_taps_a_button_the_rating_is_the_sessions(self):
        session = self._open("111222333")
        self._close(session)
        question = self.standin.sent()[-1]
        self.assertEqual(question["text"], QUESTION)
        self.assertEqual(
            question["reply_markup"]["inline_keyboard"],
            [
                [
                    {"text": "😊 Good", "callback_data": rating_button_id(session.id, 5)},
                    {"text": "😐 OK", "callback_data": rating_button_id(session.id, 3)},
                    {"text": "😞 Bad", "callback_data": rating_button_id(session.id, 1)},
                ]
            ],
        )
        callback = self._tap("111222333", session, 3)
        self.assertEqual(session.rating_ids.rating, 3)
        self.assertEqual(session.rating_ids.rated_partner_id, self.support_1.partner_id)
        self.assertEqual(
            self._answers(), [{"callback_query_id": callback, "text": "Thank you for your rating!"}]
        )
        self.assertEqual(self._satisfaction([("medium", "=", "telegram")])[()], 0.0, "OK is not satisfied")
        # a second tap is answered (the app waits for it) and changes nothing
        second = self._tap("111222333", session, 5)
        self.assertEqual(session.rating_ids.rating, 3)
        self.assertEqual(self._answers()[-1], {"callback_query_id": second})
        # the comment
        self._write_as("111222333", "Quick answer")
        self.assertEqual(session.rating_ids.feedback, "Quick answer")
        self.assertEqual(len(self._session_of("111222333")), 1)


@tagged("post_install", "-at_install")
class TestRatingQuestionLanguage(FrenchMixin, RatingCase):
    """The question is in the customer's language, whoever closes."""

    def test_french_customer_reads_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        # translations of our own: the .po files are the lead's
        french = {
            QUESTION: "Comment s'est passée votre conversation ? Touchez un bouton ; vous pouvez "
            "ajouter un commentaire dans votre prochain message.",
            "😊 Good": "😊 Bien",
            "😐 OK": "😐 Correct",
            "😞 Bad": "😞 Mauvais",
        }
        translations = dict(code_translations.python_translations)
        translations["livechat_groups", "fr_FR"] = {
            **code_translations.get_python_translations("livechat_groups", "fr_FR"),
            **french,
        }
        self.patch(code_translations, "python_translations", translations)
        self.env["res.partner"].create(
            {"name": "Camille Client", "phone": "+33 6 12 34 56 78", "lang": "fr_FR"}
        )
        session = self._open("33612345678", text="Bonjour")
        self.assertEqual(session.livechat_messenger_partner_id.name, "Camille Client")
        self._close(session)
        question = self.standin.sent()[-1]
        self.assertEqual(question["interactive"]["body"]["text"], french[QUESTION])
        self.assertEqual(
            [button["reply"]["title"] for button in question["interactive"]["action"]["buttons"]],
            ["😊 Bien", "😐 Correct", "😞 Mauvais"],
        )
        sent = [html2plaintext(row.message_id.body) for row in self._questions(session)]
        self.assertEqual(sent, [french[QUESTION]])
