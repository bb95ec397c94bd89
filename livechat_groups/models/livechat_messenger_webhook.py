from collections import namedtuple

from odoo import api, models, tools

# what the webhook needs of an account, kept in the registry's cache: read once per worker
# instead of twice per delivery (the account's search, then its row)
WebhookKeys = namedtuple("WebhookKeys", ["id", "provider", "secret", "phone_number_id"])


class LivechatMessenger(models.Model):
    """The webhook's look-up of an account: cached, cleared whenever an account changes."""

    _inherit = "livechat.messenger"  # pylint: disable=consider-merging-classes-inherited

    @api.model_create_multi
    def create(self, vals_list):
        messengers = super().create(vals_list)
        self.env.registry.clear_cache()
        return messengers

    def write(self, vals):
        res = super().write(vals)
        # a new secret, token, number or an archived account: the next request reads it again
        self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res

    @api.model
    @tools.ormcache("token")
    def _messenger_webhook_id(self, token):
        """The active account whose webhook address ends with ``token``, or ``False``."""
        # sudo: livechat.messenger - the provider is not a user: the unguessable token in the
        # URL names the account, and its signature proves the request
        return self.sudo().search([("webhook_token", "=", token), ("active", "=", True)], limit=1).id

    def _messenger_webhook_keys(self):
        """What checks and reads this account's webhooks (see :data:`WebhookKeys`)."""
        self.ensure_one()
        return self._messenger_webhook_keys_of(self.id)

    @api.model
    @tools.ormcache("messenger_id")
    def _messenger_webhook_keys_of(self, messenger_id):
        # sudo: livechat.messenger - the secrets check the requests; they never leave the server
        account = self.sudo().browse(messenger_id)
        secret = account.app_secret if account.provider == "whatsapp" else account.webhook_secret
        return WebhookKeys(account.id, account.provider, secret or "", account.phone_number_id or "")


class ImLivechatChannel(models.Model):
    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    def unlink(self):
        # its accounts go with it (ondelete cascade, in the database): the webhook forgets them
        accounts = (
            self.env["livechat.messenger"]
            .with_context(active_test=False)
            .search_count([("livechat_channel_id", "in", self.ids)], limit=1)
        )
        res = super().unlink()
        if accounts:
            self.env.registry.clear_cache()
        return res
