import json

from odoo.tests import HttpCase, tagged

from odoo.addons.livechat_groups.tests.common import WIDGET_HELPERS


@tagged("post_install", "-at_install")
class TestWebsiteVisitor(HttpCase):
    """A website visitor of the reference scenario (demo data) opens the live chat from the
    website's own button and reaches the External Live Chat's entry group, in their language."""

    WIDGET = (
        WIDGET_HELPERS
        + """
        (async () => {
            await odoo.livechatReady;
            (await waitFor(".o-livechat-LivechatButton")).click();
            await waitFor(".o-mail-Message", %(welcome)s);
            await write(%(words)s);
            await waitFor(".o-mail-NotificationMessage", %(notice)s);
            console.log("test successful");
        })().catch((error) => console.error(error.message));
    """
    )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.livechat = cls.env.ref("livechat_groups.channel_external")
        cls.website = cls.env.ref("website.default_website")
        # nobody of the demo is online: the visitor waits in the entry group's queue
        cls.env["bus.presence"].search([]).unlink()

    def _visit(self, path, words, welcome, notice):
        self.browser_js(
            path,
            self.WIDGET
            % {
                key: json.dumps(value)
                for key, value in {"words": words, "welcome": welcome, "notice": notice}.items()
            },
        )
        session = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id)], order="id desc", limit=1
        )
        self.assertEqual(session.livechat_routing_state, "queued")
        self.assertEqual(session.livechat_group_id, self.env.ref("livechat_groups.group_general_support"))
        return session

    def test_the_demo_website_opens_the_external_live_chat(self):
        self.assertEqual(self.website.channel_id, self.livechat)

    def test_an_english_visitor_waits_in_general_support(self):
        session = self._visit(
            "/",
            "Where is my parcel?",
            "Hello! How can we help you today?",
            "in the queue of General Support",
        )
        self.assertEqual(session.livechat_visitor_lang, "en_US")

    def test_a_french_visitor_reads_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(["livechat_groups"], ["fr_FR"], overwrite=True)
        self.website.language_ids |= self.env.ref("base.lang_fr")
        session = self._visit(
            "/fr",
            "Où est mon colis ?",
            "Hello! How can we help you today?",
            "dans la file de General Support",
        )
        self.assertEqual(session.livechat_visitor_lang, "fr_FR")
