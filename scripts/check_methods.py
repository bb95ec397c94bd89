"""Lint: no method of the addon's own is defined twice on one model.

A model may be extended in several files, one per concern (as Odoo's ``mail`` does), and each
of them may extend a stock hook (``write``, ``_to_store``, ``_notify_thread``...) for its concern
through ``super()``. But a method that only the addon defines must live in one place: two files
defining ``_livechat_queue_notice_body`` make the import order decide which body runs.

A method is the addon's own when Odoo's source (``ODOO_SRC``, its ``odoo/`` and ``addons/``)
defines no method of that name. Usage: ``python scripts/check_methods.py [ADDON_DIR]``; exits 1
and lists each method defined in more than one place.
"""

import ast
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEF = re.compile(rb"^\s*(?:async\s+)?def\s+(\w+)\s*\(", re.MULTILINE)


def stock_method_names(odoo_src):
    """Every name Odoo's source defines a function or method with."""
    names = set()
    for folder in ("odoo", "addons"):
        for path in Path(odoo_src, folder).rglob("*.py"):
            names.update(name.decode() for name in DEF.findall(path.read_bytes()))
    return names


def model_names(node):
    """The models a class defines or extends (``_name``, else ``_inherit``)."""
    values = {}
    for statement in node.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id in ("_name", "_inherit"):
                try:
                    values[target.id] = ast.literal_eval(statement.value)
                except ValueError:
                    continue
    models = values.get("_name") or values.get("_inherit") or ()
    return [models] if isinstance(models, str) else list(models)


def definitions(addon):
    """``{(model, method): [(file, line)]}`` of the addon's model classes."""
    found = defaultdict(list)
    for path in sorted(Path(addon).rglob("*.py")):
        if "tests" in path.relative_to(addon).parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            for model in model_names(node):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        found[(model, item.name)].append((path.relative_to(Path(addon).parent), item.lineno))
    return found


def main():
    addon = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "livechat_groups").resolve()
    odoo_src = os.environ.get("ODOO_SRC", "/opt/odoo")
    if not Path(odoo_src, "odoo", "release.py").exists():
        sys.exit(f"check_methods: no Odoo source at {odoo_src} (set ODOO_SRC)")
    stock = stock_method_names(odoo_src)
    twice = {
        key: places for key, places in definitions(addon).items() if len(places) > 1 and key[1] not in stock
    }
    for (model, method), places in sorted(twice.items()):
        where = ", ".join(f"{path}:{line}" for path, line in places)
        print(f"{model}.{method} is defined {len(places)} times: {where}")
    if twice:
        print(
            f"check_methods: {len(twice)} method(s) of the addon's own defined in more than one place: "
            "keep each in the file of its concern (a stock hook may be extended per concern)"
        )
        sys.exit(1)
    print("check_methods: each method of the addon's own is defined once")


if __name__ == "__main__":
    main()
