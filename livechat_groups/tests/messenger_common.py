import json

from odoo import SUPERUSER_ID

from odoo.addons.livechat_groups_tools.standin import StandIn

from .common import LivechatGroupsHttpCase, LivechatGroupsRoutingMixin


class LivechatMessengerCase(LivechatGroupsRoutingMixin, LivechatGroupsHttpCase):
    """The reference scenario with a WhatsApp account on the external live chat, whose API is
    a stand-in server on loopback: webhooks go through Odoo's real route, signed as Meta signs
    them, and what Odoo sends is recorded by the stand-in."""

    provider = "whatsapp"
    standin_options = {}  # e.g. the phone number id of recorded payloads

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standin = StandIn(cls.provider, **cls.standin_options).start()
        cls.addClassCleanup(cls.standin.stop)
        cls.messenger = cls.env["livechat.messenger"].create(
            {
                "name": f"Stand-in {cls.provider}",
                "provider": cls.provider,
                "livechat_channel_id": cls.external_livechat.id,
                "api_base_url": cls.standin.api_base_url,
                "access_token": cls.standin.token,
                "app_secret": cls.standin.app_secret,
                "webhook_secret": cls.standin.webhook_secret,
                "phone_number_id": cls.standin.phone_number_id,
                "default_country_id": cls.env.ref("base.us").id,
            }
        )
        cls.webhook_path = f"/livechat_groups/messenger/{cls.messenger.webhook_token}"
        cls.Outbox = cls.env["livechat.messenger.message"]

    def setUp(self):
        super().setUp()
        self.standin.requests.clear()
        self.standin.down = False

    def _post(self, payload, headers=None, process=True):
        """Post ``payload`` to the webhook as the provider does (signed unless ``headers``);
        then, unless not ``process``, process what it kept, as the scheduled action does
        right after the webhook's commit (see :meth:`_process`)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            **(self.standin.sign(body) if headers is None else headers),
        }
        response = self.url_open(self.webhook_path, data=body, headers=headers)
        self.env.invalidate_all()
        if process:
            self._process()
        return response

    def _process(self):
        """Run the processing of the kept deliveries as the scheduler does, once (as OdooBot)."""
        deliveries = self.env["livechat.messenger.delivery"].with_user(SUPERUSER_ID)._cron_process()
        self.env.invalidate_all()
        return deliveries

    def _write(self, wa_id, text, name="Carla Customer", **kwargs):
        """The customer ``wa_id`` writes ``text``; return the webhook's answer."""
        response = self._post(self.standin.whatsapp_payload(wa_id, name=name, text=text, **kwargs))
        self.assertEqual(response.status_code, 200, response.text)
        return response

    def _session_of(self, chat_id):
        return self.env["discuss.channel"].search(
            [("livechat_messenger_id", "=", self.messenger.id), ("livechat_messenger_chat_id", "=", chat_id)]
        )

    def _send(self):
        """Run the send job as the scheduler would, once."""
        rows = self.Outbox._cron_send()
        self.env.invalidate_all()
        return rows

    def _texts(self, session):
        """The session's messages, oldest first, as plain text."""
        return [
            message.preview
            for message in self.env["mail.message"].search(
                [("model", "=", "discuss.channel"), ("res_id", "=", session.id)], order="id"
            )
        ]
