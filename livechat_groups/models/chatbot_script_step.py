from odoo import models


class ChatbotScriptStep(models.Model):
    _inherit = "chatbot.script.step"

    def _process_step_forward_operator(self, discuss_channel):
        """In a grouped live chat, the bot hands the session over like every other start: to
        the operator the routing chooses (stock then adds them and tells the visitor), or to
        the first entry group's queue when nobody can take it (stock's script goes on, as when
        nobody is available). A session the routing already has (the visitor restarted a bot
        while waiting, or after the close) gets nobody from this step: see ``_get_operator``."""
        # sudo: discuss.channel, im_livechat.channel - the visitor's bot asks the routing
        session = discuss_channel.sudo()
        if not session.livechat_channel_id._is_grouped() or session.livechat_routing_state:
            return super()._process_step_forward_operator(discuss_channel)
        Routing = session.env["livechat.routing"]
        decision = Routing._decide_for(session)
        user, group = decision
        posted = super(
            ChatbotScriptStep, self.with_context(livechat_groups_operator=user)
        )._process_step_forward_operator(discuss_channel)
        Routing._hand_over(session, "route", group, user, reason=decision.reason)
        return posted
