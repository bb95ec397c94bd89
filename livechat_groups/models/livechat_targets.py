"""The first-answer target rule, written once: the board's state of a session (Python), the
clock that ticks on its card (given to the browser through the session info, see ir_http.py)
and the Group Figures' shares and breaches (SQL built here, see the facts' table).

A session is answered within its target when its first answer came at most its live chat's
``answer_target_minutes`` after the request; past the target without an answer, it breached
it; unanswered after this share of the target, it is at risk.
"""

from odoo.tools import SQL

# a session that used this share of its first-answer target without an answer is at risk
AT_RISK_SHARE = 0.75


def target_state(start, first_answer, closed, target_minutes, now):
    """Where a session stands against its first-answer target at ``now``.

    :param start: when the request came (datetime), or None
    :param first_answer: when an operator first answered (datetime), or None
    :param closed: when the session closed (datetime), or None
    :param target_minutes: the live chat's target, 0 or None for none
    :return: ``on_time``, ``at_risk``, ``breached``, or False without a target
    """
    target = (target_minutes or 0) * 60
    if not target or not start:
        return False
    elapsed = ((first_answer or closed or now) - start).total_seconds()
    if elapsed > target:
        return "breached"
    if not first_answer and elapsed >= target * AT_RISK_SHARE:
        return "at_risk"
    return "on_time"


def client_thresholds():
    """What the browser's clock needs of the rule (supervision_target_clock.js)."""
    return {"at_risk_share": AT_RISK_SHARE}


def due_sql(start, target_minutes):
    """SQL: when the target of a session that started at ``start`` runs out (NULL without one)."""
    return SQL("%s + make_interval(mins => %s)", start, target_minutes)


def answered_in_target_sql(start, target_minutes, first_answer, closed):
    """SQL: 100 when first answered within the target, 0 when answered later or closed past it
    unanswered, NULL while undecided (or without a target)."""
    due = due_sql(start, target_minutes)
    return SQL(
        """CASE WHEN %(target)s IS NULL THEN NULL
                WHEN %(answer)s IS NOT NULL THEN CASE WHEN %(answer)s <= %(due)s THEN 100.0 ELSE 0.0 END
                WHEN %(closed)s > %(due)s THEN 0.0
           END""",
        target=target_minutes,
        answer=first_answer,
        closed=closed,
        due=due,
    )


def target_breaches_sql(start, target_minutes, first_answer, closed):
    """SQL: 1 when first answered (or closed unanswered) past the target, else 0; NULL without
    a target."""
    return SQL(
        "CASE WHEN %s IS NULL THEN NULL WHEN COALESCE(%s, %s) > %s THEN 1 ELSE 0 END",
        target_minutes,
        first_answer,
        closed,
        due_sql(start, target_minutes),
    )


def breached_by_now_sql(due):
    """SQL: whether a target still open, due at ``due`` (UTC), has run out by the clock."""
    return SQL("%s < now() AT TIME ZONE 'UTC'", due)
