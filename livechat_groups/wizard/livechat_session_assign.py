from odoo import api, fields, models


class LivechatSessionAssign(models.TransientModel):
    """The Assign dialog of the supervision board: a supervisor gives a session to an operator
    of its live chat's groups."""

    _name = "livechat.session.assign"
    _inherit = "livechat.session.dialog"
    _description = "Assign a Live Chat Session"

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

    @api.depends("livechat_channel_id")
    def _compute_operator_ids(self):
        for wizard in self:
            # sudo: livechat.group - the dialog lists the operators of the session's live chat
            operators = wizard.livechat_channel_id.sudo()._operator_group_ids().member_ids
            wizard.operator_ids = operators
            # the same table as the Forward dialog
            wizard.operator_overview = wizard._member_overview(operators)

    def action_assign(self):
        self.ensure_one()
        self.session_id.action_livechat_assign(self.user_id.id)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                **self.session_id._livechat_hand_over_feedback(),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
