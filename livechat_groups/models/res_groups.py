from odoo import models


class ResGroups(models.Model):
    _inherit = "res.groups"

    def write(self, vals):
        res = super().write(vals)
        if "users" in vals:
            # Users who joined a user group tied to a live chat group become its members.
            self.env["livechat.group"]._grant_livechat_user_group_for_users(self.users)
        return res
