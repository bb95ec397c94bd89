import json
from datetime import datetime

import psycopg2
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.livechat_groups.messengers import StatusUpdate

from .common import LivechatGroupsRpcMixin
from .messenger_common import LivechatMessengerCase

WEBHOOK_LOG = "odoo.addons.livechat_groups.controllers.messenger"


class MessengerAttackCase(LivechatMessengerCase, LivechatGroupsRpcMixin):
    """Attacks on the messengers' doors, made the way an attacker makes them: JSON-RPC as an
    employee, or a webhook signed with the app's real secret."""

    def _inbound_count(self):
        return self.Outbox.search_count([("messenger_id", "=", self.messenger.id), ("direction", "=", "in")])

    def _sessions(self):
        return self.env["discuss.channel"].search_count([("livechat_messenger_id", "=", self.messenger.id)])

    def assertDropped(self, body):
        """The signed ``body`` (bytes or a payload) is acknowledged, logged and dropped whole."""
        sessions, inbound = self._sessions(), self._inbound_count()
        with self.assertLogs(WEBHOOK_LOG, "WARNING"):
            response = self._post(body)
        self.assertEqual((response.status_code, response.text), (200, "Dropped"), body)
        self.assertEqual((self._sessions(), self._inbound_count()), (sessions, inbound), "nothing written")


@tagged("post_install", "-at_install")
class TestMessengerAttacksWhatsApp(MessengerAttackCase):
    def test_employee_cannot_forge_a_messenger_conversation(self):
        self._online(self.support_1)
        vals = {
            "name": "Diverted",
            "channel_type": "group",
            "livechat_messenger_id": self.messenger.id,
            "livechat_messenger_chat_id": "16505551234",
            "livechat_active": True,
        }
        self._rpc_refused(
            "AccessError", "Only the messenger's intake", self.employee, "discuss.channel", "create", vals
        )
        self.assertFalse(self.env["discuss.channel"].search([("name", "=", "Diverted")]))
        # one made before the guard (as the system): neither receives the customer nor sends for them
        forged = self.env["discuss.channel"].create(
            dict(vals, channel_member_ids=[(0, 0, {"partner_id": self.employee.partner_id.id})])
        )
        self._write("16505551234", "Hello")
        session = self._session_of("16505551234") - forged
        self.assertEqual(session.channel_type, "livechat")
        self.assertNotIn("Hello", self._texts(forged))
        forged.with_user(self.employee).message_post(
            body="Send me your card number", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.assertFalse(self.Outbox.search([("session_id", "=", forged.id)]), "nothing queued from it")
        self._send()
        self.assertFalse([s for s in self.standin.sent() if "card" in json.dumps(s)])

    def test_customer_number_of_an_employee(self):
        self._online(self.support_1)
        self.employee.partner_id.phone = "+1 650 555 2222"
        self._write("16505552222", "Hello")
        session = self._session_of("16505552222")
        customer = session.livechat_messenger_partner_id
        self.assertNotEqual(customer, self.employee.partner_id, "an employee's contact is never the customer")
        self.assertNotIn(self.employee.partner_id, session.channel_member_ids.partner_id)
        # the customer is later given an employee's account: still the customer, never the staff
        hired = self._user("hired", "base.group_user", name="Hired Customer", partner_id=customer.id)
        session.with_user(self.support_1).message_post(
            body="Internal: VIP, refund approved", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        self.assertNotIn(customer, session._livechat_staff_partners())
        self.assertFalse(
            self.env["mail.message"].with_user(hired).search([("body", "ilike", "refund approved")]),
            "the ORM hides the note from its customer",
        )
        self.authenticate(hired.login, hired.login)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        bodies = json.dumps(data)
        self.assertIn("Hello", bodies)
        self.assertNotIn("refund approved", bodies)

    def test_webhook_for_another_phone_number(self):
        self._online(self.support_1)
        theirs = self.standin.whatsapp_payload("16505554444", text="For number A")
        theirs["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999000"
        self.assertEqual(self._post(theirs).status_code, 200)
        self.assertFalse(self._session_of("16505554444"), "another number's message is not ours")
        ours = self.standin.whatsapp_payload("16505554444", text="For us")
        ours["entry"] += theirs["entry"]
        self.assertEqual(self._post(ours).status_code, 200)
        self.assertEqual(self._texts(self._session_of("16505554444"))[-1], "For us")
        self.assertNotIn("For number A", self._texts(self._session_of("16505554444")))

    def test_customer_matched_within_the_company(self):
        self._online(self.support_1)
        Partner = self.env["res.partner"]
        other = self.env["res.company"].create({"name": "Second Company"})
        private = Partner.create(
            {"name": "Private to the first", "phone": "+1 650 555 3333", "company_id": self.env.company.id}
        )
        shared = Partner.create({"name": "Shared contact", "phone": "+1 650 555 3434"})
        self.messenger.company_id = other
        self._write("16505553333", "Hello", name="Carla Customer")
        customer = self._session_of("16505553333").livechat_messenger_partner_id
        self.assertNotEqual(customer, private, "another company's contact is not matched")
        self.assertEqual(customer.name, "Carla Customer")
        self._write("16505553434", "Hello")
        self.assertEqual(self._session_of("16505553434").livechat_messenger_partner_id, shared)

    def test_malformed_deliveries_dropped_whole(self):
        self._online(self.support_1)

        def payload(**message):
            good = self.standin.whatsapp_payload("16505555555", text="Hi", message_id="wamid.ok")
            # a good message first: a bad one after it must not leave it half-made
            good["entry"][0]["changes"][0]["value"]["messages"].append(
                dict(
                    {"from": "16505555555", "id": "wamid.bad", "timestamp": "1749416383", "type": "text"},
                    **message,
                )
            )
            return good

        entry_object = self.standin.whatsapp_payload("16505555555", text="Hi")
        entry_object["entry"] = entry_object["entry"][0]
        deep = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        for body in (
            entry_object,
            payload(text="plain string"),
            payload(text={"body": {"nested": 1}}),
            payload(text={"body": "Hi"}, timestamp="99999999999999999999"),
            payload(text={"body": "Hi"}, id=["wamid.list"]),
            payload(text={"body": "Hi"}, **{"from": ["16505555555"]}),
            payload(text={"body": "Hi"}, **{"from": "1650555xxxx"}),
            deep,
            b"not json",
            b"[]",
        ):
            self.assertDropped(body)
        self.assertFalse(self._session_of("16505555555"))


@tagged("post_install", "-at_install")
class TestMessengerAttacksTelegram(MessengerAttackCase):
    provider = "telegram"

    def test_malformed_updates_dropped_whole(self):
        self._online(self.support_1)

        def update(**changes):
            good = self.standin.telegram_update(4343, first_name="Tom", text="Hi")
            good["message"].update(changes)
            return good

        for body in (
            dict(update(), message="a string"),
            update(chat=[4343]),
            update(chat={"id": [4343], "type": "private"}),
            update(chat={"id": "4343", "type": "private"}),
            update(text={"body": "Hi"}),
            update(date=10**20),
            update(photo="x"),
            dict(update(), update_id=[1]),
            dict(update(), update_id="1"),
        ):
            self.assertDropped(body)
        self.assertFalse(self._session_of("4343"))

    def test_nul_characters_are_dropped_not_a_server_error(self):
        # PostgreSQL stores no text with a NUL: the customer's name would fail the intake (500,
        # which the provider retries for days); an id with one is unreadable, dropped whole
        self._online(self.support_1)
        update = self.standin.telegram_update(4545, first_name="T\x00om", text="Hi\x00 there")
        response = self._post(update)
        self.assertEqual(response.status_code, 200)
        session = self._session_of("4545")
        self.assertEqual(session.livechat_messenger_partner_id.name, "Tom")
        bad = self.standin.telegram_update(4646, first_name="Tim", text="Hi")
        bad["message"]["chat"]["id"] = "46\x0046"
        self.assertDropped(bad)


@tagged("post_install", "-at_install")
class TestMessengerStatusBeforeSendCommitted(BaseCase):
    """WhatsApp may answer "sent" before the send job commits the message's id. Two
    real transactions on the demo's account (Odoo's test runner serves HTTP inside one): the
    webhook's began before the send committed; its status fails to serialize, which makes Odoo
    run the webhook again, and the retry applies it. (While the send is still under way, the
    status waits for it first: the same row lock.)"""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self._cursor() as cr:
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, {})
            messenger = env.ref("livechat_groups.messenger_whatsapp", raise_if_not_found=False)
            if not messenger:
                self.skipTest("the demo's WhatsApp account is not installed")
            self.messenger_id = messenger.id
            self.row_id = (
                env["livechat.messenger.message"]
                .create({"messenger_id": messenger.id, "direction": "out", "state": "sending"})
                .id
            )
        self.addCleanup(self._cleanup)

    def _cursor(self):
        """A transaction of its own, even while the registry serves a test case's cursor."""
        return db_connect(get_db_name()).cursor()

    def _cleanup(self):
        with self._cursor() as cr:
            cr.execute("DELETE FROM livechat_messenger_message WHERE id = %s", [self.row_id])

    def _receive(self, cr):
        # the registry is given: the test runner holds the lock that looking it up would take
        cr.transaction = api.Transaction(self.registry)
        env = api.Environment(cr, SUPERUSER_ID, {})
        status = StatusUpdate(external_id="wamid.race", state="delivered", date=datetime(2026, 3, 2))
        env["livechat.messenger"].browse(self.messenger_id)._messenger_receive([], [status])

    def test_status_before_the_send_commits_is_applied_on_retry(self):
        with self._cursor() as hook_cr, self._cursor() as send_cr:
            hook_cr.execute("SELECT 1")  # the webhook's transaction began: its snapshot is taken
            # the send job: the row claimed, sent, its id written and committed meanwhile
            send_cr.execute(
                "SELECT id FROM livechat_messenger_message WHERE id = %s FOR UPDATE", [self.row_id]
            )
            send_cr.execute(
                "UPDATE livechat_messenger_message SET state = 'sent', external_id = 'wamid.race' WHERE id = %s",
                [self.row_id],
            )
            send_cr.commit()
            with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.OperationalError) as caught:
                self._receive(hook_cr)
            hook_cr.rollback()
        self.assertEqual(
            caught.exception.pgcode, errorcodes.SERIALIZATION_FAILURE, "Odoo runs the webhook again"
        )
        with self._cursor() as cr:
            self._receive(cr)  # the retry
        with self._cursor() as cr:
            cr.execute("SELECT state FROM livechat_messenger_message WHERE id = %s", [self.row_id])
            self.assertEqual(cr.fetchone()[0], "delivered")
