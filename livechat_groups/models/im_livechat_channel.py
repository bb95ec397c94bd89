from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"

    audience = fields.Selection(
        selection=[("external", "External"), ("internal", "Internal")],
        required=True,
        default="external",
        help="External: visitors of your website (the live chat widget). "
        "Internal: employees of the requester groups, from Discuss.",
    )
    entry_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_entry_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Entry Groups",
        help="General operators: new requests go to an available member of these groups, "
        "in the groups' order, or wait in the first group's queue. "
        "Without entry groups, the live chat routes to its operators as stock Odoo does.",
    )
    specialist_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_specialist_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Specialist Groups",
        help="Groups to which operators forward the sessions that need an expert.",
    )
    supervisor_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_supervisor_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Supervisor Groups",
        help="Members see every session of this live chat on the supervision board, "
        "and assign, reassign and join them.",
    )
    requester_group_ids = fields.Many2many(
        comodel_name="livechat.group",
        relation="im_livechat_channel_requester_group_rel",
        column1="channel_id",
        column2="group_id",
        string="Requester Groups",
        help="Internal live chat only: the employees who may start a session.",
    )
    routing_mode = fields.Selection(
        selection=[("auto", "Automatic"), ("manual", "Manual")],
        required=True,
        default="auto",
        help="Automatic: the least busy available member of the entry groups gets each new "
        "session. Manual: new sessions wait in the queue until a supervisor assigns them "
        "or an operator takes them.",
    )
    max_sessions_per_operator = fields.Integer(
        string="Max Sessions per Operator",
        default=0,
        help="How many open sessions an operator of the groups handles at once; " "0 means no limit.",
    )

    _sql_constraints = [
        (
            "max_sessions_per_operator_positive",
            "CHECK(max_sessions_per_operator >= 0)",
            "The maximum number of sessions per operator cannot be negative (0 means no limit).",
        ),
    ]

    # ------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------

    @api.constrains("entry_group_ids", "specialist_group_ids")
    def _check_entry_specialist_groups(self):
        for channel in self:
            if both := channel.entry_group_ids & channel.specialist_group_ids:
                raise ValidationError(
                    self.env._(
                        "%(groups)s cannot be both an entry group and a specialist group of the "
                        "live chat %(channel)s: a session forwarded to specialists must leave the "
                        "entry groups.",
                        groups=", ".join(both.mapped("name")),
                        channel=channel.name,
                    )
                )

    @api.constrains("audience", "requester_group_ids")
    def _check_requester_groups(self):
        for channel in self:
            if channel.audience == "internal" and not channel.requester_group_ids:
                raise ValidationError(
                    self.env._(
                        "The internal live chat %(channel)s needs at least one requester group: "
                        "only the members of its requester groups may start a session.",
                        channel=channel.name,
                    )
                )
            if channel.audience == "external" and channel.requester_group_ids:
                raise ValidationError(
                    self.env._(
                        "The live chat %(channel)s is external, so anyone visiting the website may "
                        "write to it: requester groups (%(groups)s) apply to internal live chats "
                        "only.",
                        channel=channel.name,
                        groups=", ".join(channel.requester_group_ids.mapped("name")),
                    )
                )

    @api.onchange("audience")
    def _onchange_audience(self):
        if self.audience == "external":
            self.requester_group_ids = False

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        channels._staff_group_ids()._grant_livechat_user_group()
        return channels

    def write(self, vals):
        res = super().write(vals)
        if {"entry_group_ids", "specialist_group_ids", "supervisor_group_ids"} & vals.keys():
            self._staff_group_ids()._grant_livechat_user_group()
        return res

    # ------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------

    def _is_grouped(self):
        """Whether this live chat routes to its groups; without entry groups it
        behaves as stock Odoo."""
        self.ensure_one()
        return bool(self.entry_group_ids)

    def _operator_group_ids(self):
        """Groups whose members operate the live chats of ``self``."""
        return self.entry_group_ids | self.specialist_group_ids

    def _staff_group_ids(self):
        """Groups whose members operate or supervise the live chats of ``self``."""
        return self._operator_group_ids() | self.supervisor_group_ids
