"""Tools of this repository's tests, checks and benchmarks, kept out of the addon (and so out of
its wheel, which whool builds from livechat_groups/ alone):

* ``standin``: a local stand-in of the WhatsApp and Telegram APIs, and ``whatsapp_signature``,
  the one signer of webhooks (standard library only: ``make standin`` runs it without Odoo);
* ``harness``: what scripts/ and bench/ share: a multi-worker Odoo on loopback with its
  concurrency conflicts traced, psql, retries and conflicts read from a server's log, signed
  webhooks.

Odoo's tests import them as ``odoo.addons.livechat_groups_tools``: the repository's root is on the
addons path, and ``odoo.addons`` spans the addons paths; this folder has no manifest, so Odoo
never takes it for a module. The scripts put the root on ``sys.path``.
"""
