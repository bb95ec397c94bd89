from odoo import Command
from odoo.tests import tagged

from .common import LivechatGroupsRpcMixin, LivechatGroupsTourCase
from .messenger_common import LivechatMessengerCase

PAUL = "16505550142"  # not the demo customer's number


class CustomerHistoryCase(LivechatMessengerCase, LivechatGroupsRpcMixin):
    """One customer across channels: Paul, a portal customer, chats on the website, then writes
    on WhatsApp from his number."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.portal.partner_id
        cls.customer.write({"phone": "+1 650-555-0142", "email": "paul@example.com"})

    def _website_session(self, user):
        """``user`` (logged in) opens the website widget of the external live chat."""
        self.authenticate(user.login, user.login)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {"channel_id": self.external_livechat.id, "anonymous_name": "Visitor"},
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _close(self, session):
        self._rpc(session.livechat_operator_user_id, "discuss.channel", "action_livechat_close", [session.id])
        self.env.invalidate_all()

    def _history(self, user, session):
        return self._rpc(user, "discuss.channel", "livechat_customer_history", [session.id])

    def _paul_on_the_website_then_on_whatsapp(self):
        """Paul chats with Sonia on the website (closed), then writes on WhatsApp, where Simon is
        less busy than Sonia: the routing gives him Sonia, the operator he talked to last."""
        self._online(self.support_1)
        self._offline(self.support_2)
        website = self._website_session(self.portal)
        self.assertEqual(website.livechat_requester_id, self.customer)
        self.assertHeldBy(website, self.support_1, self.group_support)
        self._close(website)
        self.assertEqual(website.livechat_routing_state, "closed")
        busy = self._get_session(self.external_livechat, "Ann")  # Sonia has another session
        self.assertHeldBy(busy, self.support_1, self.group_support)
        self._online(self.support_2)
        self._write(PAUL, "Hello again, about my order")
        whatsapp = self._session_of(PAUL)
        self.assertEqual(whatsapp.livechat_messenger_partner_id, self.customer, "matched by his number")
        return website, whatsapp


@tagged("post_install", "-at_install")
class TestCustomerHistory(CustomerHistoryCase):
    """His operator finds him, with his earlier sessions, whatever the channel; nobody reads
    anything of a live chat they may not read; merged contacts keep one history."""

    def test_previous_operator_first_across_website_and_whatsapp(self):
        website, whatsapp = self._paul_on_the_website_then_on_whatsapp()
        self.assertHeldBy(whatsapp, self.support_1, self.group_support)
        self.assertIn("Sonia Support talked with this visitor before", whatsapp.livechat_routing_reason)

    def test_history_panel_as_operator(self):
        website, whatsapp = self._paul_on_the_website_then_on_whatsapp()
        rows = self._history(self.support_1, whatsapp)
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual(row["id"], website.id)
        self.assertEqual(
            (
                row["medium"],
                row["medium_label"],
                row["livechat"],
                row["group"],
                row["operator"],
                row["outcome"],
            ),
            ("website", "Website", "External Live Chat", "General Support", "Sonia Support", "Closed"),
        )
        self.assertEqual(row["url"], f"/odoo/action-im_livechat.discuss_channel_action/{website.id}")
        # the other way round: on the website, his WhatsApp session (in progress)
        rows = self._history(self.support_1, website)
        self.assertEqual(
            [(r["id"], r["medium_label"], r["outcome"]) for r in rows],
            [(whatsapp.id, "WhatsApp", "In progress")],
        )
        # the supervisor reads every session of the live chat they supervise
        self.assertEqual([r["id"] for r in self._history(self.ext_supervisor, whatsapp)], [website.id])

    def test_history_with_reader_rights(self):
        """An operator of another live chat reads nothing of the external one; its sessions
        are left out of what they read, and a customer asks in vain."""
        website, whatsapp = self._paul_on_the_website_then_on_whatsapp()
        partner_desk = self.env["im_livechat.channel"].create(
            {
                "name": "Partner Desk",
                "user_ids": [Command.clear()],
                "entry_group_ids": [Command.set(self.group_hr.ids)],
            }
        )
        self._online(self.hr_1)
        self.authenticate(self.portal.login, self.portal.login)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"channel_id": partner_desk.id, "anonymous_name": "Visitor"}
        )
        desk = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertHeldBy(desk, self.hr_1, self.group_hr)
        # Hector (Partner Desk) reads nothing of Paul's sessions on the external live chat
        self.assertEqual(self._history(self.hr_1, desk), [])
        self._rpc_refused(
            "AccessError", None, self.hr_1, "discuss.channel", "livechat_customer_history", [whatsapp.id]
        )
        # Sonia and the external supervisor do not read the Partner Desk's session
        self.assertEqual([r["id"] for r in self._history(self.support_1, whatsapp)], [website.id])
        self.assertEqual([r["id"] for r in self._history(self.ext_supervisor, whatsapp)], [website.id])
        # the customer himself learns nothing: he is no operator
        self._rpc_refused(
            "AccessError",
            "Only Live Chat operators",
            self.portal,
            "discuss.channel",
            "livechat_customer_history",
            [website.id],
        )

    def test_merged_customers_keep_one_history(self):
        """Carla wrote on WhatsApp from a number nobody knew, then a supervisor sees she is
        Paul's company contact and merges the two contacts: her history follows."""
        self._online(self.support_1)
        self._offline(self.support_2)
        website = self._website_session(self.portal)
        self._close(website)
        self._write("33612345678", "Bonjour", name="Carla Customer")
        whatsapp = self._session_of("33612345678")
        carla = whatsapp.livechat_messenger_partner_id
        self.assertNotEqual(carla, self.customer)
        self.assertEqual(self._history(self.support_1, whatsapp), [], "not the same customer yet")
        carla.email = self.customer.email  # stock merges contacts of one e-mail without an administrator
        self.ext_supervisor.groups_id = [Command.link(self.env.ref("base.group_partner_manager").id)]
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.ext_supervisor)
            .create(
                {
                    "partner_ids": [Command.set((carla | self.customer).ids)],
                    "dst_partner_id": self.customer.id,
                }
            )
        )
        wizard.action_merge()
        self.env.invalidate_all()
        self.assertFalse(carla.exists())
        self.assertEqual(whatsapp.livechat_messenger_partner_id, self.customer)
        self.assertIn(self.customer, whatsapp.channel_member_ids.partner_id)
        self.assertEqual([r["id"] for r in self._history(self.support_1, whatsapp)], [website.id])
        # and her next message on WhatsApp is his, in the same conversation
        self._write("33612345678", "Merci")
        self.assertEqual(self._session_of("33612345678"), whatsapp)


@tagged("post_install", "-at_install")
class TestCustomerHistoryTour(CustomerHistoryCase, LivechatGroupsTourCase):
    """The customer's history, in the side panel of Discuss, as his operator reads it."""

    def test_operator_reads_the_history_beside_the_session(self):
        self.external_livechat.name = "Web Shop Live Chat"  # the demo data has an "External Live Chat"
        _website, whatsapp = self._paul_on_the_website_then_on_whatsapp()
        self.start_tour(
            self._discuss(whatsapp), "livechat_groups_customer_history", login=self.support_1.login
        )
