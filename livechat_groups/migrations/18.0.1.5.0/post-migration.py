"""18.0.1.5.0: the routing reasons stored as words (kept aside by the pre-migration) are read
back into the parts they were made of, in whichever installed language they were written, so
that each reader reads them in theirs; a text that cannot be read back stays as it was."""

import json
import logging

from odoo.tools import SQL, sql

from odoo.addons.livechat_groups.models.livechat_routing_reason import parse

_logger = logging.getLogger(__name__)

# (table, column of the words stored before, column of the parts)
STORED = [
    ("livechat_session_transfer", "reason_legacy", "reason_data"),
    ("discuss_channel", "livechat_routing_reason_legacy", "livechat_routing_reason_data"),
]


def migrate(cr, version):
    cr.execute("SELECT code FROM res_lang WHERE active")
    langs = [code for (code,) in cr.fetchall()]
    for table, legacy, column in STORED:
        if not sql.column_exists(cr, table, legacy):
            continue
        cr.execute(
            SQL(
                "SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL AND %s <> ''",
                SQL.identifier(legacy),
                SQL.identifier(table),
                SQL.identifier(legacy),
                SQL.identifier(legacy),
            )
        )
        texts = [text for (text,) in cr.fetchall()]
        for text in texts:
            cr.execute(
                SQL(
                    "UPDATE %s SET %s = %s::jsonb WHERE %s = %s",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    json.dumps(parse(text, langs)),
                    SQL.identifier(legacy),
                    text,
                )
            )
        cr.execute(SQL("ALTER TABLE %s DROP COLUMN %s", SQL.identifier(table), SQL.identifier(legacy)))
        _logger.info("%s: %s routing reasons read back into parts", table, len(texts))
