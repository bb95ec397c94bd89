from unittest.mock import patch

from odoo import api
from odoo.tests import tagged

from odoo.addons.livechat_groups.controllers.replica import PRIMARY_CONTEXT_KEY

from .common import LivechatGroupsRoutingCase

CHANGED = "LivechatSessionChanged"


@tagged("post_install", "-at_install")
class TestWaitingSessionInfo(LivechatGroupsRoutingCase):
    """Discuss loads a conversation with ``/discuss/channel/info``, a read-only route that a read
    replica serves when Odoo runs with one. An operator who may read a waiting session of their
    group reads what Discuss loads for it, its members included: on one database when they open
    it from their Waiting list, and on a lagging replica right after they took it (the session
    still waits there, and they are not yet a member). Nobody else reads more than before."""

    def setUp(self):
        super().setUp()
        self.waiting = self._get_session(self.livechat, "Ann Waiting")
        self.assertEqual(self.waiting.livechat_routing_state, "queued")
        self.guest = self.waiting.channel_member_ids.guest_id
        self.assertTrue(self.guest)

    def _info(self, session):
        return self.make_jsonrpc_request("/discuss/channel/info", {"channel_id": session.id})

    def _members_read(self, user, session):
        return self._rpc(
            user, "discuss.channel.member", "search_read", [("channel_id", "=", session.id)], fields=["id"]
        )

    def test_operator_of_the_group_reads_the_waiting_session_with_its_members(self):
        self.authenticate(self.support_1.login, self.support_1.login)
        data = self._info(self.waiting)
        self.assertEqual([c["id"] for c in data["discuss.channel"]], self.waiting.ids)
        members = data["discuss.channel.member"]
        self.assertIn(self.waiting.channel_member_ids.filtered("guest_id").id, [m["id"] for m in members])
        self.assertEqual({g["id"] for g in data["mail.guest"]}, set(self.guest.ids))
        self.assertEqual(
            {m["id"] for m in self._members_read(self.support_1, self.waiting)},
            set(self.waiting.channel_member_ids.ids),
        )

    def test_nobody_else_reads_the_members(self):
        """An operator of another group of the live chat, of another live chat, a portal user and
        another visitor read neither the session nor its members."""
        for user in (self.sales_1, self.helpdesk_1, self.portal):
            with self.subTest(user=user.login):
                self.authenticate(user.login, user.login)
                self.assertFalse(self._info(self.waiting))
                if user != self.portal:
                    self.assertEqual(self._members_read(user, self.waiting), [])
        other = self._get_session(self.livechat, "Bob Other")
        self._as_visitor(other)
        self.assertFalse(self._info(self.waiting))

    def test_the_members_are_no_longer_read_once_someone_else_holds_it(self):
        self._rpc(self.support_2, "discuss.channel", "action_livechat_take", self.waiting.ids)
        self.authenticate(self.support_1.login, self.support_1.login)
        self.assertFalse(self._info(self.waiting))
        self.assertEqual(self._members_read(self.support_1, self.waiting), [])


@tagged("post_install", "-at_install")
class TestStaleBoard(LivechatGroupsRoutingCase):
    """The supervisors' board may show a session older than it is (read from a lagging replica,
    or before a colleague's hand-over). An Assign made on such a card carries what it showed:
    the server refuses it, saying who changed what and when, and assigns once the supervisor
    confirms. The board's reloads after a change read the primary database."""

    def setUp(self):
        super().setUp()
        self.waiting = self._get_session(self.livechat, "Ann Waiting")
        self.assertEqual(self.waiting.livechat_routing_state, "queued")
        # what the card showed: waiting, nobody holds it
        self.seen = {"livechat_routing_state": "queued", "livechat_operator_user_id": False}
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", self.waiting.ids)
        self.assertHeldBy(self.waiting, self.support_1, self.group_support)

    def test_assign_on_a_stale_card_says_what_changed_then_assigns_when_confirmed(self):
        before = self._holder(self.waiting)
        self._rpc_refused(
            CHANGED,
            r"^Sonia Support took this session at \d\d:\d\d\. Assign it anyway\?$",
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            self.waiting.ids,
            self.support_2.id,
            seen=self.seen,
        )
        self.assertEqual(self._holder(self.waiting), before, "the refused Assign changed nothing")
        # confirmed: assigned as asked
        self._rpc(
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            self.waiting.ids,
            self.support_2.id,
        )
        self.assertHeldBy(self.waiting, self.support_2, self.group_support)

    def test_assign_on_a_current_card_assigns(self):
        seen = {"livechat_routing_state": "assigned", "livechat_operator_user_id": self.support_1.id}
        self._rpc(
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            self.waiting.ids,
            self.support_2.id,
            seen=seen,
        )
        self.assertHeldBy(self.waiting, self.support_2, self.group_support)

    def test_a_reassignment_since_is_named_with_who_made_it(self):
        self._rpc(
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            self.waiting.ids,
            self.support_2.id,
        )
        seen = {"livechat_routing_state": "assigned", "livechat_operator_user_id": self.support_1.id}
        self._rpc_refused(
            CHANGED,
            r"^Xena Supervisor assigned this session to Simon Support at \d\d:\d\d\. Assign it anyway\?$",
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            self.waiting.ids,
            self.sales_1.id,
            seen=seen,
        )

    def test_malformed_seen_state_is_refused(self):
        for seen in ("queued", {"livechat_routing_state": "queued"}, [1]):
            with self.subTest(seen=seen):
                self._rpc_refused(
                    "UserError",
                    "What the board showed of the session is malformed",
                    self.ext_supervisor,
                    "discuss.channel",
                    "action_livechat_assign",
                    self.waiting.ids,
                    self.support_2.id,
                    seen=seen,
                )

    def test_assign_dialog_opened_on_a_stale_card_asks_then_assigns(self):
        """The card's Assign button opens the dialog with what the card showed."""
        self.authenticate(self.ext_supervisor.login, self.ext_supervisor.login)
        context = {
            "default_session_id": self.waiting.id,
            "default_board_routing_state": "queued",
            "default_board_operator_id": False,
        }
        wizard_id = self.make_jsonrpc_request(
            "/web/dataset/call_kw/livechat.session.assign/web_save",
            {
                "model": "livechat.session.assign",
                "method": "web_save",
                "args": [[], {"user_id": self.support_2.id}],
                "kwargs": {"context": context, "specification": {}},
            },
        )[0]["id"]

        def button(method):
            return self.make_jsonrpc_request(
                f"/web/dataset/call_button/livechat.session.assign/{method}",
                {"model": "livechat.session.assign", "method": method, "args": [[wizard_id]], "kwargs": {}},
            )

        action = button("action_assign")
        self.assertEqual((action["res_model"], action["res_id"]), ("livechat.session.assign", wizard_id))
        wizard = self.env["livechat.session.assign"].browse(wizard_id)
        self.assertRegex(
            wizard.change_message, r"^Sonia Support took this session at \d\d:\d\d\. Assign it anyway\?$"
        )
        self.assertHeldBy(self.waiting, self.support_1, self.group_support)
        button("action_assign_anyway")
        self.assertHeldBy(self.waiting, self.support_2, self.group_support)

    def test_take_on_a_stale_list_says_who_took_it(self):
        self._rpc_refused(
            "UserError",
            r"no longer waiting: Sonia Support took this session at \d\d:\d\d\.",
            self.support_2,
            "discuss.channel",
            "action_livechat_take",
            self.waiting.ids,
        )

    def test_board_reload_after_a_change_reads_the_primary(self):
        """The board's reads are read-only calls (a replica serves them), except when the board
        reloads after a change: its calls then carry the context key that sends them to the
        primary database."""
        Channel = type(self.env["discuss.channel"])
        web_search_read = Channel.web_search_read
        cursors = []

        @api.model
        def spy(records, *args, **kwargs):
            cursors.append(records.env.cr.readonly)
            return web_search_read(records, *args, **kwargs)

        domain = [("livechat_supervised", "=", True)]
        with patch.object(Channel, "web_search_read", spy):
            for context in ({}, {PRIMARY_CONTEXT_KEY: True}):
                self._rpc(
                    self.ext_supervisor,
                    "discuss.channel",
                    "web_search_read",
                    domain,
                    specification={"livechat_routing_state": {}},
                    context=context,
                )
        self.assertEqual(cursors, [True, False], "a replica serves the board, the primary its reload")
