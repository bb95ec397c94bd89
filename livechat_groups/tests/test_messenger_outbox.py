import socket
import threading
from datetime import timedelta

import requests
from freezegun import freeze_time

from odoo import fields
from odoo.tests import BaseCase, tagged
from odoo.tools import mute_logger

from odoo.addons.livechat_groups.messengers import common, whatsapp
from odoo.addons.livechat_groups.models.livechat_messenger_message import UNCERTAIN_WAIT

from .common import CommitPoints, Killed
from .messenger_common import LivechatMessengerCase

OUTBOX_LOG = "odoo.addons.livechat_groups.models.livechat_messenger_message"


@tagged("post_install", "-at_install")
class TestMessengerOutbox(LivechatMessengerCase):
    """The outbox sends each answer at most once, whatever stops its job: each answer is its
    own unit (claimed as ``sending`` and committed, sent, its result committed). The job's
    commits are savepoints here (:class:`CommitPoints`), and a kill rolls back to the last one,
    as PostgreSQL does with a killed worker's transaction."""

    def setUp(self):
        super().setUp()
        self._online(self.support_1)
        self._write("16505551234", "Hello")
        self.session = self._session_of("16505551234")

    def _answer(self, *bodies):
        """The operator answers ``bodies``; return their outbox rows, in order."""
        messages = [
            self.session.with_user(self.support_1).message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            for body in bodies
        ]
        return self.Outbox.search([("message_id", "in", [m.id for m in messages])], order="id")

    def _sent_bodies(self):
        return [sent["text"]["body"].split(": ", 1)[1] for sent in self.standin.sent()]

    def _run_job(self):
        """One run of the scheduled action, committing as the scheduler's does; a kill inside
        it rolls back what it did not commit yet."""
        with CommitPoints(self):
            self.Outbox._cron_send(auto_commit=True)
        self.env.invalidate_all()

    def test_killed_mid_batch_sends_nothing_twice(self):
        rows = self._answer("one", "two", "three")
        original = whatsapp.WhatsAppApi.send
        calls = []

        def send_then_die(api, payload):
            calls.append(payload)
            wamid = original(api, payload)  # WhatsApp took it...
            if len(calls) == 2:
                raise Killed  # ...and the worker is killed before recording it
            return wamid

        self.patch(whatsapp.WhatsAppApi, "send", send_then_die)
        self._run_job()
        self.assertEqual(rows.mapped("state"), ["sent", "sending", "queued"], "the first send was kept")
        self._run_job()
        self._run_job()
        self.assertEqual(self._sent_bodies(), ["one", "two", "three"], "nothing reached the customer twice")
        self.assertEqual(rows.mapped("state"), ["sent", "sending", "sent"])
        # the one in flight is not sent again: after the wait, it says it may not have arrived
        with freeze_time(fields.Datetime.now() + UNCERTAIN_WAIT + timedelta(seconds=1)):
            self._run_job()
        self.assertEqual(len(self.standin.sent()), 3)
        self.assertEqual((rows[1].state, rows[1].failure_code), ("failed", "uncertain"))
        self.assertIn("it may not have reached the customer", rows[1].failure_reason)
        self.assertIn("Not delivered to the customer: “two”", self._texts(self.session)[-1])
        # WhatsApp's status, with the reference sent along, tells it arrived after all
        reference = self.standin.sent()[1]["biz_opaque_callback_data"]
        status = self.standin.whatsapp_status("wamid.two", "delivered", "16505551234", reference=reference)
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]))
        self.assertEqual((rows[1].state, rows[1].external_id), ("delivered", "wamid.two"))
        self.assertFalse(rows[1].failure_reason)

    def test_an_error_after_a_send_fails_that_answer_alone(self):
        rows = self._answer("one", "two", "three")
        Outbox = type(self.Outbox)
        original = Outbox._messenger_notify_state

        def notify_or_fail(records):
            if rows[1] in records.filtered(lambda row: row.state == "sent"):
                raise ValueError("the bus is down")
            return original(records)

        self.patch(Outbox, "_messenger_notify_state", notify_or_fail)
        with mute_logger(OUTBOX_LOG):
            self._run_job()
            self._run_job()
        self.assertEqual(self._sent_bodies(), ["one", "two", "three"], "no answer sent again")
        self.assertEqual(rows.mapped("state"), ["sent", "sending", "sent"], "the others' results are kept")

    def test_late_accept_is_not_sent_again(self):
        """WhatsApp takes the message after our timeout: it is not sent again within seconds;
        its status, found by the reference sent with it, records it."""
        first, second = self._answer("one", "two")
        original = requests.request

        def late(method, url, **kwargs):
            original(method, url, **kwargs)  # WhatsApp took it
            raise requests.ReadTimeout("answered after our timeout")

        self.patch(common.requests, "request", late)
        self._send()
        self.assertEqual((first.state, first.failure_code), ("sending", "late"))
        self.assertEqual(
            first.message_id._livechat_messenger_state_values()["livechatMessengerWait"],
            {"reason": "late", "provider": "WhatsApp", "next": False},
        )
        for seconds in (5, 30, 90):
            with freeze_time(first.sending_date + timedelta(seconds=seconds)):
                self._send()
        self.assertEqual(self._sent_bodies(), ["one", "two"], "each sent once")
        (request_one, _request_two) = self.standin.sent()
        self.assertEqual(request_one["biz_opaque_callback_data"], first.reference)
        status = self.standin.whatsapp_status("wamid.late", "sent", "16505551234", reference=first.reference)
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]))
        self.assertEqual((first.state, first.external_id), ("sent", "wamid.late"))
        with freeze_time(second.sending_date + UNCERTAIN_WAIT + timedelta(seconds=1)):
            self._send()
        self.assertEqual((first.state, second.state), ("sent", "failed"), "no word of the second")
        self.assertEqual(len(self.standin.sent()), 2)

    def test_refused_connection_is_tried_again(self):
        """A provider that cannot be connected to surely took nothing: tried again later."""
        (row,) = self._answer("one")
        self.messenger.api_base_url = f"http://127.0.0.1:{_closed_port()}/v21.0"
        self._send()
        self.assertEqual((row.state, row.failure_code, row.attempt_count), ("queued", "unreachable", 1))
        self.assertTrue(row.next_attempt_date)

    def test_the_wait_is_a_system_parameter(self):
        (row,) = self._answer("one")
        self.Outbox._messenger_claim()  # its sender dies at once
        self.env["ir.config_parameter"].set_param("livechat_groups.outbox_uncertain_seconds", "10")
        with freeze_time(row.sending_date + timedelta(seconds=5)):
            self._send()
        self.assertEqual(row.state, "sending")
        with freeze_time(row.sending_date + timedelta(seconds=11)):
            self._send()
        self.assertEqual((row.state, row.failure_code), ("failed", "uncertain"))
        self.assertFalse(self.standin.sent(), "never sent: its sender died before the call")

    def test_status_for_a_row_being_sent_is_applied(self):
        """A status that comes while its row is still ``sending`` (its sender died after
        WhatsApp took it) moves it forward: it is not lost."""
        (row,) = self._answer("one")
        self.Outbox._messenger_claim()
        self.assertEqual(row.state, "sending")
        status = self.standin.whatsapp_status(
            "wamid.early", "delivered", "16505551234", reference=row.reference
        )
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]))
        self.assertEqual((row.state, row.external_id), ("delivered", "wamid.early"))
        # another account's reference finds nothing of ours
        other = self.standin.whatsapp_status("wamid.other", "read", "16505551234", reference="not-ours")
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[other]))
        self.assertEqual(row.state, "delivered")


@tagged("post_install", "-at_install")
class TestMessengerWaitShown(LivechatMessengerCase):
    """Operators see why an answer waits, and until when, live."""

    def test_reason_and_next_attempt_told_live(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234")
        message = session.with_user(self.support_1).message_post(
            body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.standin.down = True
        self.env["bus.bus"].search([]).unlink()
        self._send()
        row = self.Outbox.search([("message_id", "=", message.id)])
        wait = {
            "reason": "unreachable",
            "provider": "WhatsApp",
            "next": fields.Datetime.to_string(row.next_attempt_date),
        }
        values = message._livechat_messenger_state_values()
        self.assertEqual(
            (values["livechatMessengerState"], values["livechatMessengerWait"]), ("queued", wait)
        )
        notifications = self.env["bus.bus"].search([("channel", "like", f'"discuss.channel",{session.id}]')])
        self.assertTrue(
            [n for n in notifications if '"livechatMessengerWait":{"reason":"unreachable"' in n.message],
            "the operators' Discuss learns it at once",
        )
        self.standin.down = False
        with freeze_time(row.next_attempt_date + timedelta(seconds=1)):
            self._send()
        self.assertEqual(message._livechat_messenger_state_values()["livechatMessengerWait"], False)


@tagged("post_install", "-at_install")
class TestMessengerOutboxTelegram(LivechatMessengerCase):
    """Telegram sends no statuses: an answer it may have taken is said at once to maybe not
    have reached the customer, and never sent again."""

    provider = "telegram"

    def test_late_accept_is_failed_at_once_not_sent_again(self):
        self._online(self.support_1)
        self._post(self.standin.telegram_update(4242, first_name="Tom", text="Hi"))
        session = self._session_of("4242")
        session.with_user(self.support_1).message_post(
            body="Thanks Tom", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        original = requests.request

        def late(method, url, **kwargs):
            original(method, url, **kwargs)  # Telegram took it
            raise requests.ReadTimeout("answered after our timeout")

        self.patch(common.requests, "request", late)
        self._send()
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        self.assertEqual((row.state, row.failure_code), ("failed", "uncertain"))
        self.assertIn("it may not have reached the customer", row.failure_reason)
        with freeze_time(fields.Datetime.now() + UNCERTAIN_WAIT + timedelta(seconds=1)):
            self._send()
        self.assertEqual(len(self.standin.sent()), 1, "sent once")


class TestNeverSent(BaseCase):
    """Which failed requests surely never reached the provider (and may be sent again)."""

    def test_refused_is_never_sent(self):
        with self.assertRaises(common.MessengerError) as caught:
            common.http_call("POST", f"http://127.0.0.1:{_closed_port()}/", 2)
        self.assertEqual((caught.exception.transient, caught.exception.uncertain), (True, False))

    def test_no_answer_in_time_may_have_been_taken(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        self.addCleanup(server.close)
        accepted = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
        thread.start()
        with self.assertRaises(common.MessengerError) as caught:
            common.http_call("POST", f"http://127.0.0.1:{server.getsockname()[1]}/", 0.5, json={})
        for connection, _address in accepted:
            connection.close()
        self.assertEqual((caught.exception.transient, caught.exception.uncertain), (True, True))


def _closed_port():
    """A local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
