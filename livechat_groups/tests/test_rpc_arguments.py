from odoo.exceptions import AccessError
from odoo.service.model import get_public_method
from odoo.tests import tagged

from odoo.addons.livechat_groups.models.livechat_routing import LivechatRouting

from .common import (
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
)


@tagged("post_install", "-at_install")
class TestRpcArguments(LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """What a caller sends over JSON-RPC: malformed ids and texts get a clear refusal, and the
    board's and Discuss's read methods answer the wrong roles with nothing."""

    def test_malformed_arguments_are_refused_clearly(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        before = self._routing(session)
        for note in (["a", "list"], {"a": "dict"}, 42, True):
            with self.subTest(note=note):
                self._rpc_refused(
                    "UserError",
                    "The note must be text",
                    self.support_1,
                    "discuss.channel",
                    "action_livechat_forward",
                    session.ids,
                    self.group_sales.id,
                    note=note,
                )
        for group_id in (True, "3", [self.group_sales.id], {"id": 1}, -1, None):
            with self.subTest(group_id=group_id):
                self._rpc_refused(
                    "UserError",
                    "is not a group of External Live Chat",
                    self.support_1,
                    "discuss.channel",
                    "action_livechat_forward",
                    session.ids,
                    group_id,
                )
        for user_id in (True, "2", [2], {"id": 2}, 1.5):
            with self.subTest(user_id=user_id):
                self._rpc_refused(
                    "UserError",
                    "is not a member of the operator groups",
                    self.ext_supervisor,
                    "discuss.channel",
                    "action_livechat_assign",
                    session.ids,
                    user_id,
                )
        self.assertEqual(self._routing(session), before)

    def test_read_methods_show_nothing_to_the_wrong_roles(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        Session = "discuss.channel"
        # the queue of one's groups, for its members only
        listed = self._rpc(self.support_1, Session, "livechat_waiting_sessions")
        self.assertEqual([row["id"] for row in listed], waiting.ids)
        for user in (self.sales_1, self.employee, self.int_supervisor):
            with self.subTest(user=user.login):
                self.assertEqual(self._rpc(user, Session, "livechat_waiting_sessions"), [])
        # who is available and how busy, for the supervisors of those operators only
        ids = (self.support_1 | self.support_2).ids
        self.assertEqual(
            set(self._rpc(self.ext_supervisor, Session, "livechat_board_operators", ids)),
            {str(i) for i in ids},
        )
        for user in (self.int_supervisor, self.support_1):
            with self.subTest(user=user.login):
                self.assertEqual(self._rpc(user, Session, "livechat_board_operators", ids), {})
        self._rpc_refused(
            "AccessError", "", self.sales_1, Session, "livechat_hand_over_feedback", waiting.ids
        )
        for user_ids in ("1", [["x"]], None):
            with self.subTest(user_ids=user_ids):
                self.assertEqual(
                    self._rpc(self.ext_supervisor, Session, "livechat_board_operators", user_ids), {}
                )

    def test_the_routing_service_is_not_callable_remotely(self):
        """livechat.routing checks no right (its callers do): none of its verbs, nor its init
        (which recreates the decision's functions), may be called over JSON-RPC, even by an
        administrator."""
        Routing = self.env["livechat.routing"]
        verbs = [name for name, value in vars(LivechatRouting).items() if callable(value)]
        self.assertIn("_hand_over", verbs)
        self.assertIn("init", verbs)
        for user in (self.employee, self.admin):
            for name in verbs:
                with self.subTest(user=user.name, method=name), self.assertRaises(AccessError):
                    get_public_method(Routing.with_user(user), name)
        # and over the route itself
        self._rpc_refused("AccessError", "", self.employee, "livechat.routing", "_serve_queues")

    def test_actions_name_nothing_to_an_unrelated_caller(self):
        """The actions check as superuser who may act, and their refusals name the live chat, its
        groups and the visitor for the people who work in it. A caller unrelated to the live chat
        (an operator of another one, a plain employee) guessing ids learns nothing: neither
        whether the session exists, nor its live chat, group or visitor."""
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann Secret")
        self._online(self.support_1)
        held = self._get_session(self.external_livechat, "Bob Secret")
        self.assertHeldBy(held, self.support_1, self.group_support)
        template = self.env["livechat.messenger.template"].search([], limit=1)
        missing = self.env["discuss.channel"].search([], order="id desc", limit=1).id + 1000
        calls = [
            ("action_livechat_take", ()),
            ("livechat_take_session", ()),
            ("action_livechat_take_open", ()),
            ("action_livechat_assign", (self.support_2.id,)),
            ("action_livechat_forward", (self.group_sales.id,)),
            ("action_livechat_join", ()),
            ("action_livechat_close", ()),
            ("action_livechat_messenger_send_template", (template.id or 1,)),
        ]
        before = self._routing(waiting, held)
        for user in (self.helpdesk_1, self.employee):
            for session_id in (waiting.id, held.id, missing):
                for method, args in calls:
                    with self.subTest(user=user.login, session=session_id, method=method):
                        self.authenticate(user.login, user.login)
                        with self.assertLogs("odoo.http", "WARNING"):
                            answer = self._jsonrpc(
                                f"/web/dataset/call_kw/discuss.channel/{method}",
                                {
                                    "model": "discuss.channel",
                                    "method": method,
                                    "args": [[session_id], *args],
                                    "kwargs": {},
                                },
                            )
                        error = answer["error"]["data"]
                        self.assertIn("AccessError", error["name"])
                        self.assertIn("does not exist, or it is not one of the live chats", error["message"])
                        for secret in ("External Live Chat", "General Support", "Secret", "Sonia"):
                            self.assertNotIn(secret, error["message"])
        self.assertEqual(self._routing(waiting, held), before)
        # who works in the live chat still reads why: someone else got it, and when
        self._rpc_refused(
            "UserError",
            r"no longer waiting: Sonia Support got this session at \d\d:\d\d\.",
            self.support_2,
            "discuss.channel",
            "action_livechat_take",
            held.ids,
        )
        self._rpc_refused(
            "AccessError",
            "Only the operator of this session, the supervisors of External Live Chat",
            self.sales_1,
            "discuss.channel",
            "action_livechat_close",
            held.ids,
        )

    def test_a_hop_opens_its_session_for_who_reads_it(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        hop = session.livechat_transfer_ids[:1]
        action = self._rpc(self.ext_supervisor, "livechat.session.transfer", "action_open_session", hop.ids)
        self.assertEqual((action["res_model"], action["res_id"]), ("discuss.channel", session.id))
        for user in (self.helpdesk_1, self.employee):
            with self.subTest(user=user.login):
                self._rpc_refused(
                    "AccessError", "", user, "livechat.session.transfer", "action_open_session", hop.ids
                )
