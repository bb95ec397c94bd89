from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        self.env["livechat.group"]._grant_livechat_user_group_for_users(users)
        return users

    def write(self, vals):
        watched = "groups_id" in vals or "active" in vals
        before = self._livechat_memberships() if watched else {}
        res = super().write(vals)
        if watched:
            self.env["livechat.group"]._grant_livechat_user_group_for_users(self)
            # an archived user, or one who left the operator groups, hands their sessions back
            self.env["livechat.routing"]._release(self)
            # only those whose groups changed hear other bus channels now (a change of rights
            # that touches no live chat group sends nothing more than stock does)
            after = self._livechat_memberships()
            self.env["livechat.group"]._livechat_resubscribe(
                self.filtered(lambda user: before[user.id] != after[user.id])
            )
        return res

    def _livechat_memberships(self):
        """The live chat groups each of ``self`` is a member of: ``{user id: group ids}``."""
        # sudo: livechat.group - whose member a user is, whoever changes the user
        groups = (
            self.env["livechat.group"]
            .sudo()
            .with_context(active_test=False)
            .search([("member_ids", "in", self.ids)])
        )
        return {
            user.id: frozenset(groups.filtered(lambda group, user=user: user in group.member_ids).ids)
            for user in self
        }

    def unlink(self):
        # a deleted user would leave their sessions in progress with nobody to answer: they go
        # back to the routing first, as when a user is archived
        self.env["livechat.routing"]._release(self, deleted=True)
        return super().unlink()
