"""Keep the translations (livechat_groups/i18n/*.po) in step with the template (.pot).

    python scripts/i18n_sync.py            # merge the .pot into every .po, list what is left
    python scripts/i18n_sync.py --check    # only list; exit 1 when a term is untranslated
    python scripts/i18n_sync.py --add nl   # start a new language from the .pot

After `make pot` (another branch added strings), run it, translate the entries it lists (their
msgstr is empty, or they are marked fuzzy when polib matched an old one), then run it again.
"""

import argparse
import sys
from pathlib import Path

import polib

I18N = Path(__file__).resolve().parent.parent / "livechat_groups" / "i18n"
POT = I18N / "livechat_groups.pot"


def untranslated(po):
    """The entries a person must still translate (or check, when fuzzy)."""
    return [entry for entry in po if not entry.obsolete and (not entry.msgstr or entry.fuzzy)]


def sync(po_path, pot, check):
    po = polib.pofile(str(po_path), wrapwidth=78)
    if not check:
        po.merge(pot)
        po[:] = [entry for entry in po if not entry.obsolete]
        po.save(str(po_path))
    missing = untranslated(po)
    missing_ids = {entry.msgid for entry in po}
    missing += [entry for entry in pot if entry.msgid not in missing_ids]
    for entry in missing:
        print(f"{po_path.name}: {'fuzzy' if entry.fuzzy else 'untranslated'}: {entry.msgid!r}")
    return len(missing)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="change nothing; fail when a term is missing")
    parser.add_argument("--add", metavar="LANG", help="create LANG.po from the .pot")
    args = parser.parse_args()
    pot = polib.pofile(str(POT))
    if args.add:
        path = I18N / f"{args.add}.po"
        if not path.exists():
            po = polib.POFile(wrapwidth=78)
            po.metadata = dict(pot.metadata, Language=args.add)
            po.save(str(path))
    total = 0
    for po_path in sorted(I18N.glob("*.po")):
        total += sync(po_path, pot, args.check)
    print(f"{total} entries to translate" if total else "every .po translates every term of the .pot")
    return 1 if args.check and total else 0


if __name__ == "__main__":
    sys.exit(main())
