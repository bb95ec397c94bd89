from odoo import api, models


class MailMessage(models.Model):
    _inherit = "mail.message"

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        """Employees do not see the operators' internal notes of the live chat sessions they
        asked in, as stock hides internal notes from non-employees."""
        if not self.env.is_superuser() and self.env.user._is_internal():
            domain = self._livechat_requester_domain() + list(domain)
        return super()._search(domain, offset, limit, order)

    @api.model
    def _livechat_requester_domain(self):
        # sudo: discuss.channel - only the ids of the user's own requests, as a subquery
        requested = (
            self.env["discuss.channel"]
            .sudo()
            ._search([("livechat_requester_id", "=", self.env.user.partner_id.id)])
        )
        return [
            "!",
            "&",
            "&",
            ("model", "=", "discuss.channel"),
            ("res_id", "in", requested),
            ("subtype_id.internal", "=", True),
        ]
