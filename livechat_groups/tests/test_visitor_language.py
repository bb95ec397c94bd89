import importlib.util
import json
from datetime import date

from odoo import Command
from odoo.tests import tagged
from odoo.tools import html2plaintext
from odoo.tools.misc import file_path

from odoo.addons.bus.models.bus import dispatch
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from .common import (
    WIDGET_HELPERS,
    LivechatGroupsCase,
    LivechatGroupsHttpCase,
    LivechatGroupsRoutingMixin,
    LivechatGroupsRpcMixin,
    LivechatGroupsTourCase,
)
from .messenger_common import LivechatMessengerCase


class FrenchMixin:
    """French installed, with the addon's and im_livechat's French translations."""

    @classmethod
    def _install_french(cls):
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(
            ["im_livechat", "livechat_groups"], ["fr_FR"], overwrite=True
        )


@tagged("post_install", "-at_install")
class TestVisitorLanguage(
    FrenchMixin, LivechatGroupsRpcMixin, LivechatGroupsRoutingMixin, LivechatGroupsHttpCase
):
    """What the visitor reads is in their language, whoever acts (an operator in another
    language, a supervisor, the scheduled actions); what the staff read is in theirs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._install_french()

    def _start(self, name, lang=None):
        """A new anonymous visitor starts a session from the widget, their browser in ``lang``."""
        self.url_open("/web/session/logout")
        self.opener.cookies.clear()
        if lang:
            # the website's language cookie, which stock's get_session passes on
            self.opener.cookies["frontend_lang"] = lang
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"channel_id": self.external_livechat.id, "anonymous_name": name}
        )
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _visitor_reads(self, session):
        """The texts of the conversation as the visitor's widget fetches them, oldest first."""
        self._as_visitor(session)
        data = self.make_jsonrpc_request("/discuss/channel/messages", {"channel_id": session.id})
        messages = {message["id"]: message for message in data["data"].get("mail.message", [])}
        ids = sorted(item["id"] if isinstance(item, dict) else item for item in data["messages"])
        return [html2plaintext(str(messages[message_id]["body"])) for message_id in ids]

    def test_french_visitor_reads_french_from_an_english_operator(self):
        self._offline(self.support_1, self.support_2)
        self.assertEqual(self.support_1.lang, "en_US")
        marc = self._start("Marc", lang="fr_FR")
        self._visitor_says(marc, "Où est mon colis ?")
        self.assertEqual(
            self._visitor_reads(marc),
            [
                "Où est mon colis ?",
                "Personne n'est en ligne pour le moment : vous êtes numéro 1 dans la file de General "
                "Support, et nous vous répondrons dès que quelqu'un sera de retour. Ce que vous écrivez "
                "maintenant est conservé ; vous pouvez aussi revenir plus tard.",
            ],
        )
        # an English operator takes it, then forwards it: the visitor reads French
        self._online(self.support_1)
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", marc.ids)
        self._rpc(self.support_1, "discuss.channel", "action_livechat_forward", marc.ids, self.group_sales.id)
        texts = self._visitor_reads(marc)
        self.assertIn("Sonia Support vous répond maintenant.", texts)
        self.assertIn("Vous êtes transféré vers Sales Department.", texts)
        self.assertFalse([text for text in texts if "answering" in text or "transferred" in text], texts)
        # the staff read the routing's reasons in their language: English for an English supervisor
        self.authenticate(self.ext_supervisor.login, self.ext_supervisor.login)
        [hop] = self.make_jsonrpc_request(
            "/web/dataset/call_kw/livechat.session.transfer/search_read",
            {
                "model": "livechat.session.transfer",
                "method": "search_read",
                "args": [[("session_id", "=", marc.id), ("kind", "=", "forward")], ["reason"]],
                "kwargs": {"context": {"lang": self.ext_supervisor.lang}},
            },
        )
        self.assertEqual(
            hop["reason"], "nobody available in Sales Department: waits in the queue of Sales Department"
        )

    def test_english_visitor_reads_english_from_a_french_operator(self):
        self.support_1.lang = "fr_FR"
        self.external_livechat.routing_mode = "manual"
        self._online(self.support_1)
        ann = self._start("Ann")
        self._visitor_says(ann, "Where is my parcel?")
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", ann.ids)
        texts = self._visitor_reads(ann)
        self.assertIn("Sonia Support is answering you now.", texts)
        self.assertFalse([text for text in texts if "répond" in text], texts)
        # the visitor leaves: the staff's notice is in the French operator's language
        self._as_visitor(ann)
        self.make_jsonrpc_request("/im_livechat/visitor_leave_session", {"channel_id": ann.id})
        self.env.invalidate_all()
        self.assertIn(
            "Le visiteur a quitté la conversation.", [html2plaintext(m.body) for m in ann.message_ids]
        )

    def test_supervisor_closes_in_german_visitor_reads_french(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.ext_supervisor.lang = "de_DE"
        self._online(self.support_1)
        marc = self._start("Marc", lang="fr_FR")
        self._visitor_says(marc, "Bonjour")
        self._rpc(self.ext_supervisor, "discuss.channel", "action_livechat_close", marc.ids)
        self.assertEqual(
            self._visitor_reads(marc)[-1],
            "Xena Supervisor a mis fin à la conversation. Merci de nous avoir écrit : écrivez-nous "
            "à nouveau quand vous le souhaitez pour en commencer une nouvelle.",
        )

    def test_french_supervisor_reads_reasons_in_french(self):
        self.ext_supervisor.lang = "fr_FR"
        self._offline(self.support_1, self.support_2)
        ann = self._start("Ann")  # routed while English is the language of whoever acts
        self._online(self.support_1)
        self.env["res.lang"]._activate_lang("de_DE")
        self.support_1.lang = "de_DE"
        self._rpc(self.support_1, "discuss.channel", "action_livechat_take", ann.ids)
        self._rpc(
            self.ext_supervisor, "discuss.channel", "action_livechat_forward", ann.ids, self.group_sales.id
        )
        self.authenticate(self.ext_supervisor.login, self.ext_supervisor.login)
        hops = self.make_jsonrpc_request(
            "/web/dataset/call_kw/livechat.session.transfer/search_read",
            {
                "model": "livechat.session.transfer",
                "method": "search_read",
                "args": [[("session_id", "=", ann.id)], ["kind", "reason"]],
                # the web client's context: the user's language
                "kwargs": {"order": "id", "context": {"lang": "fr_FR"}},
            },
        )
        self.assertEqual(
            [(hop["kind"], hop["reason"]) for hop in hops if hop["reason"]],
            [
                (
                    "route",
                    "personne de disponible dans General Support : attend dans la file de General Support",
                ),
                (
                    "forward",
                    "personne de disponible dans Sales Department : attend dans la file de Sales Department",
                ),
            ],
        )
        [card] = self.make_jsonrpc_request(
            "/web/dataset/call_kw/discuss.channel/read",
            {
                "model": "discuss.channel",
                "method": "read",
                "args": [ann.ids, ["livechat_routing_reason"]],
                "kwargs": {"context": {"lang": "fr_FR"}},
            },
        )
        self.assertEqual(
            card["livechat_routing_reason"],
            "personne de disponible dans Sales Department : attend dans la file de Sales Department",
        )
        # the same hops, read by an English reader
        self.assertEqual(
            ann.livechat_transfer_ids.sorted("id")[-1].with_context(lang="en_US").reason,
            "nobody available in Sales Department: waits in the queue of Sales Department",
        )


@tagged("post_install", "-at_install")
class TestMessengerCustomerTold(FrenchMixin, LivechatMessengerCase):
    """A WhatsApp customer is told each change that matters as a new message, once, in their
    language: where they wait, who took them, where they were forwarded; the queue's moves are
    not sent again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._install_french()
        cls.camille = cls.env["res.partner"].create(
            {"name": "Camille Client", "phone": "+33 6 12 34 56 78", "lang": "fr_FR"}
        )

    def _sent(self, session):
        """The texts of the messages the outbox sends to the customer of ``session``, in order."""
        rows = self.Outbox.search([("session_id", "=", session.id), ("direction", "=", "out")], order="id")
        return [html2plaintext(row.message_id.body) for row in rows]

    def test_waiting_taken_forwarded_in_their_language(self):
        self._offline(self.support_1, self.support_2, self.sales_1, self.sales_2)
        self._write("16505550000", "Hi, first in line", name="Bob")
        self._write("33612345678", "Bonjour, ma commande 1234")
        bob, camille = self._session_of("16505550000"), self._session_of("33612345678")
        self.assertEqual(camille.livechat_messenger_partner_id, self.camille)
        self.assertEqual(
            self._sent(camille),
            [
                "Personne n'est en ligne pour le moment : vous êtes numéro 2 dans la file de General "
                "Support, et nous vous répondrons dès que quelqu'un sera de retour. Ce que vous écrivez "
                "maintenant est conservé ; vous pouvez aussi revenir plus tard."
            ],
        )
        # in the operator's view, the notice follows the customer's first words
        self.assertEqual(self._texts(camille)[0], "Bonjour, ma commande 1234")
        # Bob is taken: Camille moves up, and is not sent her new place
        self._online(self.support_1)
        bob.with_user(self.support_1).action_livechat_take()
        self.assertEqual(len(self._sent(camille)), 1, "the queue's moves are not sent again")
        self.assertEqual(self._sent(bob)[-1], "Sonia Support is answering you now.")
        # Camille is taken by an English operator, then forwarded: told each time, in French
        camille.with_user(self.support_1).action_livechat_take()
        camille.with_user(self.support_1).action_livechat_forward(self.group_sales.id)
        sent = self._sent(camille)
        self.assertEqual(
            sent[1:3], ["Sonia Support vous répond maintenant.", "Vous êtes transféré vers Sales Department."]
        )
        self.assertIn("vous êtes numéro 1 dans la file de Sales Department", sent[3])
        self.assertEqual(len(sent), 4, sent)
        texts = self._texts(camille)
        self.assertLess(
            texts.index("Bonjour, ma commande 1234"), texts.index("Sonia Support vous répond maintenant.")
        )

    def test_closed_hours_told_once_below_the_first_words(self):
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Never Now",
                "tz": "UTC",
                "attendance_ids": [
                    Command.clear(),
                    Command.create(
                        {
                            "name": "Hour",
                            "dayofweek": str((date.today().weekday() + 3) % 7),
                            "hour_from": 9,
                            "hour_to": 10,
                        }
                    ),
                ],
            }
        )
        self.group_support.resource_calendar_id = calendar
        self._write("33612345678", "Bonjour, ma commande 1234")
        camille = self._session_of("33612345678")
        self.assertEqual(camille.livechat_routing_state, "queued")
        sent = self._sent(camille)
        self.assertEqual(len(sent), 2, sent)
        self.assertIn("vous êtes numéro 1 dans la file de General Support", sent[0])
        self.assertRegex(
            sent[1],
            r"^Nous sommes fermés pour le moment : nous répondons de nouveau à partir de \w+ 09:00 \(UTC\)\. "
            r"Vous pouvez écrire votre question dès maintenant, elle nous attend\.$",
        )
        self.assertEqual(self._texts(camille)[0], "Bonjour, ma commande 1234")
        self._write("33612345678", "Allô ?", message_id="wamid.second")
        self.assertEqual(len(self._sent(camille)), 2, "told once")


@tagged("post_install", "-at_install")
class TestTelegramCustomerTold(FrenchMixin, LivechatMessengerCase):
    """A new Telegram customer reads the routing in the language of their Telegram app."""

    provider = "telegram"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._install_french()

    def test_new_customer_reads_their_apps_language(self):
        self._offline(self.support_1, self.support_2)
        update = self.standin.telegram_update(4242, first_name="Zoé", text="Bonjour", language_code="fr")
        self.assertEqual(self._post(update).status_code, 200)
        zoe = self._session_of("4242")
        self.assertEqual(zoe.livechat_messenger_partner_id.lang, "fr_FR")
        rows = self.Outbox.search([("session_id", "=", zoe.id), ("direction", "=", "out")], order="id")
        self.assertEqual(
            [html2plaintext(row.message_id.body) for row in rows],
            [
                "Personne n'est en ligne pour le moment : vous êtes numéro 1 dans la file de General "
                "Support, et nous vous répondrons dès que quelqu'un sera de retour. Ce que vous écrivez "
                "maintenant est conservé ; vous pouvez aussi revenir plus tard."
            ],
        )


@tagged("post_install", "-at_install")
class TestVisitorFirstMessageLive(LivechatGroupsRoutingMixin, LivechatGroupsTourCase):
    """A visitor's first message while they wait raises no error in their widget and leaves no
    "new message" banner, once the bus has brought everything (issue 24, item 7)."""

    WIDGET = (
        WIDGET_HELPERS
        + """
        (async () => {
            await odoo.livechatReady;
            (await waitFor(".o-livechat-LivechatButton")).click();
            await write("Where is my parcel?");
            await waitFor(".o-mail-NotificationMessage", %(notice)s);
            // the bus brings the rest: the notice moved below the visitor's words, and the
            // banner of a new message, if any came up meanwhile, goes away (a loaded machine
            // brings it later)
            await new Promise((resolve) => setTimeout(resolve, 3000));
            for (let i = 0; i < 50 && root().querySelector(".o-mail-Thread-banner"); i++) {
                await new Promise((resolve) => setTimeout(resolve, 200));
            }
            if (root().querySelector(".o-mail-Thread-banner")) {
                throw new Error(`a banner stays: ${root().querySelector(".o-mail-Thread-banner").textContent}`);
            }
            const all = texts();
            if (all.filter((text) => text.includes("in the queue")).length !== 1) {
                throw new Error(`one queue notice: ${all.join(" | ")}`);
            }
            console.log("test successful");
        })().catch((error) => console.error(error.message));
    """
    )

    def _wake_websockets_when_the_notice_moves(self):
        """Let the visitor's bus run as in production (see TestSupervisionTours): websockets
        allowed, and woken up when the first message moves the queue notice, since a test's
        transaction is never committed and PostgreSQL never delivers the bus's NOTIFY."""
        self.patch(WebsocketConnectionHandler, "websocket_allowed", classmethod(lambda cls, request: True))
        DiscussChannel = self.registry["discuss.channel"]
        move = DiscussChannel._livechat_move_queue_notice_below

        def _livechat_move_queue_notice_below(session, message):
            move(session, message)

            @session.env.cr.precommit.add
            def wake_websockets():
                for websockets in list(dispatch._channels_to_ws.values()):
                    for websocket in list(websockets):
                        websocket.trigger_notification_dispatching()

        self.patch(DiscussChannel, "_livechat_move_queue_notice_below", _livechat_move_queue_notice_below)

    def test_first_message_raises_no_error(self):
        self._wake_websockets_when_the_notice_moves()
        self._offline(self.support_1, self.support_2)
        self.url_open("/web/session/logout")
        notice = "Nobody is online right now: you are number 1 in the queue of General Support"
        self.browser_js(
            f"/im_livechat/support/{self.external_livechat.id}", self.WIDGET % {"notice": json.dumps(notice)}
        )
        session = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.external_livechat.id)], order="id desc", limit=1
        )
        self.assertEqual(session.livechat_routing_state, "queued")


@tagged("post_install", "-at_install")
class TestReasonMigration(FrenchMixin, LivechatGroupsRoutingMixin, LivechatGroupsCase):
    """The reasons stored as words before 18.0.1.5.0 are read back into what the routing said,
    whichever language they were written in, and then read in each reader's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._install_french()

    def test_stored_words_read_back(self):
        self._offline(self.support_1, self.support_2)
        vals = self.external_livechat._get_livechat_discuss_channel_vals("Ann")
        session = self.env["discuss.channel"].create(vals)
        hop = session.livechat_transfer_ids
        english = "nobody available in General Support: waits in the queue of General Support; 2 at capacity"
        french = (
            "Sonia Support n'a pas répondu dans les 3 minutes; personne de disponible dans General "
            "Support : attend dans la file de General Support"
        )
        # the tables as 18.0.1.4.0 left them (the pre-migration renamed the columns of words)
        cr = self.env.cr
        cr.execute("ALTER TABLE livechat_session_transfer ADD COLUMN reason_legacy text")
        cr.execute("ALTER TABLE discuss_channel ADD COLUMN livechat_routing_reason_legacy text")
        cr.execute(
            "UPDATE livechat_session_transfer SET reason_data = NULL, reason_legacy = %s WHERE id = %s",
            [english, hop.id],
        )
        cr.execute(
            "UPDATE discuss_channel SET livechat_routing_reason_data = NULL, livechat_routing_reason_legacy = %s WHERE id = %s",
            [french, session.id],
        )
        cr.execute(
            "UPDATE livechat_session_transfer SET reason_legacy = 'words of no reason' WHERE id != %s",
            [hop.id],
        )
        path = file_path("livechat_groups/migrations/18.0.1.5.0/post-migration.py")
        spec = importlib.util.spec_from_file_location("livechat_groups_post_migration_18_0_1_5_0", path)
        post_migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(post_migration)
        post_migration.migrate(cr, "18.0.1.4.0")
        self.env.invalidate_all()
        self.assertEqual(hop.with_context(lang="en_US").reason, english)
        self.assertEqual(
            hop.with_context(lang="fr_FR").reason,
            "personne de disponible dans General Support : attend dans la file de General Support; 2 à "
            "capacité maximale",
        )
        self.assertEqual(session.with_context(lang="fr_FR").livechat_routing_reason, french)
        self.assertEqual(
            session.with_context(lang="en_US").livechat_routing_reason,
            "Sonia Support did not answer within 3 minutes; nobody available in General Support: waits in "
            "the queue of General Support",
        )
        cr.execute("SELECT 1 FROM information_schema.columns WHERE column_name = 'reason_legacy'")
        self.assertFalse(cr.fetchall(), "the words kept aside are dropped")
