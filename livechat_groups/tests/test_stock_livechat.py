from odoo import Command
from odoo.tests import tagged

from .common import LivechatGroupsHttpCase


@tagged("post_install", "-at_install")
class TestStockLivechat(LivechatGroupsHttpCase):
    """A live chat with no group behaves exactly as stock Odoo, through the real route."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stock_livechat = cls.env["im_livechat.channel"].create(
            {"name": "Stock Live Chat", "user_ids": [Command.set(cls.tech_1.ids)]}
        )

    def _get_session(self, channel):
        return self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"channel_id": channel.id, "anonymous_name": "Visitor", "previous_operator_id": None},
        )

    def test_no_operator_online_refuses_the_chat(self):
        self.assertFalse(self.stock_livechat._is_grouped())
        info = self.stock_livechat.get_livechat_info()
        self.assertFalse(info["available"])
        self.assertFalse(self._get_session(self.stock_livechat))
        self.assertFalse(
            self.env["discuss.channel"].search([("livechat_channel_id", "=", self.stock_livechat.id)])
        )

    def test_online_operator_gets_the_session(self):
        self.env["bus.presence"].create({"user_id": self.tech_1.id, "status": "online"})
        self.assertTrue(self.stock_livechat.get_livechat_info()["available"])
        data = self._get_session(self.stock_livechat)
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertEqual(session.livechat_channel_id, self.stock_livechat)
        self.assertEqual(session.livechat_operator_id, self.tech_1.partner_id)
        self.assertIn(self.tech_1.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.name, "Visitor Theo Tech")
