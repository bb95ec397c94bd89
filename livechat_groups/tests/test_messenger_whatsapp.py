from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .messenger_common import LivechatMessengerCase


@tagged("post_install", "-at_install")
class TestMessengerWhatsAppIntake(LivechatMessengerCase):
    """A WhatsApp customer's messages come in through the real webhook route, signed."""

    def test_handshake(self):
        url = f"{self.webhook_path}?hub.mode=subscribe&hub.challenge=8675309&hub.verify_token="
        response = self.url_open(url + self.messenger.verify_token)
        self.assertEqual((response.status_code, response.text), (200, "8675309"))
        self.assertEqual(self.url_open(url + "wrong").status_code, 403)
        self.assertEqual(self.url_open("/livechat_groups/messenger/unknown-token").status_code, 404)

    def test_test_connection(self):
        result = self.messenger.action_test_connection()
        self.assertEqual(result["params"]["message"], "Connected to WhatsApp as +1 555 0100.")
        self.assertEqual(self.standin.requests[-1].path, f"/v21.0/{self.standin.phone_number_id}")
        self.standin.down = True
        self.addCleanup(setattr, self.standin, "down", False)
        with self.assertRaisesRegex(UserError, "could not be reached: check the API address") as caught:
            self.messenger.action_test_connection()
        self.assertNotIn("tried again", str(caught.exception), "nothing is tried again by itself here")
        self.standin.down = False
        self.messenger.access_token = "expired"
        with self.assertRaisesRegex(UserError, "refused our credentials"):
            self.messenger.action_test_connection()

    def test_bad_signatures_write_nothing(self):
        payload = self.standin.whatsapp_payload("16505551234", text="Hello")
        body = b'{"object": "whatsapp_business_account"}'
        other = self.standin.sign(body)  # a real signature, of another body: a replay
        for headers in ({}, {"X-Hub-Signature-256": "sha256=" + "0" * 64}, other):
            self.assertEqual(self._post(payload, headers=headers).status_code, 403)
        self.assertFalse(self.Outbox.search([("messenger_id", "=", self.messenger.id)]))
        self.assertFalse(self._session_of("16505551234"))

    def test_new_customer_routed(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello, my order is late")
        session = self._session_of("16505551234")
        self.assertEqual(len(session), 1)
        self.assertEqual(session.livechat_routing_state, "assigned")
        self.assertEqual(session.livechat_operator_user_id, self.support_1)
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertEqual(session.livechat_medium, "whatsapp")
        customer = session.livechat_messenger_partner_id
        self.assertEqual((customer.name, customer.phone), ("Carla Customer", "+1 650-555-1234"))
        self.assertIn(customer, session.channel_member_ids.partner_id)
        self.assertEqual(self._texts(session)[-1], "Hello, my order is late")
        self.assertEqual(session.livechat_customer_number, "+1 650-555-1234")

        # the second message joins the same session, and nothing of the customer's goes back out
        self._write("16505551234", "Order 42")
        self.assertEqual(self._session_of("16505551234"), session)
        self.assertEqual(self._texts(session)[-2:], ["Hello, my order is late", "Order 42"])
        self._send()
        self.assertEqual(self.standin.sent(), [])

    def test_queued_when_nobody_online_notice_delivered(self):
        self._write("16505550000", "Anyone there?")
        session = self._session_of("16505550000")
        self.assertEqual(session.livechat_routing_state, "queued")
        self._send()
        (sent,) = self.standin.sent()
        self.assertEqual(sent["to"], "16505550000")
        self.assertIn("you are number 1 in the queue of General Support", sent["text"]["body"])
        # the queue holds what they write meanwhile, and an operator takes it
        self._write("16505550000", "Still waiting")
        self.assertEqual(self._texts(session)[-1], "Still waiting")
        session.with_user(self.support_1).action_livechat_take()
        self.assertEqual(session.livechat_operator_user_id, self.support_1)

    def test_same_message_twice_and_batch_with_repeat(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello", message_id="wamid.A")
        self._write("16505551234", "Hello", message_id="wamid.A")
        session = self._session_of("16505551234")
        self.assertEqual(self._texts(session).count("Hello"), 1)
        # Meta batches a repeat with a new message: the new one is kept
        payload = self.standin.whatsapp_payload(
            "16505551234",
            name="Carla",
            messages=[
                {
                    "from": "16505551234",
                    "id": "wamid.A",
                    "timestamp": "1749416383",
                    "type": "text",
                    "text": {"body": "Hello"},
                },
                {
                    "from": "16505551234",
                    "id": "wamid.B",
                    "timestamp": "1749416390",
                    "type": "text",
                    "text": {"body": "New one"},
                },
            ],
        )
        self.assertEqual(self._post(payload).status_code, 200)
        texts = self._texts(session)
        self.assertEqual((texts.count("Hello"), texts.count("New one")), (1, 1))
        self.assertEqual(
            self.Outbox.search_count([("messenger_id", "=", self.messenger.id), ("direction", "=", "in")]), 2
        )

    def test_partners_matched_whatever_their_format(self):
        Partner = self.env["res.partner"]
        us = Partner.create(
            {"name": "Stored US local", "phone": "(650) 555-1234", "country_id": self.env.ref("base.us").id}
        )
        intl = Partner.create({"name": "Stored international", "mobile": "+1 650 555 9876"})
        fr = Partner.create({"name": "Stored with 00", "phone": "0033 6 12 34 56 78"})
        nocountry = Partner.create({"name": "Stored local, no country", "phone": "650.555.4321"})
        for wa_id, partner in (
            ("16505551234", us),
            ("16505559876", intl),
            ("33612345678", fr),
            ("16505554321", nocountry),  # the messenger's country (US) reads it
        ):
            self._write(wa_id, "Hi")
            self.assertEqual(self._session_of(wa_id).livechat_messenger_partner_id, partner, wa_id)
        self.assertFalse(Partner.search_count([("name", "=", "Carla Customer")]), "no duplicate contact")

    def test_two_partners_one_number(self):
        Partner = self.env["res.partner"]
        first = Partner.create({"name": "Anna Shared", "phone": "+1 650 555 7777"})
        second = Partner.create(
            {"name": "Bob Shared", "mobile": "(650) 555-7777", "country_id": self.env.ref("base.us").id}
        )
        self._write("16505557777", "Hi")
        session = self._session_of("16505557777")
        self.assertEqual(
            session.livechat_messenger_partner_id, first, "the oldest contact, deterministically"
        )
        note = self.env["mail.message"].search(
            [("model", "=", "discuss.channel"), ("res_id", "=", session.id), ("body", "ilike", "2 contacts")]
        )
        self.assertIn(f"Bob Shared (#{second.id})", note.preview)
        self.assertTrue(note._livechat_is_staff_note(), "for the operators, not sent to the customer")

    def test_reply_reaches_customer_and_states_move_forward(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234")
        message = session.with_user(self.support_1).message_post(
            body="We are on it", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        note = session.with_user(self.support_1).message_post(
            body="Internal: customer seems upset", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        (row,) = self.Outbox.search([("message_id", "in", (message | note).ids)])
        self.assertEqual((row.message_id, row.state), (message, "queued"), "the note never leaves Odoo")
        self._send()
        (request,) = [r for r in self.standin.requests if r.method == "POST"]
        self.assertEqual(request.path, f"/v21.0/{self.standin.phone_number_id}/messages")
        self.assertEqual(request.headers["Authorization"], f"Bearer {self.standin.token}")
        self.assertEqual(
            request.json,
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "16505551234",
                "type": "text",
                "text": {"preview_url": False, "body": "*Sonia Support*: We are on it"},
                # given back in its statuses: they find the row even if its send was not recorded
                "biz_opaque_callback_data": row.reference,
            },
        )
        self.assertEqual(row.state, "sent")
        wamid = row.external_id
        status = self.standin.whatsapp_status
        # read arrives before delivered: delivered never goes back
        self._post(
            self.standin.whatsapp_payload("16505551234", statuses=[status(wamid, "read", "16505551234")])
        )
        self.assertEqual(row.state, "read")
        self._post(
            self.standin.whatsapp_payload("16505551234", statuses=[status(wamid, "delivered", "16505551234")])
        )
        self.assertEqual(row.state, "read")
        self._post(
            self.standin.whatsapp_payload("16505551234", statuses=[status(wamid, "sent", "16505551234")])
        )
        self.assertEqual(row.state, "read")
        self.assertEqual(message._livechat_messenger_state_values()["livechatMessengerState"], "read")

    def test_provider_down_kept_and_sent_once_on_retry(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234")
        self.standin.down = True
        session.with_user(self.support_1).message_post(
            body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._send()
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        self.assertEqual((row.state, row.attempt_count), ("queued", 1))
        self.assertTrue(row.next_attempt_date)
        self.assertIn("could not be reached", row.failure_reason)
        self.standin.down = False
        self.standin.requests.clear()
        self._send()
        self.assertFalse(self.standin.sent(), "not due yet: the backoff holds it")
        with freeze_time(row.next_attempt_date + timedelta(seconds=1)):
            self._send()
            self._send()
        self.assertEqual(len(self.standin.sent()), 1, "sent once")
        self.assertEqual(row.state, "sent")

    def test_failed_status_told_in_plain_words(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234")
        session.with_user(self.support_1).message_post(
            body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._send()
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        status = self.standin.whatsapp_status(
            row.external_id, "failed", "16505551234", error_code=131047, error_details="Re-engagement message"
        )
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]))
        self.assertEqual(row.state, "failed")
        self.assertIn("more than 24 hours have passed", row.failure_reason)
        self.assertIn("Not delivered to the customer: “Answer”", self._texts(session)[-1])

    def test_one_failing_window_note_stops_nothing(self):
        """The send job first tells the operators of the windows that closed: one session whose
        note fails is skipped, the others are told, and the outbox is still sent."""
        self._online(self.support_1, self.support_2)
        self.external_livechat.max_sessions_per_operator = 0
        wrote = datetime(2026, 3, 2, 9, 0, 0)
        stamp = int((wrote - datetime(1970, 1, 1)).total_seconds())
        self._write("16505551234", "Hello", timestamp=stamp)
        self._write("16505550000", "Bonjour", name="Bruno", timestamp=stamp)
        first, second = self._session_of("16505551234"), self._session_of("16505550000")
        Session = type(self.env["discuss.channel"])
        post = Session._livechat_messenger_post_window_note

        def fails_for_the_first(session):
            if session == first:
                raise ValueError("a broken session")
            return post(session)

        with freeze_time(wrote + timedelta(hours=24, minutes=1)):
            fresh = "16505559999"
            self._write(fresh, "Still here", name="Fred")
            answered = self._session_of(fresh)
            answered.with_user(answered.livechat_operator_id.user_ids[0]).message_post(
                body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            with (
                patch.object(Session, "_livechat_messenger_post_window_note", fails_for_the_first),
                self.assertLogs("odoo.addons.livechat_groups.models.livechat_routing", "ERROR"),
            ):
                self._send()
            self.assertIn("24-hour window closed at 2026-03-03 09:00", self._texts(second)[-1])
            self.assertNotIn("24-hour window closed", " ".join(self._texts(first)))
            self.assertTrue((first | second).mapped("livechat_messenger_window_notice") == [True, True])
            row = self.Outbox.search([("session_id", "=", answered.id), ("direction", "=", "out")])
            self.assertEqual(row.state, "sent", "the outbox is sent all the same")

    def test_24_hour_rule(self):
        self.env["livechat.messenger.template"].create(
            {
                "messenger_id": self.messenger.id,
                "name": "follow_up",
                "language": "en_US",
                "body": "Hello again! Can we help?",
            }
        )
        self._online(self.support_1)
        wrote = datetime(2026, 3, 2, 9, 0, 0)
        self._write("16505551234", "Hello", timestamp=int((wrote - datetime(1970, 1, 1)).total_seconds()))
        session = self._session_of("16505551234")
        self.assertEqual(session.livechat_messenger_last_inbound_date, wrote, "WhatsApp's own timestamp")
        with freeze_time(wrote + timedelta(hours=24, minutes=1)):
            self._send()  # the job tells the operator first
            self.assertIn("24-hour window closed at 2026-03-03 09:00", self._texts(session)[-1])
            self.assertTrue(session.livechat_messenger_window_notice)
            session.with_user(self.support_1).message_post(
                body="Late answer", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            self._send()
            self.assertFalse(self.standin.sent(), "free-form refused without calling WhatsApp")
            row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
            self.assertEqual(row.state, "failed")
            template = self.messenger.template_ids
            wizard = (
                self.env["livechat.messenger.template.send"]
                .with_user(self.support_1)
                .create({"session_id": session.id, "template_id": template.id})
            )
            self.assertEqual(str(wizard.window_end), "2026-03-03 09:00:00")
            wizard.action_send()
            self._send()
        (sent,) = self.standin.sent()
        self.assertEqual((sent["type"], sent["template"]["name"]), ("template", "follow_up"))
        self.assertIn("Hello again! Can we help?", self._texts(session)[-1])

    def test_forward_and_assign(self):
        self._online(self.support_1, self.sales_1)
        self._write("16505551234", "I want to buy")
        session = self._session_of("16505551234")
        session.with_user(self.support_1).action_livechat_forward(
            self.group_sales.id, note="Wants 10 licences"
        )
        self.assertEqual(session.livechat_operator_user_id, self.sales_1)
        self._send()
        bodies = [sent["text"]["body"] for sent in self.standin.sent()]
        self.assertIn("You are transferred to Sales Department.", bodies)
        self.assertFalse([body for body in bodies if "licences" in body], "the forward note stays inside")
        session.with_user(self.ext_supervisor).action_livechat_assign(self.tech_1.id)
        self.assertEqual(session.livechat_operator_user_id, self.tech_1)
        self._write("16505551234", "Hello?")
        self.assertEqual(self._session_of("16505551234"), session)
        session.with_user(self.ext_supervisor).action_livechat_close()
        self.assertEqual(session.livechat_routing_state, "closed")
        self._write("16505551234", "Me again")
        new = self._session_of("16505551234") - session
        self.assertEqual(len(new), 1, "a closed session is not written to again: a new one opens")
        self.assertEqual(new.livechat_messenger_partner_id, session.livechat_messenger_partner_id)

    def test_no_answer_in_time_is_told_to_the_customer_not_who_left(self):
        """Their operator does not answer a WhatsApp customer in time: the timers hand the
        session to a colleague, in a batch whose messages are written at its end. The customer
        is sent the notice of the wait; the staff's note of who left stays inside."""
        self.external_livechat.answer_timeout_minutes = 3
        self._online(self.support_1)
        self._write("16505551234", "Hello, my order is late")
        session = self._session_of("16505551234")
        self.assertEqual(session.livechat_operator_user_id, self.support_1)
        self._online(self.support_2)
        with freeze_time(session.livechat_answer_due + timedelta(seconds=1)):
            self.env["livechat.timers"]._cron_livechat_timers()
        self.env.invalidate_all()
        self.assertEqual(session.livechat_operator_user_id, self.support_2)
        self.assertIn("left the conversation: Simon Support answers it now.", self._texts(session))
        self._send()
        self.assertEqual(
            [(sent["to"], sent["text"]["body"]) for sent in self.standin.sent()],
            [("16505551234", "Sorry for the wait: another operator will answer you.")],
        )

    def test_previous_operator_first(self):
        self._online(self.support_2)
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234")
        self.assertEqual(session.livechat_operator_user_id, self.support_2)
        session.with_user(self.ext_supervisor).action_livechat_close()
        self._online(self.support_1)
        for i in range(2):  # one each: support_2 got the last one, so support_1 would come next
            self._write(f"1650555000{i}", "Someone else")
        self._write("16505551234", "Me again")
        new = self._session_of("16505551234") - session
        self.assertEqual(new.livechat_operator_user_id, self.support_2)

    def test_media_both_ways(self):
        self._online(self.support_1)
        media_id = self.standin.add_media(b"%PDF-1.4 invoice", "application/pdf", "invoice.pdf")
        self._write("16505551234", "My invoice", media=("document", media_id))
        session = self._session_of("16505551234")
        message = self.env["mail.message"].search(
            [("model", "=", "discuss.channel"), ("res_id", "=", session.id)], order="id desc", limit=1
        )
        self.assertEqual(message.attachment_ids.mapped("name"), ["invoice.pdf"])
        self.assertEqual(message.attachment_ids.raw, b"%PDF-1.4 invoice")
        # out: the operator attaches a picture
        attachment = self.env["ir.attachment"].create(
            {
                "name": "label.png",
                "raw": b"\x89PNG fake",
                "mimetype": "image/png",
                "res_model": "discuss.channel",
                "res_id": session.id,
            }
        )
        session.with_user(self.support_1).message_post(
            body="", attachment_ids=attachment.ids, message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self._send()
        upload = next(r for r in self.standin.requests if r.path.endswith("/media"))
        self.assertEqual(upload.form["file"], ("label.png", b"\x89PNG fake", "image/png"))
        (sent,) = self.standin.sent()
        self.assertEqual(sent["type"], "image")
        self.assertEqual(
            self.standin.media[sent["image"]["id"]][0], b"\x89PNG fake", "the uploaded file's id"
        )

    def test_media_too_large_refused_with_a_note(self):
        self._online(self.support_1)
        from ..models import livechat_messenger

        media_id = self.standin.add_media(b"x" * 2048, "video/mp4", "")
        self.patch(livechat_messenger, "MAX_MEDIA_SIZE", 1024)
        self._write("16505551234", "", media=("video", media_id))
        session = self._session_of("16505551234")
        self.assertIn(
            "A file the customer sent (video) could not be received: the file is larger than",
            "\n".join(self._texts(session)),
        )


@tagged("post_install", "-at_install")
class TestMessengerBoard(LivechatMessengerCase):
    """The board, the session form and the figures say where the customer writes from."""

    def test_board_and_figures_by_channel(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello")
        website = self._get_session(self.external_livechat, "Web Visitor")
        session = self._session_of("16505551234")
        self.assertEqual((session.livechat_medium, website.livechat_medium), ("whatsapp", "website"))
        Session = self.env["discuss.channel"].with_user(self.ext_supervisor)
        board = Session.web_search_read(
            [("id", "in", (session | website).ids)],
            {"livechat_medium": {}, "livechat_customer_number": {}},
        )["records"]
        self.assertEqual(
            sorted((r["livechat_medium"], r["livechat_customer_number"]) for r in board),
            [("website", False), ("whatsapp", "+1 650-555-1234")],
        )
        Report = self.env["livechat.session.report"].with_user(self.ext_supervisor)
        figures = dict(
            Report._read_group([("session_id", "in", (session | website).ids)], ["medium"], ["__count"])
        )
        self.assertEqual(figures, {"website": 1, "whatsapp": 1})
