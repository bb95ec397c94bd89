from odoo import api, fields, models

from ..models.discuss_channel_freshness import LivechatSessionChanged


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

    # who held the session on the card the dialog was opened from (the card's Assign button
    # passes them): the session may have changed since, on a board read from a lagging replica
    board_routing_state = fields.Selection(
        selection=[("queued", "Waiting"), ("assigned", "In Progress"), ("closed", "Closed")],
        string="State on the Board",
    )
    board_operator_id = fields.Many2one(comodel_name="res.users", string="Held By on the Board")
    change_message = fields.Char(
        string="Changed Since",
        readonly=True,
        help="What changed in the session since the board showed it: assign anyway, or cancel.",
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
        """Assign as the board showed the session; when it changed since, the dialog stays open
        and says what changed (see :meth:`action_assign_anyway`)."""
        self.ensure_one()
        seen = None
        if self.board_routing_state:
            seen = {
                "livechat_routing_state": self.board_routing_state,
                "livechat_operator_user_id": self.board_operator_id.id,
            }
        try:
            with self.env.cr.savepoint():
                self.session_id.action_livechat_assign(self.user_id.id, seen=seen)
        except LivechatSessionChanged as changed:
            self.change_message = changed.args[0]
            return {
                "type": "ir.actions.act_window",
                "res_model": self._name,
                "res_id": self.id,
                "views": [(False, "form")],
                "target": "new",
                "name": self.env._("Assign the Session"),
            }
        return self._livechat_assigned()

    def action_assign_anyway(self):
        """The supervisor read what changed and assigns the session all the same."""
        self.ensure_one()
        self.session_id.action_livechat_assign(self.user_id.id)
        return self._livechat_assigned()

    def _livechat_assigned(self):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                **self.session_id._livechat_hand_over_feedback(),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
