from odoo.tests import tagged

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin, LivechatGroupsRpcMixin


@tagged("post_install", "-at_install")
class TestVisitorLabels(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Two anonymous visitors read apart on the Waiting list, the board and the sidebar."""

    def test_two_anonymous_visitors_get_distinct_labels(self):
        self._offline(self.support_1, self.support_2)
        belgium = self.env.ref("base.be")
        first = self._get_session(self.external_livechat, "Visitor")
        second = self._get_session(self.external_livechat, "Visitor")
        first.country_id = belgium
        self._visitor_says(first, "My order 1234 never arrived, where is it?")
        self._visitor_says(second, "Do you deliver to Spain?")
        self.env.invalidate_all()
        self.assertEqual(first.livechat_visitor_name, "Visitor · BE · “My order 1234 never arri…”")
        self.assertEqual(second.livechat_visitor_name, "Visitor · “Do you deliver to Spain?”")
        # the Waiting list, the board and the sidebar read the same labels
        waiting = self._rpc(self.support_1, "discuss.channel", "livechat_waiting_sessions")
        self.assertEqual(
            [row["visitor"] for row in waiting],
            ["Visitor · BE · “My order 1234 never arri…”", "Visitor · “Do you deliver to Spain?”"],
        )
        cards = self._rpc(
            self.ext_supervisor,
            "discuss.channel",
            "search_read",
            [("id", "in", (first | second).ids)],
            ["livechat_visitor_name"],
            order="id",
        )
        self.assertEqual(
            [card["livechat_visitor_name"] for card in cards], [row["visitor"] for row in waiting]
        )
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", first.ids)
        self.authenticate(self.support_1.login, self.support_1.login)
        data = self.make_jsonrpc_request("/discuss/channel/info", {"channel_id": first.id})
        [channel] = [channel for channel in data["discuss.channel"] if channel["id"] == first.id]
        self.assertEqual(channel["livechat_visitor_name"], "Visitor · BE · “My order 1234 never arri…”")
        # a visitor with a name of their own keeps it
        ann = self._get_session(self.external_livechat, "Ann")
        self._visitor_says(ann, "Hello")
        self.assertEqual(ann.livechat_visitor_name, "Ann")
