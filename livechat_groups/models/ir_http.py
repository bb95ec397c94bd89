from odoo import models

from . import livechat_targets


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The first-answer target's thresholds, for the supervision board's clocks
        (supervision_target_clock.js): the rule is written once, in livechat_targets.py."""
        result = super().session_info()
        result["livechat_groups_targets"] = livechat_targets.client_thresholds()
        return result
