from odoo import fields, models
from odoo.exceptions import AccessError
from odoo.fields import NO_ACCESS

# the routing's own records, not settings of the web client
ROUTING_RECORDS = ("livechat_last_assigned_date", "livechat_last_request_date")


class ResUsersSettings(models.Model):
    _inherit = "res.users.settings"

    livechat_last_assigned_date = fields.Datetime(
        string="Last Live Chat Assignment",
        groups=NO_ACCESS,  # the routing writes it (as superuser); users may not, even their own
        help="When the routing last gave this operator a session: among equally busy operators, "
        "the one who waited longest gets the next session. Writing it also serializes two "
        "requests that would give the same operator a session at once.",
    )

    livechat_last_request_date = fields.Datetime(
        string="Last Internal Live Chat Request",
        groups=NO_ACCESS,
        help="When this user last asked an internal live chat from Discuss. Writing it also "
        "serializes two requests of the same user, so that a double click opens one session.",
    )

    def write(self, vals):
        # stock's rule (one's own settings) is checked before the write: moving one's own row to
        # an operator who has none would give them one's live chat name, shown to visitors, and
        # languages, which the routing ranks by
        if (
            "user_id" in vals
            and not self.env.is_system()
            and any(s.user_id.id != vals["user_id"] for s in self)
        ):
            raise AccessError(self.env._("You may not give your settings to another user."))
        return super().write(vals)

    def _format_settings(self, fields_to_format):
        # the routing's own record, not a setting of the web client (which could not even
        # serialize a datetime into the page)
        return super()._format_settings([name for name in fields_to_format if name not in ROUTING_RECORDS])
