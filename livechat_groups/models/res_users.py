from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        self.env["livechat.group"]._grant_livechat_user_group_for_users(users)
        return users

    def write(self, vals):
        res = super().write(vals)
        if "groups_id" in vals or "active" in vals:
            self.env["livechat.group"]._grant_livechat_user_group_for_users(self)
            # an archived user, or one who left the operator groups, hands their sessions back
            self.env["livechat.routing"]._release(self)
            self.env["livechat.group"]._livechat_resubscribe(self)
        return res

    def unlink(self):
        # a deleted user would leave their sessions in progress with nobody to answer: they go
        # back to the routing first, as when a user is archived
        self.env["livechat.routing"]._release(self, deleted=True)
        return super().unlink()
