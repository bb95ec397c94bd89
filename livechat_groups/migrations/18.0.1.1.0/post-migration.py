"""18.0.1.1.0: the Group Figures read stored per-session facts instead of computing them from
each session's hops and messages at every read. The table is created by the report's init();
here it is filled once for the sessions that existed before the upgrade. The routing's load
index now includes the channel type (discuss.channel's init makes the new one): the old one goes."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    cr.execute("DROP INDEX IF EXISTS discuss_channel_livechat_open_operator_index")
    env = api.Environment(cr, SUPERUSER_ID, {})
    count = env["livechat.session.report"]._livechat_refresh_facts()
    _logger.info("livechat_groups: stored the Group Figures' facts of %s sessions", count)
