from markupsafe import Markup

from odoo import api, fields, models


class LivechatSessionForward(models.TransientModel):
    """The Forward dialog of a live chat session, in Discuss and on the session form."""

    _name = "livechat.session.forward"
    _description = "Forward a Live Chat Session"

    session_id = fields.Many2one(
        comodel_name="discuss.channel",
        required=True,
        ondelete="cascade",
        domain=[("channel_type", "=", "livechat")],
    )
    livechat_channel_id = fields.Many2one(related="session_id.livechat_channel_id")
    current_group_id = fields.Many2one(related="session_id.livechat_group_id", string="Now With")
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
    note = fields.Text(
        help="For the operators only: an internal note in the conversation, which the visitor does not see."
    )
    stay = fields.Boolean(
        string="Stay in the Conversation",
        help="Keep following the conversation after the new operator joined.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # the dialog reads the session's live chat and operators as the system does: only for a
        # session its user may read
        wizards.session_id.check_access("read")
        return wizards

    @api.depends("livechat_channel_id")
    def _compute_allowed_group_ids(self):
        for wizard in self:
            wizard.allowed_group_ids = wizard.livechat_channel_id.sudo()._operator_group_ids()

    @api.depends("group_id", "livechat_channel_id")
    def _compute_member_ids(self):
        for wizard in self:
            members = wizard.group_id.member_ids
            wizard.member_ids = members
            wizard.member_overview = wizard._member_overview(members)

    def _member_overview(self, members):
        """A table of ``members``: whether they can answer now, and how many sessions they hold."""
        if not members:
            return False
        channel = self.livechat_channel_id.sudo()
        stats = channel._livechat_operator_stats(members)
        capacity = channel.max_sessions_per_operator
        status_labels = {
            "online": self.env._("Available"),
            "away": self.env._("Away"),
            "offline": self.env._("Offline"),
        }
        rows = Markup()
        for user in members.sorted(lambda u: (not u._is_user_available(), stats[u.id][0], u.name)):
            load = stats[user.id][0]
            full = bool(capacity) and load >= capacity
            status = status_labels.get(user.im_status, status_labels["offline"])
            badge = "text-bg-success" if user._is_user_available() and not full else "text-bg-secondary"
            rows += Markup(
                '<tr><td>%s</td><td><span class="badge rounded-pill %s">%s</span></td><td>%s</td></tr>'
            ) % (
                user.name,
                badge,
                status,
                self.env._("%(load)s of %(capacity)s", load=load, capacity=capacity) if capacity else load,
            )
        return Markup(
            '<table class="table table-sm o_livechat_groups_members"><thead><tr>'
            "<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (self.env._("Member"), self.env._("Status"), self.env._("Open Sessions"), rows)

    @api.onchange("group_id")
    def _onchange_group_id(self):
        if self.user_id not in self.group_id.member_ids:
            self.user_id = False

    def action_forward(self):
        self.ensure_one()
        self.session_id.action_livechat_forward(
            self.group_id.id, note=self.note, user_id=self.user_id.id, stay=self.stay
        )
        # tell Discuss whether the forwarding operator left the conversation
        return {"type": "ir.actions.act_window_close", "infos": {"left": not self.stay}}
