"""18.0.1.2.0: the Group Figures join nothing at read time: each session's facts hold their live
chat's first-answer target and whether their last group is one of its entry groups. The columns
are added by the report's init(); here they are filled once for the sessions stored before."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    count = env["livechat.session.report"]._livechat_refresh_settings()
    _logger.info("livechat_groups: copied the live chats' settings into the facts of %s sessions", count)
