from itertools import product
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.livechat_groups.messengers import whatsapp

from .common import LivechatGroupsRpcMixin
from .messenger_common import LivechatMessengerCase


@tagged("post_install", "-at_install")
class TestMessengerTemplates(LivechatMessengerCase, LivechatGroupsRpcMixin):
    """Templates and the outbox under attack: a template only where it can be sent, one row's
    failure never blocks the others, and the "Send a template" dialog only on a session its
    user may read."""

    def setUp(self):
        super().setUp()
        self._online(self.support_1, self.helpdesk_1)
        self._write("16505551234", "Hello")
        self.carla = self._session_of("16505551234")
        self.assertEqual(self.carla.livechat_operator_id, self.support_1.partner_id)

    def _template(self, messenger, name="follow_up"):
        return self.env["livechat.messenger.template"].create(
            {"messenger_id": messenger.id, "name": name, "body": "Hello again! Can we help?"}
        )

    def _other_account(self, provider):
        return self.env["livechat.messenger"].create(
            {
                "name": f"Other {provider}",
                "provider": provider,
                "livechat_channel_id": self.external_livechat.id,
                "api_base_url": self.standin.api_base_url,
                "access_token": "other-token",
            }
        )

    # ------------------------------------------------------------
    # Templates, only where they can be sent
    # ------------------------------------------------------------

    def test_an_archived_template_is_not_sent(self):
        template = self._template(self.messenger, name="old_offer")
        template.active = False
        for context in ({}, {"active_test": False}):
            with self.subTest(context=context):
                self._rpc_refused(
                    "UserError",
                    "not one of the messenger of this session",
                    self.support_1,
                    "discuss.channel",
                    "action_livechat_messenger_send_template",
                    self.carla.ids,
                    template.id,
                    context=context,
                )
        self.assertFalse(
            self.Outbox.search([("session_id", "=", self.carla.id), ("template_id", "=", template.id)])
        )

    def test_no_template_on_a_telegram_account(self):
        telegram = self._other_account("telegram")
        Template = self.env["livechat.messenger.template"]
        self._rpc_refused(
            "ValidationError",
            "Only a WhatsApp account has message templates",
            self.admin,
            "livechat.messenger.template",
            "create",
            [{"messenger_id": telegram.id, "name": "x", "body": "x"}],
        )
        template = self._template(self.messenger)
        self._rpc_refused(
            "ValidationError",
            "Only a WhatsApp account has message templates",
            self.admin,
            "livechat.messenger.template",
            "write",
            template.ids,
            {"messenger_id": telegram.id},
        )
        self.assertFalse(Template.search([("messenger_id", "=", telegram.id)]), "nothing made")
        self.assertEqual(template.messenger_id, self.messenger)

    def test_no_provider_change_under_templates(self):
        """The sibling of a template given to a Telegram account: an account with templates
        (archived ones too) does not become a Telegram account."""
        account = self._other_account("whatsapp")
        template = self._template(account)
        template.active = False
        self._rpc_refused(
            "ValidationError",
            "has message templates, which only WhatsApp sends",
            self.admin,
            "livechat.messenger",
            "write",
            account.ids,
            {"provider": "telegram"},
        )
        self.assertEqual(account.provider, "whatsapp")
        template.unlink()
        account.provider = "telegram"  # without templates, it may

    def test_templates_stay_in_their_company(self):
        other = self.env["res.company"].create({"name": "Other Company"})
        theirs = self._other_account("whatsapp")
        theirs.company_id = other
        self._template(theirs, name="their_offer")
        ours = self._template(self.messenger)
        found = self._rpc(self.support_1, "livechat.messenger.template", "search_read", [], ["name"])
        self.assertIn(ours.id, [t["id"] for t in found])
        self.assertNotIn("their_offer", [t["name"] for t in found], "another company's account")

    def test_a_template_left_on_telegram_fails_alone(self):
        # a template made while the account was WhatsApp's, left from before the provider's
        # check (now refused: see test_no_provider_change_under_templates)
        changed = self._other_account("whatsapp")
        template = self._template(changed)
        self.env.cr.execute("UPDATE livechat_messenger SET provider = 'telegram' WHERE id = %s", changed.ids)
        changed.invalidate_recordset(["provider"])
        stale = self.Outbox.sudo().create(
            {
                "messenger_id": changed.id,
                "session_id": self.carla.id,
                "template_id": template.id,
                "direction": "out",
                "state": "queued",
            }
        )
        self._post_as(self.support_1, "We are on it")
        rows = self._send()
        self.assertIn(stale, rows)
        self.assertEqual(stale.state, "failed")
        self.assertEqual(stale.failure_reason, "Only a WhatsApp account has message templates.")
        (sent,) = self.standin.sent()
        self.assertEqual(sent["text"]["body"], "*Sonia Support*: We are on it", "the others are sent")
        self.assertIn("Only a WhatsApp account has message templates.", self._texts(self.carla)[-1])

    def test_an_unexpected_error_fails_its_row_only(self):
        text_message = whatsapp.text_message

        def broken(to, body):
            if "boom" in body:
                raise ValueError("a bug")
            return text_message(to, body)

        self._post_as(self.support_1, "boom")
        self._post_as(self.support_1, "We are on it")
        with patch.object(whatsapp, "text_message", broken), self.assertLogs(level="ERROR"):
            self._send()
        boom, fine = self.Outbox.search(
            [("session_id", "=", self.carla.id), ("direction", "=", "out")], order="id"
        )
        self.assertEqual(boom.state, "failed")
        self.assertIn("an unexpected error (ValueError)", boom.failure_reason)
        self.assertNotIn("a bug", boom.failure_reason, "the details stay in the log")
        self.assertEqual(fine.state, "sent")
        self.assertEqual([m["text"]["body"] for m in self.standin.sent()], ["*Sonia Support*: We are on it"])
        self.assertTrue(any("Not delivered to the customer: “boom”" in t for t in self._texts(self.carla)))

    def test_an_unreadable_answer_reads_in_the_operators_words(self):
        """The provider answered 200 but not as documented: the operators read our own words
        (translatable), never an English detail of the parser; the details go to the log."""

        def unreadable(value, what):
            raise ValueError(f"{what} is not an id")

        self._post_as(self.support_1, "We are on it")
        with (
            patch.object(whatsapp, "identifier", unreadable),
            self.assertLogs("odoo.addons.livechat_groups.models.livechat_messenger", "WARNING") as logged,
        ):
            self._send()
        (row,) = self.Outbox.search([("session_id", "=", self.carla.id), ("direction", "=", "out")])
        self.assertEqual(row.state, "failed")
        self.assertEqual(
            row.failure_reason,
            "WhatsApp answered in a way we could not read; an administrator finds the details in "
            "the server log.",
        )
        self.assertIn("no message id in the answer", "\n".join(logged.output))

    def _post_as(self, user, body):
        return self.carla.with_user(user).message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    # ------------------------------------------------------------
    # The "Send a template" dialog
    # ------------------------------------------------------------

    # what the dialog's form asks
    SPEC = {
        "session_id": {"fields": {"display_name": {}}},
        "messenger_id": {"fields": {"display_name": {}}},
        "window_end": {},
        "template_id": {"fields": {"display_name": {}}},
    }

    def _dialogs(self):
        return self.env["livechat.messenger.template.send"].sudo().search_count([])

    def test_dialog_only_on_a_session_its_user_reads(self):
        Dialog = "livechat.messenger.template.send"
        template = self._template(self.messenger)
        before = self._dialogs()
        # an operator of another live chat, its supervisor, a plain employee
        for user in (self.helpdesk_1, self.int_supervisor, self.employee):
            # the session as an id, or a new record made from it; the whole form, or its name only
            for value, spec in product(
                (self.carla.id, {"id": self.carla.id}), (self.SPEC, {"session_id": self.SPEC["session_id"]})
            ):
                answer = self._rpc_answer(
                    user, Dialog, "onchange", [], {"session_id": value}, ["session_id"], spec
                )
                self.assertIn("error", answer, f"{user.name} reads {answer.get('result')}")
                self.assertIn("AccessError", answer["error"]["data"]["name"])
                self.assertNotIn("Carla", str(answer))
            answer = self._rpc_answer(
                user,
                Dialog,
                "onchange",
                [],
                {},
                [],
                self.SPEC,
                context={"default_session_id": self.carla.id},
            )
            self.assertIn("error", answer, f"{user.name} reads {answer.get('result')} from a default")
        for user in (self.helpdesk_1, self.int_supervisor):
            self._rpc_refused(
                "AccessError",
                "",
                user,
                Dialog,
                "create",
                [{"session_id": self.carla.id, "template_id": template.id}],
            )
        self.assertEqual(self._dialogs(), before, "nothing made")
        # the dialog on one's own session, pointed at another's afterwards
        own = self._ask_internal(self.employee)
        self.assertEqual(own.livechat_operator_id, self.helpdesk_1.partner_id)
        (dialog_id,) = self._rpc(
            self.helpdesk_1, Dialog, "create", [{"session_id": own.id, "template_id": template.id}]
        )
        self._rpc_refused(
            "AccessError", "", self.helpdesk_1, Dialog, "write", [dialog_id], {"session_id": self.carla.id}
        )
        answer = self._rpc_answer(
            self.helpdesk_1, Dialog, "onchange", [dialog_id], {"session_id": self.carla.id}, [], self.SPEC
        )
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", "nor in its form")
        (read,) = self._rpc(self.helpdesk_1, Dialog, "web_read", [dialog_id], self.SPEC)
        self.assertEqual(read["session_id"]["id"], own.id, "unchanged")
        self.assertFalse(read["messenger_id"])
        # its operator uses it
        answer = self._rpc(
            self.support_1, Dialog, "onchange", [], {"session_id": self.carla.id}, ["session_id"], self.SPEC
        )
        self.assertEqual(answer["value"]["messenger_id"]["id"], self.messenger.id)
