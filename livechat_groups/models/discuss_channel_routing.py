from odoo import api, models


class DiscussChannel(models.Model):
    """The stock hooks of a session that hand it to the routing service (``livechat.routing``):
    its creation records its first hop, its operator's answer stops their clock, and its end
    or its operator's leaving frees a place or routes it again."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    @api.model_create_multi
    def create(self, vals_list):
        sessions = super().create(vals_list)
        Routing = self.env["livechat.routing"]
        for session in sessions.filtered("livechat_routing_state"):
            # stock's get_session tells the operator about the new session
            Routing._record_hop(
                session, "route", self.env["livechat.group"], self.env["res.users"], notify=False
            )
        return sessions

    def _message_post_after_hook(self, message, msg_vals):
        res = super()._message_post_after_hook(message, msg_vals)
        if self.livechat_routing_state == "assigned":
            self.env["livechat.timers"]._livechat_stop_answer_clock(self, message)
        return res

    def _close_livechat_session(self, **kwargs):
        operator = self._livechat_operator_user()
        res = super()._close_livechat_session(**kwargs)
        if self.livechat_routing_state in ("queued", "assigned") and not self.livechat_active:
            self.env["livechat.routing"]._end(self, operator)
        return res

    def _action_unfollow(self, partner=None, guest=None):
        operator = self._livechat_operator_user()
        channel = self
        # sudo: discuss.channel - whether the one who leaves works on this session
        if (
            partner
            and self.sudo().livechat_routing_state
            and partner not in self.sudo()._livechat_customer_partners()
        ):
            channel = self.with_context(livechat_groups_staff_leaving=partner.id)
        res = super(DiscussChannel, channel)._action_unfollow(partner=partner, guest=guest)
        if not operator or partner != operator.partner_id:
            return res
        # sudo: discuss.channel - the operator who leaves hands the session back
        session = self.sudo()
        if not session.livechat_active:
            session.env["livechat.routing"]._end(session, operator)
        else:
            session.env["livechat.routing"]._requeue(session, operator)
        return res
