"""Values gathered over a transaction and acted on once, just before it commits (a cursor's
pre-commit hooks): what many writes ask for (the figures of the sessions they touched, the
times the timers must run at) costs one statement per transaction, not one per write."""


def gather(cr, key, values, hook):
    """Add ``values`` to the set kept under ``key`` until ``cr``'s transaction commits. The
    first call registers ``hook``, which runs once before the commit and takes the set
    (:func:`take`)."""
    data = cr.precommit.data
    if key not in data:
        data[key] = set()
        cr.precommit.add(hook)
    data[key].update(values)


def take(cr, key):
    """What was gathered under ``key``, taken (an empty set when nothing is left): by the hook,
    or by a reader that needs it acted on now."""
    return cr.precommit.data.pop(key, set())
