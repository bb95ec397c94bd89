from odoo import models


class ResGroups(models.Model):
    _inherit = "res.groups"

    def write(self, vals):
        before = self.sudo().users if "users" in vals else self.env["res.users"]
        res = super().write(vals)
        if "users" in vals:
            # Users who joined a user group tied to a live chat group become its members; those
            # who left it may no longer hold its sessions.
            self.env["livechat.group"]._grant_livechat_user_group_for_users(self.users)
            self.env["livechat.routing"]._release(before - self.sudo().users)
            # sudo: livechat.group - whether these user groups are tied to live chat groups
            if (
                self.env["livechat.group"]
                .sudo()
                .search_count([("system_group_ids", "in", self.ids)], limit=1)
            ):
                self.env["livechat.group"]._livechat_resubscribe(before | self.sudo().users)
        return res
