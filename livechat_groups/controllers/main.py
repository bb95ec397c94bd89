from odoo import http
from odoo.http import request

from odoo.addons.im_livechat.controllers.main import LivechatController


class LivechatGroupsController(LivechatController):
    @http.route()
    def livechat_init(self, channel_id):
        """A grouped live chat shows its button even when nobody is online: the visitor
        waits in the queue instead of being refused. An internal live chat never shows it."""
        result = super().livechat_init(channel_id)
        rule = result.get("rule") or {}
        # sudo: im_livechat.channel - visitors may know whether a live chat takes requests
        channel = request.env["im_livechat.channel"].sudo().browse(int(channel_id)).exists()
        if channel.audience == "internal":
            result.update(available_for_me=False, rule={})
        elif not result["available_for_me"] and channel._is_grouped() and rule.get("action") != "hide_button":
            result["available_for_me"] = True
        if result["available_for_me"] and channel._livechat_closed_until():
            # the button stays, with its text: when the desk answers again (see get_livechat_info)
            result["rule"] = dict(rule, action="display_button_and_text")
        return result
