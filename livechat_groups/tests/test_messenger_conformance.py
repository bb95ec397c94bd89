"""What WhatsApp and Telegram really post, recorded by others (see ``fixtures/README.md``),
through the real webhook route, signed as the providers sign; each test checks what the
operator reads."""

import copy
import json
from pathlib import Path

from odoo.tests import tagged
from odoo.tools.translate import code_translations

from .messenger_common import LivechatMessengerCase

FIXTURES = Path(__file__).parent / "fixtures"
# the business number of pywa's recordings: the test account is given it
PYWA_PHONE_NUMBER_ID = "1122334455667"
PYWA_CUSTOMER = "972987654321"


def fixture(origin, name, key=None):
    """A recorded payload: ``fixtures/<origin>/<name>.json``, or its payload ``key`` when the
    file holds several (pywa's, Meta's examples). A copy: tests may adapt it."""
    data = json.loads((FIXTURES / origin / f"{name}.json").read_text())
    return copy.deepcopy(data[key] if key else data)


def whatsapp_value(payload):
    """The ``value`` of the first change of a WhatsApp notification (to adapt a recording)."""
    return payload["entry"][0]["changes"][0]["value"]


class RecordedCase(LivechatMessengerCase):
    def _messages(self, session):
        return self.env["mail.message"].search(
            [("model", "=", "discuss.channel"), ("res_id", "=", session.id)], order="id"
        )

    def _customer_messages(self, session):
        return self._messages(session).filtered(
            lambda message: message.author_id == session.livechat_messenger_partner_id
        )

    def _post_ok(self, payload):
        response = self._post(payload)
        self.assertEqual((response.status_code, response.text), (200, "OK"), payload)
        return response


@tagged("post_install", "-at_install")
class TestWhatsAppRecorded(RecordedCase):
    """pywa's recorded WhatsApp notifications and Meta's own examples."""

    standin_options = {"phone_number_id": PYWA_PHONE_NUMBER_ID}

    def setUp(self):
        super().setUp()
        self._online(self.support_1)

    def _open(self, text="Hello", message_id="wamid.first"):
        """The pywa customer writes first (the recordings' ids are reused across files)."""
        self._write(PYWA_CUSTOMER, text, name="Test Name", message_id=message_id)
        return self._session_of(PYWA_CUSTOMER)

    def _answer(self, session, body, wamid):
        """The operator answers; WhatsApp calls the answer ``wamid``."""
        message = session.with_user(self.support_1).message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._send()
        row = self.Outbox.search([("message_id", "=", message.id)])
        row.external_id = wamid
        return message, row

    def test_unknown_statuses_kinds_and_fields_ignored_the_rest_applied(self):
        session = self._open()
        _answer, row = self._answer(session, "Here is the voice note", "wamid.xyzxyz")
        # one delivery: a "played" status, a kind of message WhatsApp may add one day, the
        # recorded text, and a change of a field we do not subscribe to
        payload = fixture("pywa", "message", "text")
        value = whatsapp_value(payload)
        value["statuses"] = whatsapp_value(fixture("pywa", "message_status", "played"))["statuses"]
        value["statuses"] += whatsapp_value(fixture("pywa", "message_status", "delivered"))["statuses"]
        future = dict(value["messages"][0], id="wamid.future", type="hologram", hologram={"depth": 3})
        value["messages"].insert(0, future)
        value["brand_new_field"] = {"anything": [1, 2]}
        payload["entry"][0]["changes"].append(
            fixture("pywa", "call_status", "call_status")["entry"][0]["changes"][0]
        )
        self._post_ok(payload)
        self.assertEqual(self._texts(session)[-1], "Body Text", "the recorded text is applied")
        self.assertFalse(
            [text for text in self._texts(session) if "hologram" in text], "the unknown kind is left out"
        )
        self.assertEqual(
            row.state, "delivered", "the known status is applied, 'played' is not a state of ours"
        )
        # each alone, as WhatsApp sends them: acknowledged, nothing written
        before = len(self._messages(session))
        for payload in (
            fixture("pywa", "message_status", "played"),
            fixture("pywa", "account_update", "account_deleted"),
            fixture("pywa", "call_status", "call_status"),
            fixture("pywa", "outgoing_message", "text"),
            fixture("meta", "webhook_examples", "Group Create Message"),
        ):
            self._post_ok(payload)
        self.assertEqual(len(self._messages(session)), before)
        self.assertEqual(row.state, "delivered")

    def test_reactions_on_the_message_they_react_to(self):
        session = self._open()
        answer, _row = self._answer(session, "Your order ships today", "wamid.yzxyzx=")
        count = len(self._messages(session))
        answer = answer.sudo()
        self._post_ok(fixture("pywa", "message", "reaction"))
        customer = session.livechat_messenger_partner_id
        self.assertEqual(
            answer.reaction_ids.mapped(lambda reaction: (reaction.content, reaction.partner_id)),
            [("😮", customer)],
            "a reaction of the customer, on the operator's message",
        )
        # what the operator's Discuss loads
        self.authenticate(self.support_1.login, self.support_1.login)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})["data"]
        self.assertEqual(
            [(group["content"], group["count"], group["message"]) for group in data["MessageReactions"]],
            [("😮", 1, answer.id)],
        )
        self.assertIn(customer.id, [persona["id"] for persona in data["res.partner"]])
        self.assertEqual(len(self._messages(session)), count, "no message for it")
        # taking it back: an empty emoji (the recording reuses the reaction's id: a new one here)
        unreaction = fixture("pywa", "message", "unreaction_empty")
        whatsapp_value(unreaction)["messages"][0]["id"] = "wamid.unreaction"
        self._post_ok(unreaction)
        self.assertFalse(answer.reaction_ids)
        # the customer reacts to their own message too
        own = self._customer_messages(session)[0].sudo()
        reaction = fixture("pywa", "message", "reaction")
        message = whatsapp_value(reaction)["messages"][0]
        message.update(id="wamid.reaction2", reaction={"message_id": "wamid.first", "emoji": "👍"})
        self._post_ok(reaction)
        self.assertEqual(own.reaction_ids.content, "👍")
        self.assertEqual(len(self._messages(session)), count)

    def test_contact_cards_and_places(self):
        session = self._open()
        self._post_ok(fixture("pywa", "message", "contacts"))
        card = self._texts(session)[-1]
        for expected in (
            "Contact: Chandler Bing",
            "+1 555-555-5555 (cell)",
            "Contact: Rachel Green",
            "+1 777-777-7777",
        ):
            self.assertIn(expected, card)
        self.assertNotIn("[contacts]", card)
        location = fixture("pywa", "message", "chosen_location")
        whatsapp_value(location)["messages"][0]["id"] = "wamid.location"
        self._post_ok(location)
        body = self._messages(session)[-1].body
        self.assertIn("Location: Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025", body)
        self.assertIn("https://www.openstreetmap.org/?mlat=37.461198&amp;mlon=-122.216438", body)
        # Meta's own example, from its number: our account has another, its example is adapted
        contact = fixture("meta", "webhook_examples", "Contact Sharing Message")
        whatsapp_value(contact)["metadata"]["phone_number_id"] = PYWA_PHONE_NUMBER_ID
        self._post_ok(contact)
        meta_customer = whatsapp_value(contact)["messages"][0]["from"]
        self.assertIn("Contact: Lucía Gómez", self._texts(self._session_of(meta_customer))[-1])

    def test_forms_call_permissions_and_empty_interactive(self):
        session = self._open()
        self._post_ok(fixture("pywa", "flow_completion", "completion"))
        form = self._texts(session)[-1]
        self.assertIn("Form answers (flow):", form)
        self.assertIn("comment text: Comment Text", form)
        self.assertIn("delivery rating: 4", form)
        self.assertNotIn("flow_token", form, "the token is ours, not an answer")
        self._post_ok(fixture("pywa", "call_permission_update", "accept"))
        self.assertEqual(self._texts(session)[-1], "Allowed us to call them until 2025-07-22 12:23 (UTC).")
        reject = fixture("pywa", "call_permission_update", "reject")
        whatsapp_value(reject)["messages"][0]["id"] = "wamid.reject"
        self._post_ok(reject)
        self.assertEqual(self._texts(session)[-1], "Refused to be called by us.")
        self._post_ok(fixture("pywa", "message", "interactive_message_with_err"))
        self.assertEqual(
            self._texts(session)[-1],
            "Sent a message that WhatsApp does not pass on to businesses (interactive).",
        )
        unsupported = fixture("pywa", "message", "unsupported_with_type")
        whatsapp_value(unsupported)["messages"][0]["id"] = "wamid.unsupported"
        self._post_ok(unsupported)
        self.assertEqual(
            self._texts(session)[-1], "Sent a message that WhatsApp does not pass on to businesses (pool)."
        )

    def test_number_and_identity_changes(self):
        session = self._open()
        customer = session.livechat_messenger_partner_id
        self.assertEqual(customer.phone, "+972 987654321")
        count = len(self._customer_messages(session))
        self._post_ok(fixture("pywa", "system", "phone_number_change"))
        self.assertIn(
            "The customer changed their WhatsApp number from +972 987654321 to +972 912345678",
            self._texts(session)[-1],
        )
        self.assertTrue(self._messages(session)[-1]._livechat_is_staff_note(), "a note for the operators")
        self.assertEqual(customer.phone, "+972 912345678", "the contact follows the new number")
        self.assertEqual(session.livechat_messenger_chat_id, "972912345678")
        self.assertEqual(session.livechat_customer_number, "+972 912345678")
        self.assertEqual(len(self._customer_messages(session)), count, "no message of the customer's")
        # the customer writes from the new number: the same session, the same contact
        self._write("972912345678", "It is me, new phone", name="Test Name")
        self.assertEqual(self._session_of("972912345678"), session)
        self.assertEqual(self._texts(session)[-1], "It is me, new phone")
        # the same notification, as Meta's reference shows it, for a number we never saw: no session
        change = fixture("meta", "webhook_examples", "System Message")
        whatsapp_value(change)["metadata"]["phone_number_id"] = PYWA_PHONE_NUMBER_ID
        self._post_ok(change)
        self.assertFalse(self._session_of("12195555358"))
        # identity changed: the recording is of the old number; the customer now writes from the new one
        identity = fixture("pywa", "system", "identity_change")
        whatsapp_value(identity)["messages"][0]["from"] = "972912345678"
        whatsapp_value(identity)["contacts"][0]["wa_id"] = "972912345678"
        self._post_ok(identity)
        self.assertIn("identity changed", self._texts(session)[-1])
        self.assertTrue(self._messages(session)[-1]._livechat_is_staff_note())

    def test_edit_and_revoke_change_the_original(self):
        # pywa's edit comes from another business number and customer than its other recordings
        edit = fixture("pywa", "edited_message", "image")
        whatsapp_value(edit)["metadata"]["phone_number_id"] = PYWA_PHONE_NUMBER_ID
        original_id = whatsapp_value(edit)["messages"][0]["edit"]["original_message_id"]
        self._write("16505551234", "Old caption", message_id=original_id)
        session = self._session_of("16505551234")
        original = self._customer_messages(session)
        self._post_ok(edit)
        self.assertEqual(self._customer_messages(session), original, "no new message")
        self.assertIn("Updated image caption", original.body)
        self.assertIn("o-mail-Message-edited", original.body, "marked (edited), as Discuss marks edits")
        self.assertNotIn("Old caption", original.body)
        # the customer deletes it (pywa's recording has placeholders: our ids in their place)
        revoke = fixture("pywa", "deleted_message", "revoke")
        value = whatsapp_value(revoke)
        value["metadata"]["phone_number_id"] = PYWA_PHONE_NUMBER_ID
        value["messages"][0].update({"from": "16505551234", "id": "wamid.revoke"})
        value["messages"][0]["revoke"]["original_message_id"] = original_id
        self._post_ok(revoke)
        self.assertEqual(self._customer_messages(session), original, "no new message")
        self.assertEqual(original.preview, "Deleted by the customer.")
        self.assertNotIn("[revoke]", " ".join(self._texts(session)))

    def test_in_the_operators_language(self):
        """What the customer sent is written for the operator who answers, in their language
        (here French, with translations of our own: the .po files are the lead's)."""
        self.env["res.lang"]._activate_lang("fr_FR")
        french = {
            "Contact: %(name)s": "Contact : %(name)s",
            "Location: %(place)s": "Lieu : %(place)s",
            "Open the map (%(latitude)s, %(longitude)s)": "Ouvrir la carte (%(latitude)s, %(longitude)s)",
        }
        translations = dict(code_translations.python_translations)
        translations["livechat_groups", "fr_FR"] = french
        self.patch(code_translations, "python_translations", translations)
        self.support_1.lang = "fr_FR"
        session = self._open()
        self._post_ok(fixture("pywa", "message", "contacts"))
        self.assertIn("Contact : Chandler Bing", self._texts(session)[-1])
        location = fixture("pywa", "message", "chosen_location")
        whatsapp_value(location)["messages"][0]["id"] = "wamid.location"
        self._post_ok(location)
        self.assertIn("Lieu : Facebook HQ", self._texts(session)[-1])
        self.assertIn("Ouvrir la carte", self._texts(session)[-1])

    def test_voice_saved_with_its_extension(self):
        self._open()
        voice = fixture("pywa", "message", "voice")
        media_id = whatsapp_value(voice)["messages"][0]["audio"]["id"]
        self.standin.media[media_id] = (b"OggS voice", "audio/ogg; codecs=opus", "")
        self._post_ok(voice)
        session = self._session_of(PYWA_CUSTOMER)
        attachment = self._messages(session)[-1].attachment_ids
        self.assertEqual((attachment.name, attachment.mimetype), ("audio.ogg", "audio/ogg"))
        self.assertEqual(attachment.raw, b"OggS voice")

    def test_only_this_accounts_number(self):
        # Meta's example is for its business number 106540352242922, not this account's
        self._post_ok(fixture("meta", "webhook_examples", "Text Message"))
        self.assertFalse(self._session_of("16505551234"))
        self._post_ok(fixture("pywa", "message", "text"))
        self.assertEqual(self._texts(self._session_of(PYWA_CUSTOMER))[-1], "Body Text")


@tagged("post_install", "-at_install")
class TestTelegramRecorded(RecordedCase):
    """nutgram's recorded Telegram updates. Most of them share one update id (123456789) and
    one chat (12345): each is given its own update id, or the second would be a repeat."""

    provider = "telegram"

    def setUp(self):
        super().setUp()
        self._online(self.support_1)
        self.update_ids = iter(range(500, 600))

    def _update(self, name, **changes):
        update = fixture("nutgram", name)
        update["update_id"] = next(self.update_ids)
        update.update(changes)
        return update

    def test_stickers_places_round_videos_dice_and_polls(self):
        self.standin.media["dfgfdgdfgdfggdfgdf"] = (b"\x00\x00\x00\x18ftypmp42", "video/mp4", "")
        self.standin.media["dfghjjghdjhgd"] = (b"OggS", "audio/ogg", "")
        for name in (
            "sticker",
            "location",
            "venue",
            "video_note",
            "dice",
            "message_poll",
            "voice",
            "contact",
        ):
            self._post_ok(self._update(name))
        session = self._session_of("12345")
        messages = self._customer_messages(session)
        self.assertEqual(len(messages), 8, "one message each, none empty")
        sticker, location, venue, video_note, dice, poll, voice, contact = messages
        self.assertEqual(sticker.preview, "🤣")
        self.assertIn("https://www.openstreetmap.org/?mlat=41.899977&amp;mlon=12.501028", location.body)
        self.assertIn("Location: McDonald's, Via Giolitti 65", venue.preview)
        self.assertIn("openstreetmap.org", venue.body)
        self.assertEqual(video_note.attachment_ids.mapped("name"), ["video.mp4"])
        self.assertEqual(dice.preview, "Rolled 🎲: 4")
        self.assertIn("Poll: What's your favorite color?", poll.preview)
        self.assertIn("• Red", poll.preview)
        self.assertIn("• Blue", poll.preview)
        self.assertEqual(voice.attachment_ids.mapped("name"), ["audio.ogg"])
        self.assertIn("Contact: 911", contact.preview)

    def test_largest_photo(self):
        # nutgram's photo lists its largest size last: our own in the same shape lists it first,
        # and one without file sizes, where pixels decide
        photo = self._update("photo")
        sizes = photo["message"]["photo"]
        photo["message"]["photo"] = [sizes[2], sizes[0], sizes[1]]
        for size in sizes:
            self.standin.media[size["file_id"]] = (size["file_id"].encode(), "image/jpeg", "")
        self._post_ok(photo)
        session = self._session_of("11111111")
        self.assertEqual(self._messages(session)[-1].attachment_ids.raw, b"SEES", "the largest file")
        no_sizes = self._update("photo")
        no_sizes["message"]["message_id"] += 1
        no_sizes["message"]["photo"] = [
            {key: value for key, value in size.items() if key != "file_size"} for size in reversed(sizes)
        ]
        self._post_ok(no_sizes)
        self.assertEqual(self._messages(session)[-1].attachment_ids.raw, b"SAAS", "the most pixels: 720x960")

    def test_edited_message_edits_the_original(self):
        edited = self._update("edited_message")
        chat, message_id = edited["edited_message"]["chat"], edited["edited_message"]["message_id"]
        original = self._update("message")
        original["message"].update(message_id=message_id, chat=chat, text="This message")
        original["message"]["from"]["id"] = chat["id"]
        self._post_ok(original)
        session = self._session_of(str(chat["id"]))
        (message,) = self._customer_messages(session)
        self._post_ok(edited)
        self.assertEqual(self._customer_messages(session), message, "no new message")
        self.assertIn("Editing this message", message.body)
        self.assertIn("o-mail-Message-edited", message.body)

    def test_unknown_updates_acknowledged(self):
        self._post_ok(self._update("message"))
        session = self._session_of("456")
        count = len(self._messages(session))
        # a reaction (not among the updates a bot receives unless it asks), a bare poll update
        for name in ("message_reaction", "poll"):
            update = fixture("nutgram", name) if name == "message_reaction" else None
            if update is None:
                update = {"update_id": 0, "poll": fixture("nutgram", "message_poll")["message"]["poll"]}
            update["update_id"] = next(self.update_ids)
            self._post_ok(update)
        self.assertEqual(len(self._messages(session)), count)
