from odoo import api, fields, models
from odoo.exceptions import AccessError

# whose presence a row is: the record rule lets a user change their own row only, and checks it
# before the write, so moving one's own row to another user must be refused here
IDENTITY_FIELDS = ("user_id", "guest_id")
# when the user was last connected: the bus writes the server's clock; a time to come would
# keep an operator available (and never away) long after their last tab closed
TIME_FIELDS = ("last_poll", "last_presence")


class BusPresence(models.Model):
    """The routing (who is available) and the away timer (who went offline) read presence rows:
    only a user's own connection, or the system, may say where a user is (see
    ``security/bus_presence_security.xml``), and never that they will still be there later."""

    _inherit = "bus.presence"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._livechat_check_times(vals)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.is_system() and any(name in vals for name in IDENTITY_FIELDS):
            raise AccessError(self.env._("You may not give a presence to another user or guest."))
        self._livechat_check_times(vals)
        return super().write(vals)

    @api.model
    def _livechat_check_times(self, vals):
        if self.env.is_system():
            return
        now = fields.Datetime.now()
        for name in TIME_FIELDS:
            if vals.get(name) and fields.Datetime.to_datetime(vals[name]) > now:
                raise AccessError(
                    self.env._("A presence tells when its user was last connected, not a time to come.")
                )
