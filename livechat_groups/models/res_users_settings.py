from odoo import fields, models


class ResUsersSettings(models.Model):
    _inherit = "res.users.settings"

    livechat_last_assigned_date = fields.Datetime(
        string="Last Live Chat Assignment",
        help="When the routing last gave this operator a session: among equally busy operators, "
        "the one who waited longest gets the next session. Writing it also serializes two "
        "requests that would give the same operator a session at once.",
    )
