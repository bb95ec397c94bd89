import json

from odoo.tests import tagged

from .messenger_common import LivechatMessengerCase

# the webhook's own statements beside what any public route costs: the delivery and its
# processing's trigger in one INSERT (ir.cron._trigger() alone took five)
WEBHOOK_STATEMENTS = 1


@tagged("post_install", "-at_install")
class TestMessengerWebhook(LivechatMessengerCase):
    """The webhook's answer costs what an empty route that inserts one row costs, plus the
    signature: the account read from the registry's cache, the delivery and the processing's
    trigger kept in one statement; what changes an account reaches the next request."""

    def _queries_of(self, path, body, headers=None):
        """Post ``body`` to ``path`` through the real route; return (response, queries run)."""
        self.env.flush_all()
        before = self.cr.sql_log_count
        response = self.url_open(path, data=body, headers=headers or {"Content-Type": "application/json"})
        return response, self.cr.sql_log_count - before

    def _signed(self, text, message_id):
        body = json.dumps(
            self.standin.whatsapp_payload("16505551234", name="Carla", text=text, message_id=message_id)
        ).encode()
        return body, {"Content-Type": "application/json", **self.standin.sign(body)}

    def test_answer_costs_an_insert(self):
        cron = self.env.ref("livechat_groups.ir_cron_livechat_messenger_process")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        # the route's first requests warm what every worker keeps (routing map, the cache)
        self.url_open("/livechat_groups/messenger/unknown-token", data=b"{}")
        self._post(self._signed("warm", "wamid.warm")[0], process=False)
        # the floor: the same public route answering an unknown account, which reads nothing
        _response, floor = self._queries_of("/livechat_groups/messenger/unknown-token", b"{}")
        body, headers = self._signed("Hello", "wamid.cost")
        response, queries = self._queries_of(self.webhook_path, body, headers)
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        self.assertLessEqual(queries - floor, WEBHOOK_STATEMENTS, "one statement beside the route's own")
        delivery = self.env["livechat.messenger.delivery"].search([("messenger_id", "=", self.messenger.id)])
        self.assertEqual(len(delivery), 2)
        triggers = Trigger.search([("cron_id", "=", cron.id)]) - before
        self.assertEqual(len(triggers), 2, "each kept delivery triggers the processing, as _trigger() does")
        # a replay keeps nothing and triggers nothing
        response = self.url_open(self.webhook_path, data=body, headers=headers)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(Trigger.search([("cron_id", "=", cron.id)]) - before), 2)

    def test_an_inactive_processing_is_not_triggered(self):
        cron = self.env.ref("livechat_groups.ir_cron_livechat_messenger_process")
        cron.active = False
        before = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self._post(self._signed("Hello", "wamid.inactive")[0], process=False)
        self.assertEqual(len(self.env["livechat.messenger.delivery"].search([])), 1, "still kept")
        self.assertFalse(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - before)

    def test_an_account_deleted_with_its_live_chat_is_unknown(self):
        """The database deletes a live chat's accounts with it (ondelete cascade): the webhook
        does not keep answering from what it cached of them."""
        livechat = self.messenger.livechat_channel_id.copy({"name": "Short-lived Live Chat"})
        self.messenger.livechat_channel_id = livechat
        self.assertEqual(self._post(self._signed("Hello", "wamid.one")[0], process=False).status_code, 200)
        livechat.unlink()
        self.assertFalse(self.messenger.exists())
        response = self._post(self._signed("Again", "wamid.two")[0], process=False)
        self.assertEqual(response.status_code, 404)

    def test_account_changes_reach_the_next_request(self):
        Delivery = self.env["livechat.messenger.delivery"]
        self.addCleanup(setattr, self.standin, "app_secret", self.standin.app_secret)
        body, old_headers = self._signed("Hello", "wamid.one")
        self.assertEqual(self.url_open(self.webhook_path, data=body, headers=old_headers).status_code, 200)
        # a new app secret: the old signature is refused at once, nothing kept
        self.messenger.app_secret = "a-new-secret"
        body, old_headers = self._signed("Again", "wamid.two")
        with self.assertLogs("odoo.addons.livechat_groups.controllers.messenger", "WARNING"):
            response = self.url_open(self.webhook_path, data=body, headers=old_headers)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(len(Delivery.search([("messenger_id", "=", self.messenger.id)])), 1)
        self.standin.app_secret = "a-new-secret"
        self.assertEqual(self._post(body, process=False).status_code, 200)
        # another phone number: the deliveries of the old one are not this account's any more
        self.messenger.phone_number_id = "999"
        self._post(self._signed("Third", "wamid.three")[0], process=False)
        self.assertEqual(len(Delivery.search([("messenger_id", "=", self.messenger.id)])), 2)
        # archived: the address answers as unknown
        self.messenger.active = False
        self.assertEqual(self._post(self._signed("Four", "wamid.four")[0], process=False).status_code, 404)
        self.messenger.active = True
        # a new address: the old one is unknown, the new one keeps
        self.messenger.phone_number_id = self.standin.phone_number_id
        self.messenger.sudo().webhook_token = "a-new-token"
        body, headers = self._signed("Five", "wamid.five")
        self.assertEqual(self.url_open(self.webhook_path, data=body, headers=headers).status_code, 404)
        response = self.url_open("/livechat_groups/messenger/a-new-token", data=body, headers=headers)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(Delivery.search([("messenger_id", "=", self.messenger.id)])), 3)
