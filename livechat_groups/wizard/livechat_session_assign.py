from odoo import api, fields, models


class LivechatSessionAssign(models.TransientModel):
    """The Assign dialog of the supervision board: a supervisor gives a session to an operator
    of its live chat's groups."""

    _name = "livechat.session.assign"
    _description = "Assign a Live Chat Session"

    session_id = fields.Many2one(
        comodel_name="discuss.channel",
        required=True,
        ondelete="cascade",
        domain=[("channel_type", "=", "livechat")],
    )
    livechat_channel_id = fields.Many2one(related="session_id.livechat_channel_id")
    current_group_id = fields.Many2one(related="session_id.livechat_group_id", string="Now With")
    operator_ids = fields.Many2many(
        comodel_name="res.users", string="Operators of the Live Chat", compute="_compute_operator_ids"
    )
    user_id = fields.Many2one(
        comodel_name="res.users",
        string="Operator",
        required=True,
        domain="[('id', 'in', operator_ids)]",
        help="A member of the entry or specialist groups of this live chat; their capacity does "
        "not bind a supervisor.",
    )
    operator_overview = fields.Html(
        string="Availability",
        compute="_compute_operator_ids",
        sanitize=False,
        help="Who can answer now, and how many sessions each holds.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # the dialog reads the session's live chat and operators as the system does: only for a
        # session its user may read
        wizards.session_id.check_access("read")
        return wizards

    @api.depends("livechat_channel_id")
    def _compute_operator_ids(self):
        Forward = self.env["livechat.session.forward"]
        for wizard in self:
            # sudo: livechat.group - the dialog lists the operators of the session's live chat
            operators = wizard.livechat_channel_id.sudo()._operator_group_ids().member_ids
            wizard.operator_ids = operators
            # the same table as the Forward dialog
            wizard.operator_overview = Forward.new({"session_id": wizard.session_id.id})._member_overview(
                operators
            )

    def action_assign(self):
        self.ensure_one()
        self.session_id.action_livechat_assign(self.user_id.id)
        return {"type": "ir.actions.act_window_close"}
