from odoo import http
from odoo.http import request

# seconds: what the provider is asked to wait before it delivers again
RETRY_AFTER = 30


class LivechatMessengerOutage(http.Controller):
    """The messengers' webhook while the database is away (opt-in: ``--load=base,web,
    livechat_groups_outage``, or ``server_wide_modules`` in the configuration file).

    When Odoo 18.0 cannot reach the database, it serves every request with the routes of its
    server-wide modules alone (``Request._serve_nodb``), where none of an installed module's
    routes exists: stock answers 404, which reads as a wrong URL. Loaded server-wide, this route
    of the webhook's path is there instead (it needs no database: ``auth="none"``) and answers
    503 with Retry-After, which every provider retries. With the database up, Odoo's routing map
    holds the routes of the installed modules and the server-wide ones, module by module in
    name order: ``livechat_groups``'s route of the same path comes first, and werkzeug serves a
    path with the first rule added for it (scripts/faults_check.py checks both answers).
    """

    @http.route(
        "/livechat_groups/messenger/<string:token>",
        type="http",
        auth="none",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def livechat_messenger_outage(self, token, **params):
        if request.db:
            # a database reached, whose livechat_groups is not installed: no such webhook there
            return request.not_found()
        # no translation without a database: the provider reads the status, a person the log
        return request.make_response(
            "Service Unavailable: the database cannot be reached; deliver again later.",
            headers=[("Content-Type", "text/plain"), ("Retry-After", str(RETRY_AFTER))],
            status=503,
        )
