import json
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import (
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
)


@tagged("post_install", "-at_install")
class TestSessionForward(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """An operator hands a session to specialists, in the same conversation, with a note."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat = cls.external_livechat

    def setUp(self):
        super().setUp()
        self._online(self.support_1)
        # Ann's session (HttpCase's self.session is the test client's HTTP session)
        self.ann = self._get_session(self.livechat, "Ann")
        self.assertEqual(self.ann.livechat_operator_id, self.support_1.partner_id)
        self.ann.with_user(self.support_1).message_post(
            body="Hello, how can I help?", message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    def _forward(self, user, group, **kwargs):
        return self.ann.with_user(user).action_livechat_forward(group.id, **kwargs)

    def _members(self):
        return self.ann.channel_member_ids.partner_id

    def _snapshot(self):
        session = self.ann
        return (
            session.livechat_routing_state,
            session.livechat_group_id,
            session.livechat_operator_id,
            self._members(),
            len(session.livechat_transfer_ids),
            len(session.message_ids),
        )

    def test_forward_to_the_least_busy_available_member(self):
        self._online(self.sales_1, self.sales_2)
        self._get_session(self.livechat, "Bob")  # support_1 is the only entry operator: no load on sales
        busy = self.env["discuss.channel"].create(
            {"name": "busy", "channel_type": "livechat", "livechat_operator_id": self.sales_1.partner_id.id}
        )
        busy.livechat_routing_state = "assigned"
        history = self.ann.message_ids
        self._forward(self.support_1, self.group_sales, note="Wants a quote for 40 seats")

        self.assertEqual(self.ann.livechat_routing_state, "assigned")
        self.assertEqual(self.ann.livechat_group_id, self.group_sales)
        self.assertEqual(self.ann.livechat_operator_id, self.sales_2.partner_id, "sales_1 is busier")
        self.assertIn(self.sales_2.partner_id, self._members())
        self.assertNotIn(self.support_1.partner_id, self._members(), "the forwarding operator left")
        self.assertLessEqual(history, self.ann.message_ids, "the whole history stays")
        joined = self.ann.message_ids.filtered(
            lambda m: "joined the conversation" in m.body and "Silas Sales" in m.body
        )
        left = self.ann.message_ids.filtered(lambda m: "left the channel" in m.body)
        self.assertLess(joined.id, left.id, "the new operator joins before the previous one leaves")

        transfer = self.ann.livechat_transfer_ids[-1]
        self.assertRecordValues(
            transfer,
            [
                {
                    "kind": "forward",
                    "from_group_id": self.group_support.id,
                    "to_group_id": self.group_sales.id,
                    "from_user_id": self.support_1.id,
                    "to_user_id": self.sales_2.id,
                    "note": "Wants a quote for 40 seats",
                    "create_uid": self.support_1.id,
                }
            ],
        )
        note = self.ann.message_ids.filtered(lambda m: "40 seats" in m.body)
        self.assertEqual(note.author_id, self.support_1.partner_id)
        self.assertEqual(note.subtype_id, self.env.ref("mail.mt_note"), "an internal note")
        notice = self.ann.message_ids.filtered(lambda m: "transferred to" in m.body)
        self.assertIn("You are transferred to Sales Department.", notice.body)
        self.assertEqual(notice.author_id, self.env.ref("base.partner_root"))
        self.assertFalse(notice.subtype_id.internal, "the visitor sees the notice")

    def test_forward_to_a_named_expert(self):
        self._online(self.sales_1, self.sales_2)
        self._forward(self.support_1, self.group_sales, user_id=self.sales_1.id)
        self.assertEqual(self.ann.livechat_operator_id, self.sales_1.partner_id)
        self.assertEqual(self.ann.livechat_transfer_ids[-1].to_user_id, self.sales_1)

    def test_named_expert_need_not_be_online(self):
        self._forward(self.support_1, self.group_tech, user_id=self.tech_1.id)
        self.assertEqual(self.ann.livechat_operator_id, self.tech_1.partner_id)

    def test_forward_waits_in_the_target_queue(self):
        self._forward(self.support_1, self.group_tech, note="Printer on fire")
        self.assertEqual(self.ann.livechat_routing_state, "queued")
        self.assertEqual(self.ann.livechat_group_id, self.group_tech)
        self.assertNotIn(self.support_1.partner_id, self._members())
        self.assertTrue(
            self.ann.message_ids.filtered(
                lambda m: "you are number 1 in the queue of Tech Support" in html2plaintext(m.body)
            )
        )
        self.assertFalse(self.ann.livechat_transfer_ids[-1].to_user_id)
        # the entry operators do not get it back: it waits for Tech Support
        self._online(self.support_2)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(self.ann.livechat_routing_state, "queued")
        self._online(self.tech_1)
        self.env["livechat.routing"]._cron_serve_queues()
        self.assertEqual(self.ann.livechat_operator_id, self.tech_1.partner_id)
        self.assertEqual(self.ann.livechat_group_id, self.group_tech)
        self.assertEqual(self.ann.livechat_transfer_ids.mapped("kind"), ["route", "forward", "route"])

    def test_forwarding_operator_does_not_get_it_back_from_the_queue(self):
        self.group_tech.user_ids |= self.support_1  # support_1 is a Tech Support member too
        self._forward(self.support_1, self.group_tech)
        self.assertEqual(self.ann.livechat_routing_state, "queued", "tech_1 is offline")
        self.assertNotIn(self.support_1.partner_id, self._members())

    def test_queue_place_follows_the_queue_order(self):
        self._offline(self.support_1)
        waiting = self._get_session(self.livechat, "Bob")  # waits in General Support
        waiting.livechat_queued_date = fields.Datetime.now() - timedelta(minutes=1)  # for a minute now
        self._forward(self.support_1, self.group_tech)  # the older session joins Tech Support's queue
        self._forward(self.ext_supervisor, self.group_support)
        self.assertEqual(self.ann.livechat_routing_state, "queued")
        self.assertGreater(waiting.id, self.ann.id)
        notice = self.ann.livechat_queue_notice_id
        self.assertIn("you are number 2 in the queue of General Support", self._shown_text(notice))

    def test_forward_wizard_needs_a_session_one_may_read(self):
        with self.assertRefused(AccessError, "Channel"):
            self.env["livechat.session.forward"].with_user(self.sales_1).create(
                {"session_id": self.ann.id, "group_id": self.group_sales.id}
            )

    def test_forwarding_operator_may_stay(self):
        self._online(self.tech_1)
        self._forward(self.support_1, self.group_tech, stay=True)
        self.assertEqual(self.ann.livechat_operator_id, self.tech_1.partner_id)
        self.assertIn(self.support_1.partner_id, self._members())
        # leaving later does not take the session away from its new operator
        self.ann.with_user(self.support_1).action_unfollow()
        self.assertEqual(self.ann.livechat_operator_id, self.tech_1.partner_id)
        self.assertEqual(self.ann.livechat_routing_state, "assigned")

    def test_specialist_who_leaves_hands_back_to_the_specialists(self):
        self._online(self.sales_1, self.sales_2)
        self._forward(self.support_1, self.group_sales, user_id=self.sales_1.id)
        self.ann.with_user(self.sales_1).action_unfollow()
        self.assertEqual(self.ann.livechat_operator_id, self.sales_2.partner_id)
        self.assertEqual(self.ann.livechat_group_id, self.group_sales)

    def test_forward_back_to_an_entry_group(self):
        self._online(self.tech_1, self.support_2)
        self._forward(self.support_1, self.group_tech)
        self._forward(self.tech_1, self.group_support)
        self.assertEqual(self.ann.livechat_group_id, self.group_support)
        self.assertEqual(self.ann.livechat_operator_id, self.support_2.partner_id, "support_1 is busier")

    def test_forward_within_the_group_to_another_member(self):
        self._online(self.support_2)
        self._forward(self.support_1, self.group_support, user_id=self.support_2.id)
        self.assertEqual(self.ann.livechat_operator_id, self.support_2.partner_id)

    def test_supervisors_and_administrators_forward(self):
        self._online(self.sales_1, self.tech_1)
        self._forward(self.ext_supervisor, self.group_sales)
        self.assertEqual(self.ann.livechat_operator_id, self.sales_1.partner_id)
        self.assertNotIn(self.ext_supervisor.partner_id, self._members(), "a supervisor does not join")
        self.assertNotIn(self.support_1.partner_id, self._members())
        self._forward(self.admin, self.group_tech, note="Back to tech")
        self.assertEqual(self.ann.livechat_operator_id, self.tech_1.partner_id)
        self.assertEqual(self.ann.livechat_transfer_ids[-1].create_uid, self.admin)

    def test_supervisor_forwards_a_waiting_session(self):
        self._offline(self.support_1)
        waiting = self._get_session(self.livechat, "Bob")
        self.assertEqual(waiting.livechat_routing_state, "queued")
        self._online(self.tech_1)
        waiting.with_user(self.ext_supervisor).action_livechat_forward(self.group_tech.id)
        self.assertEqual(waiting.livechat_operator_id, self.tech_1.partner_id)
        self.assertNotIn(self.env.ref("base.partner_root"), waiting.channel_member_ids.partner_id)

    def test_refusals_change_nothing(self):
        self._online(self.sales_1, self.support_2)
        before = self._snapshot()
        cases = [
            (
                self.support_1,
                UserError,
                "HR Department is not a group of External Live Chat",
                (self.group_hr.id,),
            ),
            (self.support_1, UserError, "'nope' is not a group of External Live Chat", ("nope",)),
            (
                self.support_1,
                UserError,
                "Sonia Support is not a member of Sales Department",
                (self.group_sales.id,),
                {"user_id": self.support_1.id},
            ),
            (
                self.support_1,
                UserError,
                "already with General Support: name another member",
                (self.group_support.id,),
            ),
            (
                self.support_1,
                UserError,
                "Sonia Support already holds this session",
                (self.group_support.id,),
                {"user_id": self.support_1.id},
            ),
            (self.support_2, AccessError, "Only the operator of this session", (self.group_sales.id,)),
            (self.sales_1, AccessError, "Only the operator of this session", (self.group_sales.id,)),
            # who has nothing to do with the live chat is not told its name
            (
                self.int_supervisor,
                AccessError,
                "not one of the live chats you work in",
                (self.group_sales.id,),
            ),
            (self.employee, AccessError, "not one of the live chats you work in", (self.group_sales.id,)),
        ]
        for user, exception, message, args, *kwargs in cases:
            with self.subTest(user=user.name, message=message):
                with self.assertRefused(exception, message):
                    self.ann.with_user(user).action_livechat_forward(*args, **(kwargs[0] if kwargs else {}))
                self.assertEqual(self._snapshot(), before)

    def test_closed_session_is_refused(self):
        self.ann._close_livechat_session()
        with self.assertRefused(UserError, "This session is closed"):
            self._forward(self.support_1, self.group_sales)
        self.assertEqual(self.ann.livechat_group_id, self.group_support)

    def test_visitor_does_not_see_the_note(self):
        self._online(self.sales_1)
        guest = self.ann.channel_member_ids.guest_id
        self._forward(self.support_1, self.group_sales, note="Secret: VIP customer")
        self.url_open("/web/session/logout")
        self.opener.cookies["dgid"] = guest._format_auth_cookie()
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": self.ann.id})
        bodies = [message["body"] for message in data["data"]["mail.message"]]
        self.assertTrue(any("You are transferred to Sales Department." in body for body in bodies))
        self.assertFalse(any("VIP customer" in body for body in bodies), "the note stays with operators")
        self.assertTrue(any("Hello, how can I help?" in body for body in bodies))
        # nor is it pushed live to the conversation, which the visitor's widget listens to
        pushed = self.env["bus.bus"].sudo().search([("message", "like", "VIP customer")])
        self.assertTrue(pushed, "the operators get the note live")
        targets = [json.loads(notification.channel)[1:] for notification in pushed]
        self.assertNotIn(["discuss.channel", self.ann.id], targets)
        self.assertIn(["res.partner", self.support_1.partner_id.id], targets)
        # nor are its edits and reactions
        note = self.ann.message_ids.filtered(lambda m: "VIP customer" in m.body)
        last = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        self.ann._message_update_content(note, "Secret: VIP customer since 2019")
        note._message_reaction("👍", "add", self.sales_1.partner_id, self.env["mail.guest"])
        self.env.cr.precommit.run()  # the bus writes its notifications when the transaction commits
        updates = self.env["bus.bus"].sudo().search([("id", ">", last)])
        self.assertTrue(updates)
        self.assertNotIn(
            ["discuss.channel", self.ann.id], [json.loads(update.channel)[1:] for update in updates]
        )
        self.assertIn(
            ["res.partner", self.sales_1.partner_id.id],
            [json.loads(update.channel)[1:] for update in updates],
        )

    def test_forward_wizard(self):
        self._online(self.sales_1, self.sales_2)
        wizard = (
            self.env["livechat.session.forward"]
            .with_user(self.support_1)
            .create({"session_id": self.ann.id, "group_id": self.group_sales.id})
        )
        self.assertEqual(wizard.allowed_group_ids, self.group_support | self.group_sales | self.group_tech)
        self.assertEqual(wizard.member_ids, self.sales_1 | self.sales_2)
        self.assertIn("Selma Sales", wizard.member_overview)
        self.assertIn("Available", wizard.member_overview)
        wizard.write({"user_id": self.sales_2.id, "note": "  Needs a discount  "})
        wizard.action_forward()
        self.assertEqual(self.ann.livechat_operator_id, self.sales_2.partner_id)
        self.assertEqual(self.ann.livechat_transfer_ids[-1].note, "Needs a discount")

    def test_queries_per_forward_do_not_grow_with_the_group(self):
        def queries_to_forward(member_count):
            users = self.env["res.users"]
            for index in range(member_count):
                users |= self._user(f"crowd_{member_count}_{index}", name=f"Crowd {member_count} {index}")
            group = self.env["livechat.group"].create(
                {"name": f"Crowd {member_count}", "user_ids": [Command.set(users.ids)]}
            )
            self.livechat.specialist_group_ids |= group
            self._online(self.support_1, *users)
            session = self._get_session(self.livechat, f"Crowd visitor {member_count}")
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            session.with_user(self.support_1).action_livechat_forward(group.id, note="Over to you")
            self.assertIn(session.livechat_operator_id, users.partner_id)
            return self.env.cr.sql_log_count - before

        # One query more or less depends on which of Odoo's caches earlier tests left warm; a
        # query per member would show as 27 more.
        small, large = queries_to_forward(3), queries_to_forward(30)
        self.assertLessEqual(abs(large - small), 1, f"{small} queries for 3 members, {large} for 30")
