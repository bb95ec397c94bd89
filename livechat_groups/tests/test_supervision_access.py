from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin

ALLOWED, REFUSED = "allowed", "refused"


@tagged("post_install", "-at_install")
class TestSupervisionAccess(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """Who sees and steers what: every role against every action on the sessions of the
    external live chat, each cell asserted. Supervisors read and steer every session of the
    live chats they supervise, operators read their own sessions and their groups' queue, and
    nobody else sees more than stock Odoo shows them."""

    MATRIX = {
        # role: read a session, read the queue, assign, forward, read the history, read groups, write groups
        "administrator": (ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED),
        "supervisor": (ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED, REFUSED),
        "requester who supervises": (ALLOWED, ALLOWED, ALLOWED, ALLOWED, REFUSED, ALLOWED, REFUSED),
        "archived supervisor": (REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, ALLOWED, REFUSED),
        "other supervisor": (REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, ALLOWED, REFUSED),
        "operator of the group": (ALLOWED, ALLOWED, REFUSED, ALLOWED, ALLOWED, ALLOWED, REFUSED),
        "operator of another group": (REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, ALLOWED, REFUSED),
        "employee": (REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
        "portal": (REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
        "public": (REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED, REFUSED),
    }
    ACTIONS = (
        "read a session",
        "read the queue",
        "assign",
        "forward",
        "read the history",
        "read groups",
        "write groups",
    )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the held session was asked by a supervisor of its live chat, logged in on the website
        cls.asking_supervisor = cls._user("asking_supervisor", name="Ada Asking")
        cls.group_ext_supervisors.user_ids |= cls.asking_supervisor
        cls.former_supervisor = cls._user("former_supervisor", name="Fred Former")
        former = cls.env["livechat.group"].create(
            {"name": "Former Supervisors", "user_ids": [Command.set(cls.former_supervisor.ids)]}
        )
        cls.external_livechat.supervisor_group_ids |= former
        former.active = False
        cls.roles = {
            "administrator": cls.admin,
            "supervisor": cls.ext_supervisor,
            "requester who supervises": cls.asking_supervisor,
            "archived supervisor": cls.former_supervisor,
            "other supervisor": cls.int_supervisor,
            "operator of the group": cls.support_1,
            "operator of another group": cls.sales_1,
            "employee": cls.employee,
            "portal": cls.portal,
            "public": cls.env.ref("base.public_user"),
        }

    def setUp(self):
        super().setUp()
        # support_1 holds one session; the next one waits in General Support's queue
        self._online(self.support_1)
        self.held = self._get_session(self.external_livechat, "Ann")
        self._offline(self.support_1)
        self.waiting = self._get_session(self.external_livechat, "Bob")
        self.held.livechat_requester_id = self.asking_supervisor.partner_id
        self.assertEqual(self.held.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(self.waiting.livechat_routing_state, "queued")
        self.assertEqual(self.waiting.livechat_group_id, self.group_support)

    # each action returns whether it was allowed; a refusal is an AccessError or nothing found

    def _read_session(self, user):
        return bool(self.held.with_user(user).read(["name", "livechat_group_id"]))

    def _read_queue(self, user):
        found = (
            self.env["discuss.channel"]
            .with_user(user)
            .search(
                [
                    ("livechat_channel_id", "=", self.external_livechat.id),
                    ("livechat_routing_state", "=", "queued"),
                ]
            )
        )
        self.assertIn(found, (self.waiting, self.waiting.browse()), "the queue, or nothing")
        return bool(found)

    def _assign(self, user):
        self.waiting.with_user(user).action_livechat_assign(self.support_2.id)
        self.assertEqual(self.waiting.livechat_operator_id, self.support_2.partner_id)
        return True

    def _forward(self, user):
        self.held.with_user(user).action_livechat_forward(self.group_sales.id)
        self.assertEqual(self.held.livechat_group_id, self.group_sales)
        return True

    def _read_history(self, user):
        transfers = (
            self.env["livechat.session.transfer"].with_user(user).search([("session_id", "=", self.held.id)])
        )
        transfers.read(["kind", "to_user_id"])
        return bool(transfers)

    def _read_groups(self, user):
        groups = self.env["livechat.group"].with_user(user).search([("id", "in", self.scenario_groups.ids)])
        groups.read(["name", "member_ids"])
        return bool(groups)

    def _write_groups(self, user):
        self.external_livechat.with_user(user).write(
            {"supervisor_group_ids": [Command.link(self.group_support.id)], "routing_mode": "manual"}
        )
        return True

    def _state(self):
        self.env.invalidate_all()
        return [
            (
                s.livechat_routing_state,
                s.livechat_group_id,
                s.livechat_operator_id,
                len(s.livechat_transfer_ids),
            )
            for s in (self.held, self.waiting)
        ]

    def _try(self, action, user):
        """Run ``action`` as ``user``, then undo whatever it did, so that cells are independent."""
        method = getattr(self, "_" + action.replace(" a ", " ").replace(" the ", " ").replace(" ", "_"))
        savepoint = self.env.cr.savepoint()
        try:
            return ALLOWED if method(user) else REFUSED
        except AccessError:
            return REFUSED
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()

    def test_matrix(self):
        before = self._state()
        for role, expected_row in self.MATRIX.items():
            for action, expected in zip(self.ACTIONS, expected_row, strict=True):
                with self.subTest(role=role, action=action):
                    self.assertEqual(self._try(action, self.roles[role]), expected)
                    self.assertEqual(self._state(), before, "every cell starts from the same sessions")

    def test_refused_steering_changes_nothing_and_says_why(self):
        before = self._state()
        with self.assertRefused(AccessError, "Only the supervisors of External Live Chat"):
            self.waiting.with_user(self.support_2).action_livechat_assign(self.support_2.id)
        with self.assertRefused(AccessError, "not one of the live chats you work in"):
            self.waiting.with_user(self.int_supervisor).action_livechat_assign(self.support_2.id)
        with self.assertRefused(AccessError, "Only the operator of this session, the supervisors"):
            self.held.with_user(self.sales_1).action_livechat_forward(self.group_tech.id)
        with self.assertRefused(AccessError, "may join its sessions"):
            self.held.with_user(self.support_2).action_livechat_join()
        with self.assertRefused(
            AccessError, "Only the operator of this session, the supervisors of External"
        ):
            self.held.with_user(self.sales_1).action_livechat_close()
        with self.assertRefused(AccessError, "not one of the live chats you work in"):
            self.held.with_user(self.portal).action_livechat_close()
        self.assertEqual(self._state(), before)

    def test_supervisor_reads_who_takes_part(self):
        Member = self.env["discuss.channel.member"]
        members = Member.with_user(self.ext_supervisor).search([("channel_id", "=", self.held.id)])
        self.assertIn(self.support_1.partner_id, members.partner_id)
        self.assertFalse(Member.with_user(self.int_supervisor).search([("channel_id", "=", self.held.id)]))
        self.assertFalse(Member.with_user(self.sales_1).search([("channel_id", "=", self.held.id)]))

    def test_stock_sessions_stay_as_stock_shows_them(self):
        """A live chat without groups: Live Chat users who are not members, supervisors
        included, do not read its sessions; its members do."""
        stock = self.env["im_livechat.channel"].create(
            {"name": "Stock", "user_ids": [(6, 0, self.livechat_user.ids)]}
        )
        self._online(self.livechat_user)
        session = self._get_session(stock, "Cid")
        self.assertEqual(session.livechat_operator_id, self.livechat_user.partner_id)
        self.assertFalse(session.livechat_routing_state)
        for user in (self.ext_supervisor, self.support_1, self.employee):
            with self.subTest(user=user.login):
                self.assertFalse(
                    self.env["discuss.channel"].with_user(user).search([("id", "=", session.id)])
                )
        self.assertTrue(
            self.env["discuss.channel"].with_user(self.livechat_user).search([("id", "=", session.id)])
        )
        self.assertTrue(self.env["discuss.channel"].with_user(self.admin).search([("id", "=", session.id)]))

    def test_operator_sees_the_queue_of_their_groups_only(self):
        self._online(self.sales_1)
        self.held.with_user(self.support_1).action_livechat_forward(self.group_tech.id)
        self.assertEqual(self.held.livechat_routing_state, "queued", "Tech Support is offline")
        Channel = self.env["discuss.channel"]
        self.assertFalse(Channel.with_user(self.support_2).search([("id", "=", self.held.id)]))
        self.assertEqual(Channel.with_user(self.tech_1).search([("id", "=", self.held.id)]), self.held)
        self.assertFalse(Channel.with_user(self.sales_1).search([("id", "=", self.held.id)]))
