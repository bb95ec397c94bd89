import logging

from odoo import http
from odoo.http import request

from ..messengers import whatsapp
from ..messengers.common import Malformed

_logger = logging.getLogger(__name__)


class LivechatMessengerController(http.Controller):
    """The webhook of the messengers: the raw request to the provider's check, then what it
    carries kept for the account, which processes it after the answer. Fail closed: a request that does not prove it comes from the
    provider is refused before anything is read or written."""

    @http.route(
        "/livechat_groups/messenger/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def livechat_messenger_webhook(self, token, **params):
        messenger = self._livechat_messenger(token)
        if not messenger:
            return request.make_response("Unknown messenger", status=404)
        if request.httprequest.method == "GET":
            # sudo: livechat.messenger - the verify token checks Meta's subscription request
            challenge = (
                whatsapp.check_handshake(params, messenger.sudo().verify_token)
                if messenger.provider == "whatsapp"
                else None
            )
            if challenge is None:
                return request.make_response("Forbidden", status=403)
            return request.make_response(challenge, headers=[("Content-Type", "text/plain")])
        raw_body = request.httprequest.get_data()
        if not messenger._messenger_check_request(raw_body, request.httprequest.headers):
            _logger.warning("livechat messenger %s: webhook refused, bad signature", messenger.id)
            return request.make_response("Forbidden", status=403)
        try:
            messages, statuses = messenger._messenger_parse(raw_body)
        except Malformed as error:
            # signed, so the provider's, but unreadable: retrying would bring the same bytes
            # for days; it is acknowledged, logged and dropped whole
            _logger.warning("livechat messenger %s: unreadable webhook dropped (%s)", messenger.id, error)
            return request.make_response("Dropped", headers=[("Content-Type", "text/plain")])
        # kept, committed and answered: what it brings is processed right after, by the
        # scheduled action (livechat.messenger.delivery), never inside the provider's request
        request.env["livechat.messenger.delivery"]._messenger_store(messenger, raw_body, messages, statuses)
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])

    def _livechat_messenger(self, token):
        # sudo: livechat.messenger - the provider is not a user: the unguessable token in the URL
        # names the account (from the registry's cache), and its signature proves the request
        Messenger = request.env["livechat.messenger"].sudo()
        return Messenger.browse(Messenger._messenger_webhook_id(token))
