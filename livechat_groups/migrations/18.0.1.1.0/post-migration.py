"""18.0.1.1.0: the Group Figures read stored per-session facts instead of computing them from
each session's hops and messages at every read. The table is created by the report's init();
here it is filled once for the sessions that existed before the upgrade."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    count = env["livechat.session.report"]._livechat_refresh_facts()
    _logger.info("livechat_groups: stored the Group Figures' facts of %s sessions", count)
