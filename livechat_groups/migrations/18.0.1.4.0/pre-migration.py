"""18.0.1.4.0: the Group Figures' stored facts are a model of their own,
``livechat.session.report.fact``, whose columns the ORM declares. Its table was made by the
report's init() before, keyed by session: here, before the ORM reads it, it gets the ``id`` that
every model's table has (the session's key becomes the ORM's unique constraint), and its
indexes the ORM's names. The rows stay as they are; the generated columns are added again by the
model's init(), from the rule in Python (one rewrite of the table)."""

import logging

from odoo.tools import SQL, sql

_logger = logging.getLogger(__name__)

FACTS_TABLE = "livechat_session_report_fact"


def migrate(cr, version):
    if not sql.table_exists(cr, FACTS_TABLE) or sql.column_exists(cr, FACTS_TABLE, "id"):
        return
    # one statement, one rewrite of the table: a serial id, its primary key, the session's
    # unique key under the name the ORM gives its constraint
    cr.execute(
        SQL(
            """
            ALTER TABLE %(facts)s
                DROP CONSTRAINT %(pkey)s,
                ADD COLUMN id serial NOT NULL,
                ADD CONSTRAINT %(pkey)s PRIMARY KEY (id),
                ADD CONSTRAINT %(unique)s UNIQUE (session_id)
            """,
            facts=SQL.identifier(FACTS_TABLE),
            pkey=SQL.identifier(f"{FACTS_TABLE}_pkey"),
            unique=SQL.identifier(f"{FACTS_TABLE}_session_unique"),
        )
    )
    # as the ORM adds its constraints: with their definition as comment, so that it keeps this one
    cr.execute(
        SQL(
            "COMMENT ON CONSTRAINT %s ON %s IS %s",
            SQL.identifier(f"{FACTS_TABLE}_session_unique"),
            SQL.identifier(FACTS_TABLE),
            "UNIQUE(session_id)",
        )
    )
    for column in ("date", "livechat_channel_id", "operator_id"):
        old, new = f"{FACTS_TABLE}_{column}_index", sql.make_index_name(FACTS_TABLE, column)
        if sql.index_exists(cr, old) and not sql.index_exists(cr, new):
            cr.execute(SQL("ALTER INDEX %s RENAME TO %s", SQL.identifier(old), SQL.identifier(new)))
    cr.execute(SQL("SELECT COUNT(*) FROM %s", SQL.identifier(FACTS_TABLE)))
    _logger.info(
        "livechat_groups: the Group Figures' facts of %s sessions are now a model's rows", cr.fetchone()[0]
    )
