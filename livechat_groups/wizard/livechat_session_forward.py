from odoo import api, fields, models


class LivechatSessionForward(models.TransientModel):
    """The Forward dialog of a live chat session, in Discuss and on the session form."""

    _name = "livechat.session.forward"
    _inherit = "livechat.session.dialog"
    _description = "Forward a Live Chat Session"

    allowed_group_ids = fields.Many2many(comodel_name="livechat.group", compute="_compute_allowed_group_ids")
    group_id = fields.Many2one(
        comodel_name="livechat.group",
        string="Forward To",
        required=True,
        domain="[('id', 'in', allowed_group_ids)]",
        help="A specialist or entry group of this live chat.",
    )
    member_ids = fields.Many2many(comodel_name="res.users", compute="_compute_member_ids")
    user_id = fields.Many2one(
        comodel_name="res.users",
        string="Expert",
        domain="[('id', 'in', member_ids)]",
        help="Leave empty to give the session to the least busy available member of the group, "
        "or to its queue when nobody can take it.",
    )
    member_overview = fields.Html(
        string="Members", compute="_compute_member_ids", sanitize=False, help="Who can answer now."
    )
    group_closed_notice = fields.Char(
        compute="_compute_group_closed_notice", help="Whether the group is outside its business hours now."
    )
    note = fields.Text(
        help="For the operators only: an internal note in the conversation, which the visitor does not see."
    )
    group_description = fields.Text(
        related="group_id.description", string="About the Group", help="What the group answers."
    )
    expert_warning = fields.Char(compute="_compute_expert_warning")
    is_in_conversation = fields.Boolean(compute="_compute_is_in_conversation")
    stay = fields.Boolean(
        string="Stay in the Conversation",
        help="Keep following the conversation after the new operator joined.",
    )

    @api.depends("livechat_channel_id")
    def _compute_allowed_group_ids(self):
        for wizard in self:
            wizard.allowed_group_ids = wizard.livechat_channel_id.sudo()._operator_group_ids()

    @api.depends("group_id", "livechat_channel_id")
    def _compute_member_ids(self):
        for wizard in self:
            # only a group the session may be forwarded to shows its members and their load
            members = wizard._livechat_forward_group().member_ids
            wizard.member_ids = members
            wizard.member_overview = wizard._member_overview(members)

    @api.depends("group_id", "livechat_channel_id")
    def _compute_group_closed_notice(self):
        for wizard in self:
            group = wizard._livechat_forward_group()
            # sudo: livechat.group - any operator may know when a group of their live chat opens
            when = bool(group) and group.sudo()._livechat_opening_text(tz=self.env.user.tz)
            wizard.group_closed_notice = when and self.env._(
                "%(group)s is outside its business hours: it answers again from %(when)s. Until then "
                "the session waits in its queue.",
                group=wizard.group_id.name,
                when=when,
            )

    @api.depends("user_id")
    def _compute_expert_warning(self):
        for wizard in self:
            user = wizard.user_id
            wizard.expert_warning = (
                self.env._(
                    "%(user)s is not online: the session will wait until they come back.",
                    user=user.name,
                )
                if user and not user._is_user_available()
                else False
            )

    @api.depends("session_id")
    def _compute_is_in_conversation(self):
        partner = self.env.user.partner_id
        for wizard in self:
            # sudo: discuss.channel.member - a supervisor may forward a session they are not in
            wizard.is_in_conversation = partner in wizard.session_id.sudo().channel_member_ids.partner_id

    def _livechat_forward_group(self):
        """The chosen group, if the session may be forwarded to it (a group of its live chat)."""
        # sudo: livechat.group - the groups of the session's live chat, as allowed_group_ids
        return self.group_id & self.livechat_channel_id.sudo()._operator_group_ids()

    @api.onchange("group_id")
    def _onchange_group_id(self):
        if self.user_id not in self.group_id.member_ids:
            self.user_id = False

    def action_forward(self):
        self.ensure_one()
        partner = self.env.user.partner_id
        # sudo: discuss.channel - whether the user is in the conversation, before and after
        was_member = partner in self.session_id.sudo().channel_member_ids.partner_id
        self.session_id.action_livechat_forward(
            self.group_id.id, note=self.note, user_id=self.user_id.id, stay=self.stay
        )
        left = was_member and partner not in self.session_id.sudo().channel_member_ids.partner_id
        feedback = self.session_id._livechat_hand_over_feedback(left=left)
        # tell Discuss whether the forwarding operator left the conversation
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                **feedback,
                "next": {"type": "ir.actions.act_window_close", "infos": {"left": left}},
            },
        }
