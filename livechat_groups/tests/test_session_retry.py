from contextlib import contextmanager

import psycopg2
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from .common import LivechatGroupsRoutingCase


@tagged("post_install", "-at_install")
class TestSessionRetry(LivechatGroupsRoutingCase):
    """A visitor's widget that asks again for a session (the answer to its first request was
    lost after the session was saved) gets the session already made, through the real route."""

    def _ask_again(self, livechat, session):
        """The visitor of ``session`` (their guest cookie) asks ``livechat`` for a session again."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"channel_id": livechat.id, "anonymous_name": "Vic"}
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _sessions_of(self, session):
        guest = session.channel_member_ids.guest_id
        return self.env["discuss.channel"].search(
            [("channel_type", "=", "livechat"), ("channel_member_ids.guest_id", "=", guest.id)]
        )

    def test_retry_gets_the_waiting_session(self):
        session = self._get_session(self.external_livechat, "Vic")
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(self._ask_again(self.external_livechat, session), session)
        self.assertEqual(self._ask_again(self.external_livechat, session), session)
        self.assertEqual(self._sessions_of(session), session, "one session, one place in the queue")

    def test_a_live_chat_without_groups_stays_stock(self):
        """Stock's own tests open several sessions of one visitor at once (one per available
        operator): a live chat without groups makes a session for each request, as stock does."""
        stock = self.env["im_livechat.channel"].create(
            {"name": "Stock", "user_ids": [(6, 0, (self.support_1 | self.support_2).ids)]}
        )
        self._online(self.support_1, self.support_2)
        first = self._get_session(stock, "Vic")
        self.assertFalse(first.livechat_routing_state)
        second = self._ask_again(stock, first)
        self.assertNotEqual(second, first)
        self.assertEqual(
            {first.livechat_operator_id, second.livechat_operator_id},
            {self.support_1.partner_id, self.support_2.partner_id},
        )

    def test_retry_gets_the_assigned_session(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Vic")
        self.assertHeldBy(session, self.support_1, self.group_support)
        self.assertEqual(self._ask_again(self.external_livechat, session), session)
        self.assertEqual(len(session.livechat_transfer_ids), 1, "routed once")

    def test_a_visitor_who_wrote_starts_a_new_session(self):
        session = self._get_session(self.external_livechat, "Vic")
        self._visitor_says(session, "My first question")
        new = self._ask_again(self.external_livechat, session)
        self.assertNotEqual(new, session, "not a retry: they talked in the first one")
        self.assertEqual(self._sessions_of(session), session | new)


@tagged("post_install", "-at_install")
class TestSessionRetryRace(BaseCase):
    """Two requests of one guest at once (a widget that retried before the first answered):
    the second waits for the first, then fails to serialize, which makes Odoo run it again, and
    the retry finds the session the first made. Real transactions on the demo's external live
    chat (Odoo's test runner serves HTTP inside one)."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self._env() as env:
            channel = env.ref("livechat_groups.channel_external", raise_if_not_found=False)
            if not channel:
                self.skipTest("the demo's external live chat is not installed")
            self.channel_id = channel.id
            self.guest_id = env["mail.guest"].create({"name": "Racing visitor"}).id
        self.addCleanup(self._cleanup)

    @contextmanager
    def _env(self):
        """A transaction of its own (committed at the end), even while the registry serves a
        test case's cursor; the registry is given: the test runner holds the lock that looking
        it up would take."""
        with db_connect(get_db_name()).cursor() as cr:
            cr.transaction = api.Transaction(self.registry)
            yield api.Environment(cr, SUPERUSER_ID, {})

    def _cleanup(self):
        with db_connect(get_db_name()).cursor() as cr:
            cr.execute(
                "DELETE FROM discuss_channel WHERE id IN "
                "(SELECT channel_id FROM discuss_channel_member WHERE guest_id = %s)",
                [self.guest_id],
            )
            cr.execute("DELETE FROM mail_guest WHERE id = %s", [self.guest_id])

    def _retried(self, env):
        channel = env["im_livechat.channel"].browse(self.channel_id)
        return channel._livechat_retried_session(env["mail.guest"].browse(self.guest_id), env["res.partner"])

    def test_the_second_request_finds_the_first_ones_session(self):
        with self._env() as first, self._env() as second:
            self.assertFalse(self._retried(first), "the first request: nothing yet, it makes one")
            second.cr.execute("SELECT 1")  # the second request began: its snapshot is taken
            session = first["discuss.channel"].create(
                {
                    "name": "Racing visitor",
                    "channel_type": "livechat",
                    "livechat_channel_id": self.channel_id,
                    "livechat_active": True,
                    "livechat_operator_id": first.ref("base.partner_root").id,
                }
            )
            first["discuss.channel.member"].create({"channel_id": session.id, "guest_id": self.guest_id})
            first.cr.commit()
            with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.OperationalError) as caught:
                self._retried(second)
            second.cr.rollback()
        self.assertEqual(caught.exception.pgcode, errorcodes.SERIALIZATION_FAILURE, "Odoo runs it again")
        with self._env() as retry:
            self.assertEqual(self._retried(retry).id, session.id, "the retry gets the first one's session")
