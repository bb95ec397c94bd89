from odoo.tools import SQL

from .report.livechat_session_report_rollup import ROLLUP_FUNCTION, ROLLUP_TABLE

# the functions the addon keeps in the database: the routing's statements (created by
# livechat.routing's init, see models/livechat_routing_sql.py) and the rollup's trigger's
DATABASE_FUNCTIONS = ("livechat_groups_rank_operators", "livechat_groups_claim_operator", ROLLUP_FUNCTION)


def uninstall_hook(env):
    """Drop what the addon keeps in the database beside the tables of its models, which the ORM
    drops itself (the Group Figures' facts, livechat.session.report.fact, and the report's view):
    the figures' rollup, the trigger that keeps it on the facts (with its function: CASCADE) and
    the routing's functions. An install after that starts afresh."""
    env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(ROLLUP_TABLE)))
    env.cr.execute(
        SQL("DROP FUNCTION IF EXISTS %s CASCADE", SQL(", ").join(map(SQL.identifier, DATABASE_FUNCTIONS)))
    )
