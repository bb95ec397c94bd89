import json
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin, LivechatGroupsTourCase


@tagged("post_install", "-at_install")
class TestHardening(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """The attacks that once got through, each made the way an attacker (or an unlucky user)
    would: over JSON-RPC, through the visitor's routes and the bus, with Discuss's own actions.
    Each ends refused or correct, and nothing changed."""

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    def _jsonrpc(self, route, params):
        """A JSON-RPC request; return the whole answer, its error with its message included."""
        response = self.url_open(
            route,
            json.dumps({"id": 0, "jsonrpc": "2.0", "method": "call", "params": params}).encode(),
            headers={"Content-Type": "application/json"},
        )
        response.raise_for_status()
        return response.json()

    def _rpc(self, user, model, method, *args, **kwargs):
        """Call ``model.method(*args, **kwargs)`` as ``user`` over JSON-RPC, as a web client does."""
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _refused(self, error, regex, route, params):
        """``route`` answers ``params`` with ``error`` (an exception's name) saying ``regex``."""
        with self.assertLogs("odoo.http", "WARNING"):
            answer = self._jsonrpc(route, params)
        self.assertIn("error", answer, f"refused: {answer}")
        self.assertIn(error, answer["error"]["data"]["name"])
        if regex:
            self.assertRegex(answer["error"]["data"]["message"], regex)
        self.env.invalidate_all()

    def _rpc_refused(self, error, regex, user, model, method, *args, **kwargs):
        """The call of :meth:`_rpc`, refused with ``error`` saying ``regex``."""
        self.authenticate(user.login, user.login)
        self._refused(
            error,
            regex,
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _routing(self, *sessions):
        self.env.invalidate_all()
        return [
            (
                s.livechat_routing_state,
                s.livechat_group_id,
                s.livechat_operator_id,
                s.channel_member_ids.partner_id,
                len(s.livechat_transfer_ids),
                len(s.message_ids),
            )
            for s in sessions
        ]

    def _ask_internal(self, user):
        """``user`` asks the internal live chat from Discuss; return the session."""
        data = self._rpc(user, "im_livechat.channel", "livechat_start_session", self.internal_livechat.ids)
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _guest_messages(self, session):
        """What the visitor's widget loads: the bodies of the conversation's messages, the
        replied-to ones included."""
        guest = session.channel_member_ids.guest_id
        self.url_open("/web/session/logout")
        self.opener.cookies["dgid"] = guest._format_auth_cookie()
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        return json.dumps(data)

    def _post_params(self, session, body, **post_data):
        return {
            "thread_model": "discuss.channel",
            "thread_id": session.id,
            "post_data": {
                "body": body,
                "message_type": "comment",
                "subtype_xmlid": "mail.mt_comment",
                **post_data,
            },
        }

    def _post(self, user, session, body, **post_data):
        """``user`` writes ``body`` in ``session`` from Discuss (the real route)."""
        self.authenticate(user.login, user.login)
        return self.make_jsonrpc_request("/mail/message/post", self._post_params(session, body, **post_data))

    def _post_refused(self, user, session, body, regex):
        self.authenticate(user.login, user.login)
        self._refused("AccessError", regex, "/mail/message/post", self._post_params(session, body))

    # ------------------------------------------------------------
    # 1. A live chat's settings are the Live Chat administrators'
    # ------------------------------------------------------------

    def test_01_operator_cannot_give_themselves_another_live_chats_sessions(self):
        livechat = self.internal_livechat
        before = livechat.read(
            [
                "supervisor_group_ids",
                "entry_group_ids",
                "routing_mode",
                "max_sessions_per_operator",
                "audience",
            ]
        )
        tied_to_employees = self.group_employees
        for vals in (
            {"supervisor_group_ids": [Command.link(self.group_support.id)]},
            {"supervisor_group_ids": [Command.link(tied_to_employees.id)]},
            {"entry_group_ids": [Command.set(self.group_support.ids)]},
            {"routing_mode": "manual"},
            {"max_sessions_per_operator": 99},
            {"audience": "external", "requester_group_ids": [Command.clear()]},
        ):
            with self.subTest(vals=vals):
                self._rpc_refused(
                    "AccessError",
                    "Only Live Chat administrators may set the groups",
                    self.support_1,
                    "im_livechat.channel",
                    "write",
                    livechat.ids,
                    vals,
                )
        self.assertEqual(livechat.read(list(before[0])), before)
        self.assertFalse(
            self.employee.has_group("livechat_groups.group_livechat_supervisor"),
            "no employee became a supervisor",
        )

    def test_01_operator_cannot_create_a_grouped_or_internal_live_chat(self):
        Channel = self.env["im_livechat.channel"]
        count = Channel.search_count([])
        for vals, context in (
            ({"name": "Mine", "entry_group_ids": [Command.set(self.group_support.ids)]}, {}),
            (
                {
                    "name": "Mine",
                    "audience": "internal",
                    "requester_group_ids": [Command.set(self.group_employees.ids)],
                },
                {},
            ),
            (
                {"name": "Mine", "requester_group_ids": [Command.set(self.group_employees.ids)]},
                {"default_audience": "internal"},
            ),
        ):
            with self.subTest(vals=vals, context=context):
                self._rpc_refused(
                    "AccessError",
                    "Only Live Chat administrators",
                    self.support_1,
                    "im_livechat.channel",
                    "create",
                    [vals],
                    context=context,
                )
        self.assertEqual(Channel.search_count([]), count)

    def test_01_stock_fields_stay_open_to_live_chat_users(self):
        """What stock lets operators do, they still do; and the form may send settings unchanged."""
        created = self._rpc(self.support_1, "im_livechat.channel", "create", [{"name": "Plain"}])
        plain = self.env["im_livechat.channel"].browse(created)
        self.assertFalse(plain._is_grouped())
        self._rpc(self.support_1, "im_livechat.channel", "write", plain.ids, {"name": "Plain chat"})
        self._rpc(
            self.support_1,
            "im_livechat.channel",
            "write",
            self.external_livechat.ids,
            {
                "button_text": "Talk to us",
                "routing_mode": "auto",
                "entry_group_ids": [Command.set(self.group_support.ids)],
            },
        )
        self.assertEqual(self.external_livechat.button_text, "Talk to us")
        self._rpc(
            self.admin,
            "im_livechat.channel",
            "write",
            self.external_livechat.ids,
            {"routing_mode": "manual"},
        )
        self.assertEqual(self.external_livechat.routing_mode, "manual")
        form = self.env["im_livechat.channel"].with_user(self.support_1).browse(self.external_livechat.id)
        self.assertFalse(form.livechat_can_configure)
        self.assertTrue(form.with_user(self.admin).livechat_can_configure)

    # ------------------------------------------------------------
    # 2. Who asked never answers, and one session never stops the queues
    # ------------------------------------------------------------

    def test_02_queue_job_never_gives_requesters_their_own_session(self):
        self._offline(self.helpdesk_1)
        own = self._ask_internal(self.helpdesk_1)
        other = self._ask_internal(self.employee)
        self.assertEqual([own.livechat_routing_state, other.livechat_routing_state], ["queued", "queued"])
        self._online(self.helpdesk_1)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(own.livechat_routing_state, "queued", "helpdesk_1 asked: they do not answer")
        self.assertEqual(other.livechat_operator_id, self.helpdesk_1.partner_id, "the others are served")

    def test_02_forward_to_the_requesters_own_group_waits(self):
        self._online(self.helpdesk_1, self.accounting_1)
        session = self._ask_internal(self.accounting_1)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        session.with_user(self.helpdesk_1).action_livechat_forward(self.group_accounting.id, note="Invoices")
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.group_accounting)

    def test_02_supervisor_closes_a_session_while_a_requester_waits(self):
        self._online(self.helpdesk_1)
        held = self._ask_internal(self.employee)
        self._offline(self.helpdesk_1)
        own = self._ask_internal(self.helpdesk_1)
        self._online(self.helpdesk_1)
        held.with_user(self.int_supervisor).action_livechat_close()
        self.assertEqual(held.livechat_routing_state, "closed")
        self.assertEqual(own.livechat_routing_state, "queued")

    def test_02_operator_who_leaves_never_hands_to_the_requester(self):
        group_members = self.group_helpdesk.user_ids
        self.group_helpdesk.user_ids = group_members | self.int_supervisor
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.int_supervisor)
        self.assertEqual(session.livechat_operator_id, self.helpdesk_1.partner_id)
        self._online(self.int_supervisor)
        session.with_user(self.helpdesk_1).action_unfollow()
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertNotIn(self.int_supervisor.partner_id, session.livechat_operator_id)

    def test_02_one_session_that_fails_does_not_stop_the_others(self):
        self._offline(self.support_1, self.support_2)
        broken = self._get_session(self.external_livechat, "Broken")
        fine = self._get_session(self.external_livechat, "Fine")
        self._online(self.support_1, self.support_2)
        Routing = self.registry["livechat.routing"]
        hand_over = Routing._hand_over

        def failing_hand_over(routing, session, *args, **kwargs):
            if session.id == broken.id:
                session.write({"name": "half-written"})
                raise ValueError("boom")
            return hand_over(routing, session, *args, **kwargs)

        with (
            patch.object(Routing, "_hand_over", failing_hand_over),
            self.assertLogs("odoo.addons.livechat_groups.models.livechat_routing", "ERROR") as logs,
        ):
            self.env["livechat.routing"]._cron_serve_queues()
        self.assertIn(f"Live chat session {broken.id} could not be routed", logs.output[0])
        self.assertEqual(broken.livechat_routing_state, "queued")
        self.assertEqual(broken.name, "Broken (General Support)", "nothing of the failure is written")
        self.assertEqual(fine.livechat_routing_state, "assigned")

    # ------------------------------------------------------------
    # 3. A reply never carries the note it answers to the visitor
    # ------------------------------------------------------------

    def test_03_reply_to_a_note_does_not_leak_it(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        note = session.sudo()._livechat_post_operator_note("Secret: sue them")
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        self._post(self.support_1, session, "Thanks for waiting", parent_id=note.id)
        reply = session.message_ids.filtered(lambda m: "Thanks for waiting" in m.body)
        self.assertEqual(reply.parent_id, note)
        pushed = self.env["bus.bus"].sudo().search([("id", ">", last)])
        to_conversation = pushed.filtered(
            lambda n: json.loads(n.channel)[1:] == ["discuss.channel", session.id]
        )
        self.assertTrue(any("Thanks for waiting" in n.message for n in to_conversation))
        self.assertFalse(any("sue them" in n.message for n in to_conversation), "live, on the bus")
        history = self._guest_messages(session)
        self.assertIn("Thanks for waiting", history)
        self.assertNotIn("sue them", history, "in the history the visitor loads")

    def test_03_employee_who_asked_never_reads_the_note_in_a_reply(self):
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        note = session.sudo()._livechat_post_operator_note("Secret: known complainer")
        self._post(self.helpdesk_1, session, "On it", parent_id=note.id)
        self.authenticate(self.employee.login, self.employee.login)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        self.assertIn("On it", json.dumps(data))
        self.assertNotIn("known complainer", json.dumps(data))

    def test_03_message_posted_as_internal_is_a_note_for_who_asked(self):
        """A message posted with ``is_internal`` over RPC is kept from the employee who asked,
        who still loads their conversation."""
        self._online(self.helpdesk_1)
        session = self._ask_internal(self.employee)
        self._rpc(
            self.helpdesk_1,
            "discuss.channel",
            "message_post",
            session.ids,
            body="Internal: check their contract",
            message_type="comment",
            is_internal=True,
        )
        self._post(self.helpdesk_1, session, "Checking now")
        self.authenticate(self.employee.login, self.employee.login)
        data = json.dumps(self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id}))
        self.assertIn("Checking now", data)
        self.assertNotIn("check their contract", data)

    # ------------------------------------------------------------
    # 4. Routing fields cannot be forged, on any conversation
    # ------------------------------------------------------------

    def test_04_routing_fields_cannot_be_forged_on_ones_own_chat(self):
        chat = (
            self.env["discuss.channel"]
            .with_user(self.employee)
            .create_group(partners_to=self.support_1.partner_id.ids)
        )
        for vals in (
            {"livechat_routing_state": "assigned"},
            {"livechat_group_id": self.group_support.id},
            {"livechat_queued_date": "2000-01-01 00:00:00"},
        ):
            with self.subTest(vals=vals):
                self._rpc_refused(
                    "AccessError",
                    "The routing of a live chat session",
                    self.employee,
                    "discuss.channel",
                    "write",
                    chat.ids,
                    vals,
                )
        self._rpc_refused(
            "AccessError",
            "The routing of a live chat session",
            self.employee,
            "discuss.channel",
            "create",
            [
                {
                    "name": "Forged",
                    "livechat_routing_state": "queued",
                    "livechat_group_id": self.group_support.id,
                }
            ],
        )
        self.assertFalse(chat.livechat_routing_state)
        self.assertFalse(self.env["discuss.channel"].search([("name", "=", "Forged")]))

    def test_04_forged_rows_neither_fill_an_operator_nor_pull_them_into_a_chat(self):
        """Even written by the system, a conversation that is not a live chat session is
        neither counted against capacity nor served by the queue job."""
        self.external_livechat.max_sessions_per_operator = 1
        chat = self.env["discuss.channel"].create_group(partners_to=self.employee.partner_id.ids)
        chat.write(
            {
                "livechat_routing_state": "assigned",
                "livechat_operator_id": self.support_1.partner_id.id,
            }
        )
        other = self.env["discuss.channel"].create_group(partners_to=self.employee.partner_id.ids)
        other.write(
            {
                "livechat_routing_state": "queued",
                "livechat_group_id": self.group_support.id,
                "livechat_queued_date": "2000-01-01 00:00:00",
            }
        )
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(
            session.livechat_operator_id, self.support_1.partner_id, "the forged row did not count"
        )
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(
            other.livechat_routing_state, "queued", "the queue job serves live chat sessions only"
        )
        self.assertNotIn(self.support_2.partner_id, other.channel_member_ids.partner_id)

    # ------------------------------------------------------------
    # 5. An archived supervisor group takes its rights away
    # ------------------------------------------------------------

    def test_05_archived_supervisor_group_reads_and_steers_nothing(self):
        self._online(self.support_1)
        held = self._get_session(self.external_livechat, "Ann")
        self._offline(self.support_1)
        waiting = self._get_session(self.external_livechat, "Bob")
        self.group_ext_supervisors.active = False
        Session = self.env["discuss.channel"].with_user(self.ext_supervisor)
        for context in ({}, {"active_test": False}):
            with self.subTest(context=context):
                env_session = Session.with_context(**context)
                self.assertFalse(env_session.search([("id", "in", (held | waiting).ids)]))
                self.assertFalse(
                    self.env["livechat.session.transfer"]
                    .with_user(self.ext_supervisor)
                    .with_context(**context)
                    .search([("session_id", "=", held.id)])
                )
                self.assertFalse(
                    self.env["livechat.session.report"]
                    .with_user(self.ext_supervisor)
                    .with_context(**context)
                    .search([("livechat_channel_id", "=", self.external_livechat.id)])
                )
        before = self._routing(waiting)
        self._rpc_refused(
            "AccessError",
            "Only the supervisors of External Live Chat",
            self.ext_supervisor,
            "discuss.channel",
            "action_livechat_assign",
            waiting.ids,
            self.support_2.id,
            context={"active_test": False},
        )
        self.assertEqual(self._routing(waiting), before)

    # ------------------------------------------------------------
    # 6. A group is archived, not deleted, and its queue moves
    # ------------------------------------------------------------

    def test_06_group_with_sessions_cannot_be_deleted(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        with self.assertRefused(UserError, "archive the group instead of deleting it"):
            self.group_support.with_user(self.admin).unlink()
        self.assertTrue(self.group_support.exists())
        self.assertEqual(waiting.livechat_group_id, self.group_support)
        unused = self.env["livechat.group"].create({"name": "Unused"})
        unused.with_user(self.admin).unlink()
        self.assertFalse(unused.exists())

    def test_06_archiving_an_entry_group_moves_its_queue(self):
        overflow = self.env["livechat.group"].create(
            {"name": "Overflow", "sequence": 5, "user_ids": [Command.set(self.sales_2.ids)]}
        )
        self.external_livechat.entry_group_ids |= overflow
        self._offline(self.support_1, self.support_2, self.sales_2)
        first = self._get_session(self.external_livechat, "Ann")
        second = self._get_session(self.external_livechat, "Bob")
        self.assertEqual((first | second).livechat_group_id, self.group_support)
        waited_since = first.livechat_queued_date
        self.group_support.with_user(self.admin).active = False
        self.assertEqual(first.livechat_group_id, overflow)
        self.assertEqual(second.livechat_group_id, overflow)
        self.assertEqual(first.livechat_routing_state, "queued")
        self.assertEqual(first.livechat_queued_date, waited_since, "first in line as it was")
        self.assertEqual(first.livechat_transfer_ids[-1].kind, "requeue")
        self._online(self.sales_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(first.livechat_operator_id, self.sales_2.partner_id, "and is served from there")

    def test_06_last_entry_group_with_a_queue_cannot_be_archived(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        with self.assertRefused(UserError, "is the last entry group of External Live Chat"):
            self.group_support.with_user(self.admin).active = False
        self.assertTrue(self.group_support.active)
        self.assertEqual(waiting.livechat_group_id, self.group_support)

    def test_06_session_forwarded_to_an_archived_group_goes_back_to_the_entry_groups(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        self._online(self.tech_1)
        session.with_user(self.support_1).action_livechat_forward(self.group_tech.id)
        self.assertEqual(session.livechat_operator_id, self.tech_1.partner_id)
        self.group_tech.active = False
        session.with_user(self.tech_1).action_unfollow()
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)

    # ------------------------------------------------------------
    # 7. Who asked never reads the notes about their request
    # ------------------------------------------------------------

    def test_07_who_asked_does_not_read_the_notes_even_as_supervisor(self):
        self._online(self.helpdesk_1, self.hr_1)
        Transfer = self.env["livechat.session.transfer"]
        for asker in (self.int_supervisor, self.admin):
            with self.subTest(asker=asker.login):
                session = self._ask_internal(asker)
                session.with_user(self.helpdesk_1).action_livechat_forward(
                    self.group_hr.id, note="Salary dispute"
                )
                self.assertTrue(Transfer.with_user(self.hr_1).search([("session_id", "=", session.id)]))
                self.assertFalse(Transfer.with_user(asker).search([("session_id", "=", session.id)]))
                self.assertFalse(
                    Transfer.with_user(asker).search_read(
                        [("session_id", "=", session.id), ("note", "ilike", "Salary")], ["note"]
                    )
                )
                self._rpc_refused(
                    "AccessError",
                    "",
                    asker,
                    "livechat.session.transfer",
                    "read",
                    session.livechat_transfer_ids.ids,
                    ["note"],
                )
                session._close_livechat_session()

    # ------------------------------------------------------------
    # 8. A grouped live chat's chatbot hands over through the routing
    # ------------------------------------------------------------

    def _chatbot(self):
        script = self.env["chatbot.script"].create(
            {
                "title": "Helper Bot",
                "script_step_ids": [
                    Command.create({"step_type": "text", "message": "Hello!"}),
                    Command.create({"step_type": "forward_operator", "message": "One moment."}),
                ],
            }
        )
        self.external_livechat.rule_ids = [
            Command.create({"regex_url": "/", "chatbot_script_id": script.id, "action": "auto_popup"})
        ]
        return script

    def _chatbot_session(self, script):
        self.url_open("/web/session/logout")
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session",
            {
                "channel_id": self.external_livechat.id,
                "anonymous_name": "Bot visitor",
                "chatbot_script_id": script.id,
                "persisted": True,
            },
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def test_08_chatbot_hands_over_to_an_entry_group_member(self):
        script = self._chatbot()
        self._online(self.support_1)
        session = self._chatbot_session(script)
        self.assertFalse(session.livechat_routing_state, "the bot talks first")
        forward = script.script_step_ids.filtered(lambda step: step.step_type == "forward_operator")
        forward.with_context(lang="en_US")._process_step(session)
        self.assertEqual(session.livechat_routing_state, "assigned")
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        self.assertEqual(session.livechat_transfer_ids.mapped("kind"), ["route"])
        self.assertEqual(session.livechat_visitor_name, "Bot visitor")
        self.assertIn(session, self.env["discuss.channel"].with_user(self.ext_supervisor).search([]))
        self.external_livechat.max_sessions_per_operator = 1
        self.assertFalse(
            self.env["livechat.routing"]._below_capacity(self.external_livechat, self.support_1), "it counts"
        )

    def test_08_chatbot_waits_in_the_queue_when_nobody_can_take_it(self):
        script = self._chatbot()
        self._offline(self.support_1, self.support_2)
        session = self._chatbot_session(script)
        forward = script.script_step_ids.filtered(lambda step: step.step_type == "forward_operator")
        forward._process_step(session)
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertTrue(session.livechat_queue_notice_id)
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertIn(self.support_2.partner_id, session.channel_member_ids.partner_id)

    # ------------------------------------------------------------
    # 9. Answering means taking
    # ------------------------------------------------------------

    def test_09_seeing_a_waiting_session_does_not_let_one_write_in_it(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        self.assertTrue(
            self.env["discuss.channel"].with_user(self.support_1).search([("id", "=", waiting.id)])
        )
        before = self._routing(waiting)
        self._post_refused(self.support_1, waiting, "I answer without taking", "take the session")
        self._rpc_refused(
            "AccessError",
            "take the session",
            self.support_1,
            "discuss.channel",
            "message_post",
            waiting.ids,
            body="Via RPC",
            message_type="comment",
        )
        self._rpc_refused(
            "AccessError",
            "",
            self.support_1,
            "mail.message",
            "create",
            [{"model": "discuss.channel", "res_id": waiting.id, "body": "Forged", "message_type": "comment"}],
        )
        self.assertEqual(self._routing(waiting), before)
        self.assertNotIn("answer without", self._guest_messages(waiting))
        # taking it opens the conversation to them
        waiting.with_user(self.support_1).action_livechat_take()
        self._post(self.support_1, waiting, "Now I answer")
        self.assertIn("Now I answer", self._guest_messages(waiting))

    def test_09_supervisor_joins_before_writing(self):
        self._online(self.support_1)
        held = self._get_session(self.external_livechat, "Ann")
        self._post_refused(self.ext_supervisor, held, "Hello from the supervisor", "join it")
        held.with_user(self.ext_supervisor).action_livechat_join()
        self._post(self.ext_supervisor, held, "Hello from the supervisor")
        self.assertIn("Hello from the supervisor", self._guest_messages(held))

    # ------------------------------------------------------------
    # 10. An archived operator hands their sessions back
    # ------------------------------------------------------------

    def test_10_archived_operator_hands_back_their_sessions(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self._online(self.support_2)
        self.support_1.with_user(self.env.ref("base.user_admin")).active = False
        self.assertEqual(session.livechat_operator_id, self.support_2.partner_id)
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_transfer_ids[-1].kind, "requeue")

    def test_10_operator_removed_from_the_groups_hands_back_their_sessions(self):
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.group_support.with_user(self.admin).user_ids = [Command.unlink(self.support_1.id)]
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.group_support)
        self.assertNotIn(self.support_1.partner_id, session.channel_member_ids.partner_id)

    def test_10_operator_who_left_a_tied_user_group_hands_back_their_sessions(self):
        tied = self.env["res.groups"].create(
            {"name": "Support Team", "users": [Command.set(self.support_1.ids)]}
        )
        self.group_support.write(
            {"user_ids": [Command.unlink(self.support_1.id)], "system_group_ids": [Command.set(tied.ids)]}
        )
        self._online(self.support_1)
        self._offline(self.support_2)
        session = self._get_session(self.external_livechat, "Ann")
        self.assertEqual(session.livechat_operator_id, self.support_1.partner_id)
        tied.users = [Command.unlink(self.support_1.id)]
        self.assertEqual(session.livechat_routing_state, "queued")

    def test_10_operator_of_both_groups_keeps_the_session(self):
        self._online(self.support_1)
        session = self._get_session(self.external_livechat, "Ann")
        self.group_sales.user_ids |= self.support_1
        self.group_support.user_ids -= self.support_1
        self.assertEqual(
            session.livechat_operator_id, self.support_1.partner_id, "still an operator of the live chat"
        )

    # ------------------------------------------------------------
    # 11. What the routing writes, users may not
    # ------------------------------------------------------------

    def test_11_operator_cannot_move_their_tie_break_date(self):
        settings = self.env["res.users.settings"]._find_or_create_for_user(self.support_1)
        settings.livechat_last_assigned_date = "2020-01-01 00:00:00"
        for method, args in (
            (
                "set_res_users_settings",
                [settings.ids, {"livechat_last_assigned_date": "2100-01-01 00:00:00"}],
            ),
            ("write", [settings.ids, {"livechat_last_assigned_date": "2100-01-01 00:00:00"}]),
            ("write", [settings.ids, {"livechat_last_request_date": "2100-01-01 00:00:00"}]),
        ):
            with self.subTest(method=method, args=args):
                self._rpc_refused("AccessError", "", self.support_1, "res.users.settings", method, *args)
        self.assertEqual(
            settings.livechat_last_assigned_date, fields.Datetime.to_datetime("2020-01-01 00:00:00")
        )
        self._rpc(
            self.support_1,
            "res.users.settings",
            "set_res_users_settings",
            settings.ids,
            {"use_push_to_talk": True},
        )
        self.assertTrue(settings.use_push_to_talk, "the user's own settings stay theirs")

    # ------------------------------------------------------------
    # 12. Malformed arguments get a clear refusal
    # ------------------------------------------------------------

    def test_12_malformed_arguments_are_refused_clearly(self):
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

    def test_06_live_chat_with_open_sessions_cannot_be_deleted(self):
        self._offline(self.support_1, self.support_2)
        waiting = self._get_session(self.external_livechat, "Ann")
        with self.assertRefused(UserError, "are waiting or in progress: close them"):
            self.external_livechat.with_user(self.admin).unlink()
        self.assertTrue(self.external_livechat.exists())
        waiting.with_user(self.admin).action_livechat_close()
        self.external_livechat.with_user(self.admin).unlink()
        self.assertFalse(self.external_livechat.exists())

    # ------------------------------------------------------------
    # The board's and Discuss's read methods, called by the wrong people
    # ------------------------------------------------------------

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


@tagged("post_install", "-at_install")
class TestHardeningTour(LivechatGroupsTourCase):
    """The live chat form tells Live Chat users who changes its groups, and lets them change nothing."""

    def test_operator_reads_the_settings_administrator_changes_them(self):
        url = f"/odoo/action-im_livechat.im_livechat_channel_action/{self.external_livechat.id}"
        self.start_tour(url, "livechat_groups_settings_read_only", login=self.support_1.login)
        self.assertEqual(self.external_livechat.routing_mode, "auto")
        self.start_tour(url, "livechat_groups_settings_editable", login=self.admin.login)
        self.assertEqual(self.external_livechat.routing_mode, "manual")
