"""Why the routing did what it did, stored as what it said rather than as the words it said
them in: a routing reason is read by supervisors in their own language, long after it was
written by whoever (or whatever) acted, in theirs.

A :class:`Reason` is a list of parts, each either a translatable source with its parameters
(``{"s": source, "p": params}``) or a literal text (``{"t": text}``); it is stored as JSON
(``livechat.session.transfer.reason_data``, ``discuss.channel.livechat_routing_reason_data``)
and rendered at read time with :meth:`Reason.render`. A parameter that names a record whose
name is translated (a group, a country, a language) is stored as a reference and named in the
reader's language too.
"""

import re

from odoo.tools.translate import LazyTranslate, code_translations, get_translation

MODULE = "livechat_groups"
_lt = LazyTranslate(MODULE)

# every source a reason is made of, by name: the routing builds its reasons from these, and the
# migration of the texts stored before reads them back (see migrations/18.0.1.5.0)
# (lazy sources, stored untranslated and translated when read: no environment's language applies)
# pylint: disable=prefer-env-translation
SOURCES = {
    "no_group": _lt("no group to route to"),
    "manual": _lt("manual routing: waits for a supervisor or an operator to take it"),
    "being_claimed": _lt(
        "every available member of %(groups)s was being given a session at that moment: "
        "waits for the next free place"
    ),
    "nobody": _lt("nobody available in %(groups)s: waits in the queue of %(group)s"),
    "previous": _lt("%(user)s talked with this visitor before"),
    "least_busy": _lt("least busy of %(count)s available in %(group)s: open sessions %(load)s"),
    "speaks": _lt("; speaks %(lang)s"),
    "country": _lt("; from %(country)s"),
    "at_capacity": _lt("; %(count)s at capacity"),
    "closed": _lt("; %(count)s outside business hours"),
    "no_answer": _lt("%(user)s did not answer within %(minutes)s minutes"),
    "offline": _lt("%(user)s was offline for %(minutes)s minutes"),
}
# pylint: enable=prefer-env-translation
# between what made an operator let a session go and the routing's own reason
SEPARATOR = "; "


def ref(records):
    """A parameter naming ``records`` (groups, a country), in the reader's language."""
    return {"m": records._name, "ids": records.ids}


def lang_ref(code):
    """A parameter naming the language ``code``, in the reader's language."""
    return {"lang": code or ""}


class Reason(list):
    """The parts of a routing reason (see the module's docstring); ``+`` joins two reasons."""

    @classmethod
    def of(cls, name, **params):
        """The reason made of the source ``name`` of :data:`SOURCES` with ``params``."""
        return cls([{"s": SOURCES[name]._source, "p": params}])

    @classmethod
    def text(cls, text):
        """A literal part: words stored before reasons were stored as parts."""
        return cls([{"t": text}]) if text else cls()

    @classmethod
    def load(cls, data):
        """The reason stored as ``data`` (JSON), or an empty one."""
        return cls(data or [])

    def __add__(self, other):
        return Reason(list(self) + list(other))

    def then(self, other):
        """This reason, then ``other`` after a separator."""
        if not self:
            return Reason(other)
        if not other:
            return Reason(self)
        return self + Reason.text(SEPARATOR) + other

    def render(self, env, names=None):
        """The reason in the language of ``env``.

        :param dict names: the names of the records it refers to, from :func:`record_names` (read
            here when not given)
        """
        lang = env.lang or "en_US"
        names = names if names is not None else record_names(env, [self])
        words = []
        for part in self:
            if "t" in part:
                words.append(part["t"])
                continue
            params = {key: _name(env, value, names) for key, value in (part.get("p") or {}).items()}
            words.append(get_translation(MODULE, lang, part["s"], params))
        return "".join(words)


def record_names(env, reasons):
    """The names, in the language of ``env``, of every record that ``reasons`` refer to, read
    in one query per model (a board reads the reasons of all its cards at once).

    :return: ``{(model, id): name}``
    """
    ids = {}
    for reason in reasons:
        for part in reason:
            for value in (part.get("p") or {}).values():
                if isinstance(value, dict) and "m" in value:
                    ids.setdefault(value["m"], set()).update(value["ids"])
    names = {}
    for model, model_ids in ids.items():
        # sudo: the names of the groups, countries a reason names, whoever reads it
        for record in env[model].sudo().browse(sorted(model_ids)).exists():
            names[model, record.id] = record.display_name
    return names


def _name(env, value, names):
    """A parameter's value, named in the language of ``env`` when it is a reference."""
    if isinstance(value, dict) and "m" in value:
        return ", ".join(names[key] for key in ((value["m"], id_) for id_ in value["ids"]) if key in names)
    if isinstance(value, dict) and "lang" in value:
        code = value["lang"]
        lang = env["res.lang"]._lang_get(code) if code else None
        return lang.name if lang else code
    return value


# ------------------------------------------------------------
# Reading back the texts stored before (migration)
# ------------------------------------------------------------


def _pattern(text):
    """A regular expression that matches ``text`` with any value for its parameters."""
    pieces = re.split(r"%\((\w+)\)s", text)
    expr = "".join(
        re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)" for index, piece in enumerate(pieces)
    )
    return re.compile(expr + r"\Z", re.DOTALL)


def parse(text, langs):
    """The :class:`Reason` that ``text``, a reason stored as words in one of ``langs``, was
    made of; its parameters stay the words they were. A text that cannot be read back is kept
    as a literal part.
    """
    if not text:
        return Reason()
    for lang in ["en_US", *[code for code in langs if code != "en_US"]]:
        translations = {} if lang == "en_US" else code_translations.get_python_translations(MODULE, lang)
        patterns = [
            (lazy._source, _pattern(translations.get(lazy._source) or lazy._source))
            for lazy in SOURCES.values()
        ]
        reason = _parse(text, patterns)
        if reason is not None:
            return reason
    return Reason.text(text)


def _parse(text, patterns):
    """``text`` read as a sequence of ``patterns``, parts joined by ``; ``; None when it is not."""
    segments = text.split(SEPARATOR)
    reason = Reason()
    for index, segment in enumerate(segments):
        found = None
        for source, pattern in patterns:
            # the sources that continue a reason begin with the separator
            candidate = SEPARATOR + segment if index and source.startswith(SEPARATOR) else segment
            if match := pattern.match(candidate):
                found = {"s": source, "p": match.groupdict()}
                break
        if not found:
            return None
        if index and not found["s"].startswith(SEPARATOR):
            reason += Reason.text(SEPARATOR)
        reason.append(found)
    return reason
