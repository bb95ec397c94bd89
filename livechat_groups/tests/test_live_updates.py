import json
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestLiveUpdates(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """What changes on an open screen by itself, asserting the texts people read."""

    def test_waiting_alert_fires_on_an_open_board(self):
        """Finding 7: a card turns red when its wait passes the waiting alert, without a reload."""
        self.assertEqual(self.external_livechat.wait_alert_minutes, 5)
        julia = self._queued_session(self.external_livechat, "Julia")
        # the alert fires in 12 seconds: the board is open by then, and turns red by itself
        julia.livechat_queued_date = fields.Datetime.now() - timedelta(minutes=5) + timedelta(seconds=12)
        self.assertFalse(julia.livechat_board_overdue)
        self.assertEqual(julia.livechat_board_alert_date, julia.livechat_queued_date + timedelta(minutes=5))
        self.start_tour(
            "/odoo/livechat-supervision",
            "livechat_groups_board_waiting_alert_live",
            login=self.ext_supervisor.login,
        )


@tagged("post_install", "-at_install")
class TestMobileDiscuss(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """Finding 11: on a phone, Discuss's tabs lead employees to "Ask a Live Chat" and operators
    to their groups' waiting sessions."""

    browser_size = "375x667"
    touch_enabled = True

    def test_employee_asks_a_live_chat_on_a_phone(self):
        self.internal_livechat.routing_mode = "manual"
        self.internal_livechat.name = "HR and Accounting Desk"  # the demo data has an "Internal Live Chat"
        self.start_tour("/odoo/discuss", "livechat_groups_mobile_employee_asks", login=self.employee.login)
        session = self.env["discuss.channel"].search(
            [("livechat_requester_id", "=", self.employee.partner_id.id)]
        )
        self.assertEqual(session.livechat_routing_state, "queued")

    def test_operator_takes_a_waiting_session_on_a_phone(self):
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        marc = self._get_session(self.external_livechat, "Marc")
        guest = marc.channel_member_ids.guest_id
        self.opener.cookies[guest._cookie_name] = guest._format_auth_cookie()
        self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": marc.id,
                "post_data": {"body": "My order has not arrived", "message_type": "comment"},
            },
        )
        self.assertEqual(marc.livechat_routing_state, "queued")
        self.start_tour("/odoo/discuss", "livechat_groups_mobile_operator_takes", login=self.support_1.login)
        self.assertEqual(marc.livechat_operator_id, self.support_1.partner_id)


@tagged("post_install", "-at_install")
class TestVisitorNoticesLive(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """A website visitor who starts a chat while nobody can take it reads why they wait at once,
    in the widget, without reloading the page."""

    # The widget lives in a shadow root, which tours do not reach: the visitor is played by a
    # script. It cannot survive a reload of the page, so passing means nothing was reloaded.
    WIDGET = """
        const root = () => document.querySelector(".o-livechat-root")?.shadowRoot;
        const MESSAGES = ".o-mail-Message, .o-mail-NotificationMessage";
        const texts = () => [...(root()?.querySelectorAll(MESSAGES) || [])].map((el) => el.textContent);
        const waitFor = async (selector, text) => {
            for (let i = 0; i < 150; i++) {
                const found = [...(root()?.querySelectorAll(selector) || [])].find(
                    (el) => !text || el.textContent.includes(text)
                );
                if (found) {
                    return found;
                }
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            throw new Error(`not shown: ${selector} ${text || ""} in: ${texts().join(" | ")}`);
        };
        (async () => {
            await odoo.livechatReady;
            (await waitFor(".o-livechat-LivechatButton")).click();
            const composer = await waitFor(".o-mail-Composer-input");
            composer.value = "Where is my parcel?";
            composer.dispatchEvent(new Event("input", { bubbles: true }));
            composer.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
            await waitFor(MESSAGES, "Where is my parcel?");
            await waitFor(".o-mail-NotificationMessage", %(notice)s);
            const all = texts();
            const mine = all.findIndex((text) => text.includes("Where is my parcel?"));
            const notice = all.findIndex((text) => text.includes(%(notice)s));
            if (notice < mine) {
                throw new Error(`the notice should follow the visitor's words: ${all.join(" | ")}`);
            }
            if (all.filter((text) => text.includes("in the queue")).length !== 1) {
                throw new Error(`one queue notice: ${all.join(" | ")}`);
            }
            console.log("test successful");
        })().catch((error) => console.error(error.message));
    """

    def _visit(self, notice):
        self.url_open("/web/session/logout")
        self.browser_js(
            f"/im_livechat/support/{self.external_livechat.id}",
            self.WIDGET % {"notice": json.dumps(notice)},
        )
        session = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.external_livechat.id)], order="id desc", limit=1
        )
        self.assertEqual(session.livechat_routing_state, "queued")
        return session

    def test_busy_operators_the_visitor_reads_the_queue_at_once(self):
        self.external_livechat.max_sessions_per_operator = 1
        self._online(self.support_1)
        self._offline(self.support_2)
        ann = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(ann.livechat_operator_id, self.support_1.partner_id)
        self._visit("All our operators are busy: you are number 1 in the queue of General Support.")

    def test_manual_routing_the_visitor_reads_the_queue_at_once(self):
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        self._visit(
            "Your request waits for an operator to take it: you are number 1 in the queue of General Support."
        )


@tagged("post_install", "-at_install")
class TestVisitorPostAnswer(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """The answer to the visitor's first message carries the routing's notices, and nothing meant
    for the staff."""

    def _post_as_visitor(self, session, body):
        guest = session.channel_member_ids.guest_id
        self.opener.cookies[guest._cookie_name] = guest._format_auth_cookie()
        return self.make_jsonrpc_request(
            "/mail/message/post",
            {
                "thread_model": "discuss.channel",
                "thread_id": session.id,
                "post_data": {"body": body, "message_type": "comment", "subtype_xmlid": "mail.mt_comment"},
            },
        )

    def test_first_message_answer_carries_the_notices_and_nothing_for_staff(self):
        self._offline(self.support_1, self.support_2)
        self.url_open("/web/session/logout")
        started = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"channel_id": self.external_livechat.id, "anonymous_name": "Marc"}
        )
        marc = self.env["discuss.channel"].browse(started["discuss.channel"][0]["id"])
        reason = marc.livechat_routing_reason
        self.assertIn("waits in the queue of General Support", reason)
        self.assertNotIn(reason, json.dumps(started), "the routing's reason is for the staff")
        self.assertNotIn("livechat_routing_reason", json.dumps(started))
        odoobot = self.env.ref("base.partner_root")
        post_queue_notice = type(marc)._livechat_post_queue_notice

        def with_staff_notes(session):
            # staff notes posted with the visitor's notices, in the same request
            post_queue_notice(session)
            session._livechat_post_operator_note("Staff only: a big account")
            session.message_post(
                author_id=odoobot.id,
                body="Staff only: routed by hand",
                message_type="notification",
                subtype_xmlid="mail.mt_note",
            )

        with patch.object(type(marc), "_livechat_post_queue_notice", with_staff_notes):
            data = self._post_as_visitor(marc, "Where is my parcel?")
        bodies = [html2plaintext(message.body) for message in marc.message_ids]
        self.assertIn("Staff only: a big account", bodies)
        self.assertIn("Staff only: routed by hand", bodies)

        messages = {message["id"]: html2plaintext(message["body"]) for message in data["mail.message"]}
        self.assertEqual(
            html2plaintext(data["mail.message"][0]["body"]),
            "Where is my parcel?",
            "the widget reads the answer's first message as the one it posted",
        )
        [thread] = [thread for thread in data["mail.thread"] if thread.get("messages")]
        self.assertEqual(thread["id"], marc.id)
        [[mode, added]] = thread["messages"]
        self.assertEqual(mode, "ADD")
        self.assertEqual(
            [messages[message_id] for message_id in added],
            [
                "Nobody is online right now: you are number 1 in the queue of General Support, and we "
                "will answer you when someone is back. What you write now is kept; you may also come "
                "back later."
            ],
        )
        answer = json.dumps(data)
        self.assertNotIn("Staff only", answer)
        self.assertNotIn(reason, answer)
        self.assertNotIn("livechat_routing_reason", answer)

        data = self._post_as_visitor(marc, "Hello?")
        self.assertFalse(
            [thread for thread in data.get("mail.thread", []) if thread.get("messages")],
            "the notices come once, with the first message",
        )
