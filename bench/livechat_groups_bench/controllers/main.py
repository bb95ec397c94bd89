from odoo import http
from odoo.http import request


class LivechatGroupsBenchController(http.Controller):
    """The floor of an Odoo webhook: a public POST that inserts one row, commits and answers."""

    @http.route(
        "/livechat_groups_bench/insert",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def livechat_groups_bench_insert(self, **params):
        body = request.httprequest.get_data()
        request.env.cr.execute(
            "INSERT INTO livechat_groups_bench_row (key, create_date, write_date)"
            " VALUES (%s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')",
            [str(len(body))],
        )
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])
