"""18.0.1.5.0: routing reasons are stored as what the routing said (``reason_data``,
``livechat_routing_reason_data``, JSON) and rendered in each reader's language; ``reason`` and
``livechat_routing_reason`` are computed from them. The words stored before are kept aside here,
before the ORM reads the tables, and read back into parts by the post-migration."""

from odoo.tools import SQL, sql

# (table, column of the words stored before)
STORED = [("livechat_session_transfer", "reason"), ("discuss_channel", "livechat_routing_reason")]


def migrate(cr, version):
    for table, column in STORED:
        if sql.column_exists(cr, table, column) and not sql.column_exists(cr, table, f"{column}_legacy"):
            cr.execute(
                SQL(
                    "ALTER TABLE %s RENAME COLUMN %s TO %s",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    SQL.identifier(f"{column}_legacy"),
                )
            )
