import json
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import (
    WIDGET_HELPERS,
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
    LivechatGroupsTourCase,
)


@tagged("post_install", "-at_install")
class TestVisitorNotices(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """What the visitor reads through the routes their widget calls: the queue notice and their
    place, who answers now, the header's names; nothing of the staff's comings and goings."""

    def _visitor_reads(self, session):
        """The texts of the conversation as the visitor's widget fetches them, oldest first."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        messages = {message["id"]: message for message in data["data"].get("mail.message", [])}
        ids = sorted(item["id"] if isinstance(item, dict) else item for item in data["messages"])
        return [html2plaintext(str(messages[message_id]["body"])) for message_id in ids]

    def _visitor_header(self, session):
        """The values the visitor's header is named from."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request("/discuss/channel/info", {"channel_id": session.id}) or {}
        return next(channel for channel in data.get("discuss.channel", []) if channel["id"] == session.id)

    def test_manual_mode_says_an_operator_will_take_it(self):
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        marc = self._get_session(self.external_livechat, "Marc")
        texts = self._visitor_reads(marc)
        self.assertIn("Your request waits for an operator to take it", texts[-1])
        self.assertNotIn("busy", texts[-1])
        header = self._visitor_header(marc)
        self.assertEqual(header["livechat_group_name"], "General Support")
        self.assertEqual(header["livechat_routing_state"], "queued")

        marc.with_user(self.support_1).action_livechat_take()
        texts = self._visitor_reads(marc)
        self.assertIn("Sonia Support is answering you now.", texts)
        self.assertFalse([text for text in texts if "queue" in text], "the queue notice was replaced")
        self.assertFalse([text for text in texts if "invited" in text or "joined" in text])
        self.assertEqual(self._visitor_header(marc)["livechat_operator_name"], "Sonia Support")

    def test_nobody_online_says_so(self):
        self._offline(self.support_1, self.support_2)
        noah = self._get_session(self.external_livechat, "Noah")
        text = self._visitor_reads(noah)[-1]
        self.assertIn("Nobody is online right now: you are number 1 in the queue of General Support", text)
        self.assertNotIn("busy", text)

    def test_a_new_waiting_session_writes_its_notice_without_a_bus_message(self):
        # nobody is subscribed to a session being created: its queue notice is written, as a
        # comment the visitor reads when their widget loads the conversation, and sent to no one
        self._offline(self.support_1, self.support_2)
        self.env["bus.bus"].search([]).unlink()
        noah = self._get_session(self.external_livechat, "Noah")
        notice = noah.livechat_queue_notice_id
        self.assertEqual(notice.author_id, self.env.ref("base.partner_root"))
        self.assertEqual(notice.subtype_id, self.env.ref("mail.mt_comment"))
        self.assertFalse(notice.is_internal)
        self.assertEqual(noah.message_ids, notice, "one notice, written once")
        new_messages = self.env["bus.bus"].search([("message", "like", "discuss.channel/new_message")])
        self.assertFalse(new_messages, "no one listens to a session being created")
        self.assertIn("number 1 in the queue of General Support", self._visitor_reads(noah)[-1])

    def test_supervisor_joining_is_not_told_to_the_visitor(self):
        self._online(self.support_1)
        ann = self._get_session(self.external_livechat, "Ann")
        ann.with_user(self.ext_supervisor).action_livechat_join()
        self.assertIn(self.ext_supervisor.partner_id, ann.channel_member_ids.partner_id)
        texts = self._visitor_reads(ann)
        self.assertFalse([text for text in texts if "Xena" in text], texts)

    def test_after_a_forward_the_header_names_the_new_queue(self):
        self._online(self.support_1)
        self._offline(self.sales_1, self.sales_2)
        ann = self._get_session(self.external_livechat, "Ann")
        ann.with_user(self.support_1).action_livechat_forward(self.group_sales.id)
        header = self._visitor_header(ann)
        self.assertEqual(header["livechat_routing_state"], "queued")
        self.assertEqual(header["livechat_group_name"], "Sales Department")
        self.assertFalse(header["livechat_operator_name"], "not the previous operator")

    def _session_news(self, session):
        """What the bus carried to ``session``'s members: the ``discuss.channel`` values sent."""
        self.env.cr.precommit.run()  # the bus writes its rows when the transaction commits
        notifications = self.env["bus.bus"].search([("channel", "like", f'"discuss.channel",{session.id}]')])
        news = []
        for notification in notifications:
            message = json.loads(notification.message)
            if message["type"] == "mail.record/insert":
                news += [
                    (
                        {**values, "operator": values["operator"].get("id")}
                        if isinstance(values.get("operator"), dict)
                        else values,
                        message["payload"],
                    )
                    for values in message["payload"].get("discuss.channel", [])
                    if values["id"] == session.id
                ]
        return news

    def test_after_a_forward_the_visitor_header_shows_who_holds_it_now(self):
        """Forwarded to a group, the visitor's header shows OdooBot's picture beside the group,
        not the previous operator's; taken, the new operator's, and OdooBot leaves every
        member's window (the employee's chat kept OdooBot's picture)."""
        odoobot = self.env.ref("base.partner_root")
        self._online(self.support_1)
        self._offline(self.sales_1, self.sales_2)
        ann = self._get_session(self.external_livechat, "Ann")
        self.env.cr.precommit.run()
        self.env["bus.bus"].search([]).unlink()
        ann.with_user(self.support_1).action_livechat_forward(self.group_sales.id)
        operators = [
            values["operator"] for values, _payload in self._session_news(ann) if "operator" in values
        ]
        self.assertEqual(operators[-1:], [odoobot.id], "the header's picture is OdooBot's while Ann waits")
        # the operator who handed it over left: the staff read it, the visitor reads the transfer
        texts = self._visitor_reads(ann)
        self.assertIn("You are transferred to Sales Department.", texts)
        self.assertFalse([text for text in texts if "left" in text], texts)
        left = ann.message_ids.filtered(lambda message: "left the channel" in (message.body or ""))
        self.assertEqual(left.author_id, self.support_1.partner_id)
        self.assertTrue(left.is_internal or left.subtype_id.internal, "a note for the staff")

        self._online(self.sales_1)
        self.env.cr.precommit.run()
        self.env["bus.bus"].search([]).unlink()
        ann.with_user(self.sales_1).action_livechat_take()
        news = self._session_news(ann)
        operators = [values["operator"] for values, _payload in news if "operator" in values]
        self.assertEqual(operators[-1:], [self.sales_1.partner_id.id])
        odoobot_member = [
            member["id"]
            for _values, payload in news
            for member in payload.get("discuss.channel.member", [])
            if member.get("persona") == {"id": odoobot.id, "type": "partner"}
        ]
        left = [
            deleted
            for values, _payload in news
            for command in values.get("channelMembers", [])
            if command[0] == "DELETE"
            for deleted in (command[1] if isinstance(command[1], list) else [command[1]])
        ]
        self.assertTrue(left, "OdooBot's member is removed from every member's window")
        self.assertNotIn(odoobot, ann.channel_member_ids.partner_id)
        counts = [values["memberCount"] for values, _payload in news if "channelMembers" in values]
        # the window of who joined counted OdooBot ("And 1 other member" under the members)
        self.assertEqual(counts, [len(ann.channel_member_ids)], "the members' count follows")
        self.assertEqual(odoobot_member, [], "OdooBot is not sent as a member again")


@tagged("post_install", "-at_install")
class TestVisitorPostAnswer(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """The answer to the visitor's first message carries the routing's notices, and nothing meant
    for the staff."""

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
            data = self._visitor_says(marc, "Where is my parcel?")
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

        data = self._visitor_says(marc, "Hello?")
        self.assertFalse(
            [thread for thread in data.get("mail.thread", []) if thread.get("messages")],
            "the notices come once, with the first message",
        )


@tagged("post_install", "-at_install")
class TestVisitorNoticesLive(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """A website visitor who starts a chat while nobody can take it reads why they wait at once,
    in the widget, without reloading the page."""

    # The widget lives in a shadow root, which tours do not reach: the visitor is played by a
    # script. It cannot survive a reload of the page, so passing means nothing was reloaded.
    WIDGET = (
        WIDGET_HELPERS
        + """
        (async () => {
            await odoo.livechatReady;
            (await waitFor(".o-livechat-LivechatButton")).click();
            await write("Where is my parcel?");
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
    )

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
