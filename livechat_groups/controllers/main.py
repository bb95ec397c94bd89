from odoo import http
from odoo.http import request

from odoo.addons.im_livechat.controllers.main import LivechatController
from odoo.addons.mail.models.discuss.mail_guest import add_guest_to_context
from odoo.addons.mail.tools.discuss import Store


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

    @http.route()
    @add_guest_to_context
    def get_session(self, channel_id, anonymous_name, previous_operator_id=None, persisted=True, **kwargs):
        """A visitor's widget that asks again, because the answer to its first request was
        lost after the session was saved, gets that session: never a second one left waiting
        in a queue (see ``im_livechat.channel._livechat_retried_session``)."""
        if persisted:
            # sudo: im_livechat.channel - any visitor may find their own session of a live chat
            channel = request.env["im_livechat.channel"].sudo().browse(int(channel_id)).exists()
            guest = request.env["mail.guest"]._get_guest_from_context()
            partner = request.env.user.partner_id if request.session.uid else request.env["res.partner"]
            script_id = kwargs.get("chatbot_script_id")
            session = channel and channel._livechat_retried_session(
                guest, partner, chatbot_script_id=script_id if type(script_id) is int else None
            )
            if session:
                # what stock answers for a session it made; its messages are loaded by the widget
                store = Store()
                if guest:
                    session = session.with_context(guest=guest)
                store.add(session)
                store.add(session, {"isLoaded": False, "scrollUnread": False})
                request.env["res.users"]._init_store_data(store)
                return store.get_result()
        return super().get_session(
            channel_id,
            anonymous_name,
            previous_operator_id=previous_operator_id,
            persisted=persisted,
            **kwargs,
        )
