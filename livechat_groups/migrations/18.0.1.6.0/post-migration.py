"""18.0.1.6.0: the Group Figures count the customers' satisfaction. The facts of the sessions
rated before (by the website widget) get theirs; the rollup's trigger follows the update."""

import logging

from odoo.tools import SQL

from odoo.addons.rating.models.rating_data import RATING_LIMIT_SATISFIED

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    # only the rated sessions' rows: a million rows rewritten for nothing bloat the table
    cr.execute(
        SQL(
            """
            UPDATE livechat_session_report_fact f
               SET satisfaction = CASE WHEN rate.rating >= %(satisfied)s THEN 100.0 ELSE 0.0 END
              FROM (SELECT DISTINCT ON (r.res_id) r.res_id, r.rating
                      FROM rating_rating r
                     WHERE r.res_model = 'discuss.channel' AND r.consumed AND r.rating > 0
                  ORDER BY r.res_id, r.id DESC) rate
             WHERE rate.res_id = f.session_id
            """,
            satisfied=RATING_LIMIT_SATISFIED,
        )
    )
    _logger.info("livechat_session_report_fact: the satisfaction of %s rated sessions", cr.rowcount)
