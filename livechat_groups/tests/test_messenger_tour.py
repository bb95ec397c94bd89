from odoo.tests import tagged

from .common import LivechatGroupsTourCase
from .messenger_common import LivechatMessengerCase


@tagged("post_install", "-at_install")
class TestMessengerTour(LivechatMessengerCase, LivechatGroupsTourCase):
    def test_operator_answers_whatsapp_customer_and_sees_delivery(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello, my parcel did not arrive")
        session = self._session_of("16505551234")
        self.assertEqual(session.livechat_operator_user_id, self.support_1)
        discuss = f"/odoo/discuss?active_id=discuss.channel_{session.id}"
        self.start_tour(discuss, "livechat_groups_messenger_answer", login=self.support_1.login)
        self._send()
        (sent,) = self.standin.sent()
        self.assertEqual(sent["text"]["body"], "*Sonia Support*: Sorry about that, I am checking it now")
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        status = self.standin.whatsapp_status(row.external_id, "read", "16505551234")
        self._post(self.standin.whatsapp_payload("16505551234", statuses=[status]))
        self.env["livechat.messenger.template"].create(
            {
                "messenger_id": self.messenger.id,
                "name": "follow_up",
                "body": "Your parcel left our warehouse: it arrives tomorrow.",
            }
        )
        self.start_tour(discuss, "livechat_groups_messenger_read", login=self.support_1.login)
        self._send()
        template = self.standin.sent()[-1]
        self.assertEqual((template["type"], template["template"]["name"]), ("template", "follow_up"))

    def test_operator_reads_why_an_answer_waits(self):
        self._online(self.support_1)
        self._write("16505551234", "Hello, my parcel did not arrive")
        session = self._session_of("16505551234")
        session.with_user(self.support_1).message_post(
            body="Let me check with the carrier", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.standin.down = True
        self._send()
        row = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")])
        self.assertEqual((row.state, row.failure_code), ("queued", "unreachable"))
        discuss = f"/odoo/discuss?active_id=discuss.channel_{session.id}"
        self.start_tour(discuss, "livechat_groups_messenger_wait", login=self.support_1.login)
