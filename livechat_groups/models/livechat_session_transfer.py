from odoo import api, fields, models

from .livechat_routing_reason import Reason, record_names


class LivechatSessionTransfer(models.Model):
    """One hop in the routing history of a live chat session: who had it, who got it, why."""

    _name = "livechat.session.transfer"
    _description = "Live Chat Session Transfer"
    _order = "session_id, id"
    _rec_name = "kind"

    session_id = fields.Many2one(
        comodel_name="discuss.channel",
        required=True,
        ondelete="cascade",
        index=True,
    )
    session_visitor_name = fields.Char(
        related="session_id.livechat_visitor_name",
        string="Visitor",
        help="Who asked in the session (its name also carries the operator who holds it now).",
    )
    kind = fields.Selection(
        selection=[
            ("route", "Routed"),
            ("forward", "Forwarded"),
            ("assign", "Assigned"),
            ("take", "Taken"),
            ("requeue", "Back in Queue"),
            ("timeout", "No Answer"),
        ],
        required=True,
        help="Routed: the system gave the session to an operator or put it in a queue. "
        "Forwarded: an operator handed it to another group. Assigned: a supervisor gave it to an "
        "operator. Taken: an operator took it from the queue. Back in queue: its operator left or was away. "
        "No answer: its operator did not answer in time, the routing gave it to another.",
    )
    from_group_id = fields.Many2one(comodel_name="livechat.group", ondelete="set null")
    to_group_id = fields.Many2one(comodel_name="livechat.group", ondelete="set null")
    from_user_id = fields.Many2one(comodel_name="res.users", string="From Operator", ondelete="set null")
    to_user_id = fields.Many2one(
        comodel_name="res.users",
        string="To Operator",
        ondelete="set null",
        help="Empty when the session went to the group's queue.",
    )
    note = fields.Text(help="Shown to operators only.")
    reason_data = fields.Json(
        string="Reason (stored)",
        readonly=True,
        help="What the routing said of this hop, in no language: see livechat_routing_reason.",
    )
    reason = fields.Text(
        compute="_compute_reason",
        help="Why the routing chose this operator, or left the session in the queue, in its own words.",
    )

    @api.depends_context("lang")
    @api.depends("reason_data")
    def _compute_reason(self):
        # the reason is written by whoever acted, in their language: each reader reads it in theirs
        reasons = [Reason.load(hop.reason_data) for hop in self]
        names = record_names(self.env, reasons)
        for hop, reason in zip(self, reasons, strict=True):
            hop.reason = reason.render(self.env, names) or False

    @api.model_create_multi
    def create(self, vals_list):
        hops = super().create(vals_list)
        # a hop changes the session's figures: its entry group, waiting time, forwards, timeouts
        self.env["livechat.session.report"]._livechat_mark_sessions(hops.session_id.ids)
        return hops

    def action_open_session(self):
        """Open the session this hop is of (a row of the Routing Hops list), for who may read it."""
        self.ensure_one()
        self.check_access("read")
        self.session_id.check_access("read")
        return {
            "type": "ir.actions.act_window",
            "res_model": "discuss.channel",
            "res_id": self.session_id.id,
            "views": [(self.env.ref("im_livechat.discuss_channel_view_form").id, "form")],
            "target": "current",
            "context": {"create": False},
        }
