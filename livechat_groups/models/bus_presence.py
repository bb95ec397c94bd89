from odoo import api, models
from odoo.exceptions import AccessError

# whose presence a row is: the record rule lets a user change their own row only, and checks it
# before the write, so moving one's own row to another user must be refused here
IDENTITY_FIELDS = ("user_id", "guest_id")
# what says a user is there: only the bus's own update (a connection that polls) writes them
LIVE_FIELDS = ("last_poll", "last_presence")


class BusPresence(models.Model):
    """The routing (who is available) and the away timer (who went offline) read presence rows:
    only a user's own connection, or the system, may say where a user is (see
    ``security/bus_presence_security.xml``).

    A user is online because their connection polls (:meth:`_update_presence`, which writes
    the server's clock); over RPC they may only say they left (offline or away), never that
    they are there, nor when they last were.
    """

    _inherit = "bus.presence"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._livechat_check_presence(vals)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.is_system() and any(name in vals for name in IDENTITY_FIELDS):
            raise AccessError(self.env._("You may not give a presence to another user or guest."))
        self._livechat_check_presence(vals)
        return super().write(vals)

    @api.model
    def _update_presence(self, inactivity_period, identity_field, identity_value):
        # the bus's update, for the current user's own connection: it writes the server's clock
        # as the system; an idle time cannot be negative (a last presence to come)
        if not self.env.su:
            if identity_field != "user_id" or identity_value != self.env.uid:
                raise AccessError(self.env._("You may not give a presence to another user or guest."))
            self = self.sudo()
        if not isinstance(inactivity_period, int) or isinstance(inactivity_period, bool):
            inactivity_period = 0
        return super()._update_presence(max(inactivity_period, 0), identity_field, identity_value)

    @api.model
    def _livechat_check_presence(self, vals):
        if self.env.is_system():
            return
        if any(name in vals for name in LIVE_FIELDS) or vals.get("status") == "online":
            raise AccessError(
                self.env._(
                    "Only your connection says that you are online, and when you last were: you "
                    "may only set yourself offline or away."
                )
            )
