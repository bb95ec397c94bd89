from markupsafe import Markup

from odoo import api, fields, models


class LivechatSessionDialog(models.AbstractModel):
    """What the dialogs that steer a live chat session share: the session, opened only by a
    user who may read it, and the table of who can answer now."""

    _name = "livechat.session.dialog"
    _description = "Live Chat Session Dialog"

    session_id = fields.Many2one(
        comodel_name="discuss.channel",
        required=True,
        ondelete="cascade",
        domain=[("channel_type", "=", "livechat")],
    )
    livechat_channel_id = fields.Many2one(related="session_id.livechat_channel_id")
    current_group_id = fields.Many2one(related="session_id.livechat_group_id", string="Now With")

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # the dialog reads the session's live chat and operators as the system does: only for a
        # session its user may read
        wizards.session_id.check_access("read")
        return wizards

    def _member_overview(self, members):
        """A table of ``members``: whether they can answer now, and how many sessions they hold."""
        if not members:
            return False
        channel = self.livechat_channel_id.sudo()
        stats = self.env["livechat.routing"]._operator_stats(members)
        capacity = channel.max_sessions_per_operator
        status_labels = {
            "online": self.env._("Available"),
            "away": self.env._("Away"),
            "offline": self.env._("Offline"),
        }
        rows = Markup()
        for user in members.sorted(lambda u: (not u._is_user_available(), stats[u.id][0], u.name)):
            load = stats[user.id][0]
            full = bool(capacity) and load >= capacity
            status = status_labels.get(user.im_status, status_labels["offline"])
            badge = "text-bg-success" if user._is_user_available() and not full else "text-bg-secondary"
            # a click on the row chooses the member (the livechat_groups_member_table widget)
            rows += Markup(
                '<tr class="o_livechat_groups_member" data-user-id="%s" data-user-name="%s" role="button">'
                '<td>%s</td><td><span class="badge rounded-pill %s">%s</span></td><td>%s</td></tr>'
            ) % (
                user.id,
                user.name,
                user.name,
                badge,
                status,
                self.env._("%(load)s of %(capacity)s", load=load, capacity=capacity) if capacity else load,
            )
        return Markup(
            '<table class="table table-sm o_livechat_groups_members"><thead><tr>'
            "<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (self.env._("Member"), self.env._("Status"), self.env._("Open Sessions"), rows)
