from odoo.tests import tagged

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
