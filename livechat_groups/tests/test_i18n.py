from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged

I18N = Path(__file__).resolve().parent.parent / "i18n"
LANGUAGES = {"fr": "fr_FR", "es": "es_ES", "de": "de_DE", "ru": "ru_RU"}


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    """French, Spanish, German and Russian translate every term of the .pot, and Odoo loads them.
    When this fails after `make pot`, run `make po` and translate what it lists."""

    def test_every_po_translates_every_term_of_the_pot(self):
        pot = polib.pofile(str(I18N / "livechat_groups.pot"))
        self.assertGreater(len(pot), 100)
        for code in LANGUAGES:
            with self.subTest(language=code):
                po = polib.pofile(str(I18N / f"{code}.po"))
                translated = {
                    (entry.msgctxt, entry.msgid)
                    for entry in po
                    if entry.msgstr and not entry.fuzzy and not entry.obsolete
                }
                missing = [entry.msgid for entry in pot if (entry.msgctxt, entry.msgid) not in translated]
                self.assertFalse(missing, f"{code}.po misses {len(missing)} terms: run `make po`")
                for entry in po:
                    # a placeholder lost in translation breaks the message at runtime
                    for placeholder in ("%(", "%s"):
                        self.assertEqual(
                            entry.msgid.count(placeholder),
                            entry.msgstr.count(placeholder),
                            f"{code}.po: {entry.msgid!r}",
                        )

    def test_odoo_loads_them(self):
        model = self.env["ir.model"]._get("livechat.group")
        for code, lang in LANGUAGES.items():
            with self.subTest(language=code):
                self.env["res.lang"]._activate_lang(lang)
                self.env["ir.module.module"]._load_module_terms(["livechat_groups"], [lang], overwrite=True)
                po = polib.pofile(str(I18N / f"{code}.po"))
                expected = po.find("Live Chat Group").msgstr
                self.assertTrue(expected)
                self.assertEqual(model.with_context(lang=lang).name, expected)
                # a term of the code, as the server writes it to a visitor
                text = self.env(context={"lang": lang})._(
                    "You took the session of %(visitor)s.", visitor="Marc"
                )
                self.assertEqual(
                    text,
                    po.find("You took the session of %(visitor)s.").msgstr.replace("%(visitor)s", "Marc"),
                )
