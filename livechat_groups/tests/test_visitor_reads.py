from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin


@tagged("post_install", "-at_install")
class TestVisitorReads(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Finding 5: what the visitor reads through the routes their widget calls."""

    def _as_visitor(self, session):
        guest = session.channel_member_ids.guest_id
        self.opener.cookies[guest._cookie_name] = guest._format_auth_cookie()

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
