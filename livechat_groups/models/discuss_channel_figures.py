from odoo import api, models

# what the Group Figures store of a session (see livechat.session.report): a write of any of
# these has its facts computed again
FIGURES_FIELDS = {
    "channel_type",
    "livechat_channel_id",
    "livechat_group_id",
    "livechat_operator_id",
    "livechat_routing_state",
    "livechat_closed_date",
    "livechat_messenger_id",
}


class DiscussChannel(models.Model):
    """The hooks that keep the Group Figures' stored facts of a session current: its creation,
    the writes of what the figures show, and its messages (the first reply)."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    @api.model_create_multi
    def create(self, vals_list):
        sessions = super().create(vals_list)
        sessions._livechat_figures_outdated()
        return sessions

    def write(self, vals):
        res = super().write(vals)
        if FIGURES_FIELDS & vals.keys():
            self._livechat_figures_outdated()
        return res

    def _message_post_after_hook(self, message, msg_vals):
        res = super()._message_post_after_hook(message, msg_vals)
        self._livechat_figures_outdated()
        return res

    def _livechat_figures_outdated(self):
        """Have the figures' facts of the grouped sessions of ``self`` computed again before
        the transaction ends."""
        # sudo: discuss.channel - whether a session is grouped is read whoever writes in it
        sessions = self.sudo().filtered(
            lambda session: session.channel_type == "livechat" and session.livechat_routing_state
        )
        if sessions:
            self.env["livechat.session.report"]._livechat_mark_sessions(sessions.ids)
