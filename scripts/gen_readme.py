"""Build each addon's README.rst (livechat_groups, livechat_groups_website) from the fragments
in its readme/ folder, in the order and with the headings of the OCA template."""

import ast
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECTIONS = [
    ("DESCRIPTION.md", None),
    ("CONFIGURE.md", "Configuration"),
    ("USAGE.md", "Usage"),
    ("ROADMAP.md", "Known issues / Roadmap"),
    ("DEVELOP.md", "Architecture"),
    ("CONTRIBUTORS.md", "Contributors"),
]


def md_to_rst(text):
    """Convert the small Markdown subset our fragments use: emphasis and lists read the same
    in RST; inline code takes double backquotes; pipe tables become list-tables."""
    lines, out, table = text.strip().splitlines(), [], []

    def flush_table():
        if not table:
            return
        rows = [
            [cell.strip() for cell in row.strip("|").split("|")]
            for row in table
            if not re.match(r"^\|[-| ]+\|$", row)
        ]
        out.append(".. list-table::")
        out.append("   :header-rows: 1")
        out.append("")
        for row in rows:
            out.append(f"   * - {row[0]}")
            out.extend(f"     - {cell}" for cell in row[1:])
        out.append("")
        table.clear()

    for line in lines:
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        line = re.sub(r"`([^`]+)`", r"``\1``", line)
        out.append(line)
    flush_table()
    return "\n".join(out) + "\n"


def readme(addon):
    """The README.rst of ``addon`` (a folder), built from its readme/ fragments."""
    manifest = ast.literal_eval((addon / "__manifest__.py").read_text())
    title = manifest["name"]
    parts = [
        "=" * len(title),
        title,
        "=" * len(title),
        "",
        f".. |license| image:: https://img.shields.io/badge/license-{manifest['license'].replace('-', '--')}-blue.png",
        f"   :alt: License: {manifest['license']}",
        "",
        f"|license| Odoo {manifest['version'].split('.')[0]}.0 — {manifest['development_status']}",
        "",
    ]
    for filename, heading in SECTIONS:
        path = addon / "readme" / filename
        if not path.exists():
            continue
        if heading:
            parts += [heading, "=" * len(heading), ""]
        parts.append(md_to_rst(path.read_text()))
    return "\n".join(parts)


def main():
    for addon in sorted(path.parent.parent for path in ROOT.glob("*/readme/DESCRIPTION.md")):
        text, target = readme(addon), addon / "README.rst"
        if "--check" in sys.argv:
            if not target.exists() or target.read_text() != text:
                sys.exit(f"{target.relative_to(ROOT)} is out of date: run `python scripts/gen_readme.py`")
            continue
        target.write_text(text)


if __name__ == "__main__":
    main()
