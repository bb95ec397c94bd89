from odoo import Command
from odoo.tests import tagged

from .common import LivechatGroupsRoutingCase

# what the Forward and Assign dialogs show, as their forms ask for it (web client's fields_spec)
FORWARD_SPEC = {
    "livechat_channel_id": {"fields": {"display_name": {}}},
    "allowed_group_ids": {"fields": {"display_name": {}}},
    "group_id": {"fields": {"display_name": {}}},
    "member_ids": {"fields": {"display_name": {}}},
    "member_overview": {},
    "group_closed_notice": {},
}
ASSIGN_SPEC = {
    "livechat_channel_id": {"fields": {"display_name": {}}},
    "operator_ids": {"fields": {"display_name": {}}},
    "operator_overview": {},
}


@tagged("post_install", "-at_install")
class TestDialogAttacks(LivechatGroupsRoutingCase):
    """The Forward and Assign dialogs read a session's live chat, groups and operators as the
    system does: whoever points them at a session, a group or a user they may not read, by
    create, write, onchange or a default, is refused, and learns nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Other Company"})
        cls.other_operator = cls._user(
            "other_operator",
            name="Olga Other",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.group_other_company = cls.env["livechat.group"].create(
            {
                "name": "Other Company Desk",
                "company_id": cls.other_company.id,
                "user_ids": [Command.set(cls.other_operator.ids)],
            }
        )

    def setUp(self):
        super().setUp()
        self._online(self.support_1, self.helpdesk_1)
        self.ann = self._get_session(self.livechat, "Ann")
        self.assertEqual(self.ann.livechat_operator_id, self.support_1.partner_id)
        # a question of the internal live chat, which support_1 may not read
        self.internal = self._queued_session(self.internal_livechat, "Payroll question")

    def _onchange_refused(self, user, model, values, spec, error="AccessError", context=None):
        self._rpc_refused(error, None, user, model, "onchange", [], values, [], spec, context=context or {})

    def test_outsider_onchange_is_refused(self):
        """An operator of the internal live chat asks both dialogs about Ann's session."""
        for model, spec in (
            ("livechat.session.forward", FORWARD_SPEC),
            ("livechat.session.assign", ASSIGN_SPEC),
        ):
            with self.subTest(model=model):
                self._onchange_refused(self.helpdesk_1, model, {"session_id": self.ann.id}, spec)
                # the same through the form's default (the form has the session's field)
                self._onchange_refused(
                    self.helpdesk_1,
                    model,
                    {},
                    {**spec, "session_id": {}},
                    context={"default_session_id": self.ann.id},
                )
                # a session given as values (a new record whose origin is Ann's)
                self._onchange_refused(
                    self.helpdesk_1, model, {"session_id": {"id": self.ann.id}}, spec, error="UserError"
                )
                # the same through the form's default: a new record made from Ann's session
                self._onchange_refused(
                    self.helpdesk_1,
                    model,
                    {},
                    {**spec, "session_id": {}},
                    context={"default_session_id": {"id": self.ann.id}},
                )

    def test_onchange_takes_no_live_chat_from_the_caller(self):
        """The session's live chat follows from the session; given alone, it shows nothing."""
        for model, spec in (
            ("livechat.session.forward", FORWARD_SPEC),
            ("livechat.session.assign", ASSIGN_SPEC),
        ):
            for values, context in (
                ({"livechat_channel_id": self.livechat.id}, {}),
                ({}, {"default_livechat_channel_id": self.livechat.id}),
            ):
                with self.subTest(model=model, values=values, context=context):
                    answer = self._rpc(
                        self.helpdesk_1, model, "onchange", [], values, [], spec, context=context
                    )
                    shown = str(answer)
                    for name in ("Sonia Support", "Simon Support", "External Live Chat", "Sales Department"):
                        self.assertNotIn(name, shown)

    def test_own_session_onchange_still_shows_the_operators(self):
        answer = self._rpc(
            self.support_1,
            "livechat.session.forward",
            "onchange",
            [],
            {"session_id": self.ann.id, "group_id": self.group_sales.id},
            [],
            FORWARD_SPEC,
        )
        self.assertIn("Selma Sales", answer["value"]["member_overview"])

    def test_a_new_forward_dialog_warns_of_nothing(self):
        """Before a group is picked, the closed-hours warning is empty (it once showed the empty
        recordset, "livechat.group()")."""
        answer = self._rpc(
            self.support_1,
            "livechat.session.forward",
            "onchange",
            [],
            {"session_id": self.ann.id},
            ["session_id"],
            FORWARD_SPEC,
            context={"default_session_id": self.ann.id},
        )
        self.assertFalse(answer["value"].get("group_closed_notice"))
        self.assertNotIn("livechat.group(", str(answer))

    def test_dialog_cannot_be_pointed_at_another_session(self):
        """support_1 opens the dialogs on their own session, then points them at the internal
        question and reads them again."""
        dialogs = (
            ("livechat.session.forward", FORWARD_SPEC, {"group_id": self.group_sales.id}),
            ("livechat.session.assign", ASSIGN_SPEC, {"user_id": self.support_2.id}),
        )
        for model, spec, values in dialogs:
            with self.subTest(model=model):
                dialog_id = self._rpc(self.support_1, model, "create", {"session_id": self.ann.id, **values})
                self._rpc_refused(
                    "AccessError",
                    None,
                    self.support_1,
                    model,
                    "write",
                    [dialog_id],
                    {"session_id": self.internal.id},
                )
                dialog = self.env[model].browse(dialog_id)
                self.assertEqual(dialog.session_id, self.ann, "nothing changed")
                (shown,) = self._rpc(self.support_1, model, "web_read", [dialog_id], spec)
                self.assertEqual(shown["livechat_channel_id"]["id"], self.livechat.id)
                # nor in the onchange of the saved dialog
                self._rpc_refused(
                    "AccessError",
                    None,
                    self.support_1,
                    model,
                    "onchange",
                    [dialog_id],
                    {"session_id": self.internal.id},
                    ["session_id"],
                    spec,
                )

    def test_forward_to_another_companys_group_is_refused(self):
        """The multi-company rule hides the other company's group: the dialog shows nothing of it."""
        values = {"session_id": self.ann.id, "group_id": self.group_other_company.id}
        self._onchange_refused(self.support_1, "livechat.session.forward", values, FORWARD_SPEC)
        self._rpc_refused(
            "AccessError",
            None,
            self.support_1,
            "livechat.session.forward",
            "onchange",
            [],
            values,
            ["group_id"],
            FORWARD_SPEC,
        )
        self._rpc_refused("AccessError", None, self.support_1, "livechat.session.forward", "create", values)
        dialog_id = self._rpc(
            self.support_1,
            "livechat.session.forward",
            "create",
            {"session_id": self.ann.id, "group_id": self.group_sales.id},
        )
        self._rpc_refused(
            "AccessError",
            None,
            self.support_1,
            "livechat.session.forward",
            "write",
            [dialog_id],
            {"group_id": self.group_other_company.id},
        )
        (shown,) = self._rpc(
            self.support_1, "livechat.session.forward", "web_read", [dialog_id], FORWARD_SPEC
        )
        self.assertNotIn("Olga Other", str(shown))

    def test_forward_dialog_shows_members_of_its_live_chats_groups_only(self):
        """A group the user may read but that is no group of the session's live chat (the
        internal live chat's HR) shows no members, status or load."""
        answer = self._rpc(
            self.support_1,
            "livechat.session.forward",
            "onchange",
            [],
            {"session_id": self.ann.id, "group_id": self.group_hr.id},
            [],
            FORWARD_SPEC,
        )
        self.assertNotIn("Hector Hr", str(answer))
