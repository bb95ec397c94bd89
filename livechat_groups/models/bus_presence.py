from odoo import models
from odoo.exceptions import AccessError

# whose presence a row is: the record rule lets a user change their own row only, and checks it
# before the write, so moving one's own row to another user must be refused here
IDENTITY_FIELDS = ("user_id", "guest_id")


class BusPresence(models.Model):
    """The routing (who is available) and the away timer (who went offline) read presence rows:
    only a user's own connection, or the system, may say where a user is (see
    ``security/bus_presence_security.xml``)."""

    _inherit = "bus.presence"

    def write(self, vals):
        if not self.env.is_system() and any(name in vals for name in IDENTITY_FIELDS):
            raise AccessError(self.env._("You may not give a presence to another user or guest."))
        return super().write(vals)
