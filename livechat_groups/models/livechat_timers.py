import threading
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import until_commit
from .livechat_routing_reason import Reason

# how many sessions one timer handles per run; a full batch runs the timers again at once
TIMER_BATCH = 500
# up to how many sessions the timers hand back as a set, committed together; a run starts with
# one, then doubles, so that a run killed early has reported progress already. What a batch does
# once for all its sessions (its messages, who joins and who leaves, the queues served) costs
# about 6 queries per session in batches of 8, 1 in batches of 40; the operators a batch gives
# sessions to stay claimed until it commits (see RANKED_IN_BATCH in livechat_routing)
COMMIT_BATCH = 40
# the pre-commit data key of the times the timers must run at (see _livechat_timers_wake)
WAKE_AT = "livechat_groups.timers_wake_at"


class LivechatTimers(models.AbstractModel):
    """What happens to live chat sessions over time: an operator who does not answer, an
    operator who went away, a conversation gone silent (the first-answer target is
    livechat_targets.py's).

    Every timer is one method, run by one scheduled action, ``ir_cron_livechat_timers``, which
    the due times schedule (``ir.cron._trigger``). Their state is in the sessions' rows, so it
    survives restarts, and each session is locked, its state checked again, before a timer acts
    on it, so that two workers never act twice on one session.
    """

    _name = "livechat.timers"
    _description = "Live Chat Timers"

    # ------------------------------------------------------------
    # The scheduled action
    # ------------------------------------------------------------

    @api.model
    def _cron_livechat_timers(self, auto_commit=None):
        """Run every timer once, then schedule the next run at the next due time.

        In the scheduler's run, each session's work is committed with the job's progress as it
        is done: a worker killed in the middle keeps what it did, and Odoo does not count a run
        that made progress as timed out (three runs killed before any progress make it wait
        for its interval: the queues' dispatcher then runs the timers again, see
        :meth:`_livechat_timers_watch`).

        :param bool auto_commit: commit after each session; by default, unless the thread is a
            test's (as stock's mail queue decides)
        """
        if auto_commit is None:
            auto_commit = not getattr(threading.current_thread(), "testing", False)
        timers = self.with_context(livechat_timers_auto_commit=auto_commit)
        busy, done = False, 0
        for condition, action in timers._livechat_timer_list(fields.Datetime.now()):
            handled = timers._livechat_timer_run(condition, action, done=done)
            busy |= handled == TIMER_BATCH
            done += handled
        if busy:
            self._livechat_timers_cron()._trigger()
        self._livechat_timer_schedule_next()
        self.env["ir.cron"]._notify_progress(done=done, remaining=int(busy))

    @api.model
    def _livechat_timer_list(self, now):
        """Each timer: the sessions it acts on (an SQL condition over ``c``, the session, and
        ``lc``, its live chat) and what it does to one of them.

        * no answer: sessions whose operator did not write to the visitor in time go to another
          operator, or to the front of their group's queue (hop ``timeout``);
        * away operators: operators offline for the live chat's grace hand their sessions back
          (hop ``requeue``), counted from their last poll, or from when they got the session if
          they never connected;
        * inactive sessions: sessions in progress where nobody wrote for the live chat's
          inactivity delay close (``last_interest_dt``: stock's time of the session's last
          message);
        * past the answer target: the supervisors of a session that waits, unanswered, past its
          live chat's first-answer target are told, once (``discuss_channel_waiting.py``).

        :return: list of ``(SQL condition, action)``
        """
        return [
            (
                SQL("c.livechat_routing_state = 'assigned' AND c.livechat_answer_due <= %s", now),
                self._livechat_answer_lapsed,
            ),
            (
                SQL(
                    """
                    c.livechat_routing_state = 'assigned' AND lc.away_grace_minutes > 0
                    AND EXISTS (
                        SELECT 1 FROM res_users u LEFT JOIN bus_presence p ON p.user_id = u.id
                         WHERE u.partner_id = c.livechat_operator_id
                           AND COALESCE(p.status, 'offline') = 'offline'
                           AND GREATEST(p.last_poll, c.livechat_assigned_date)
                               <= %s - make_interval(mins => lc.away_grace_minutes))
                    """,
                    now,
                ),
                self._livechat_operator_away,
            ),
            (
                SQL(
                    """
                    c.livechat_routing_state = 'assigned' AND lc.inactivity_close_minutes > 0
                    AND GREATEST(c.last_interest_dt, c.livechat_assigned_date)
                        <= %s - make_interval(mins => lc.inactivity_close_minutes)
                    """,
                    now,
                ),
                self._livechat_close_inactive,
            ),
            (
                SQL(
                    """
                    c.livechat_routing_state = 'queued' AND lc.answer_target_minutes > 0
                    AND c.livechat_first_answer_date IS NULL AND c.livechat_target_alert_date IS NULL
                    AND c.create_date <= %s - make_interval(mins => lc.answer_target_minutes)
                    """,
                    now,
                ),
                # discuss_channel_waiting.py
                lambda session: session._livechat_tell_supervisors_waiting(),
            ),
        ]

    @api.model
    def _livechat_timers_watch(self):
        """Run the timers now when a session is overdue and they are not due to run: Odoo
        marks a job killed three times in a row before any progress as timed out, drops its
        due-time triggers and waits for its interval. Called every minute by the queues'
        dispatcher (``livechat.routing._cron_serve_queues``).

        :return: whether the timers were scheduled
        """
        cron = self._livechat_timers_cron()
        now = fields.Datetime.now()
        if cron.nextcall <= now or self.env["ir.cron.trigger"].sudo().search_count(
            [("cron_id", "=", cron.id), ("call_at", "<=", now)], limit=1
        ):
            return False  # due already: the scheduler runs them at its next poll
        self.env.flush_all()
        query = SQL(
            "SELECT 1 FROM discuss_channel c JOIN im_livechat_channel lc ON lc.id = c.livechat_channel_id"
            " WHERE (%s) LIMIT 1",
            SQL(" OR ").join(SQL("(%s)", condition) for condition, _action in self._livechat_timer_list(now)),
        )
        if not self.env.execute_query(query):
            return False
        cron._trigger()
        return True

    @api.model
    def _livechat_timer_schedule_next(self):
        """Run the timers again when the next session falls due. The answer clocks were
        scheduled when they started; a conversation's silence and an operator's absence move
        with every message and presence, so their next due time is read now."""
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT MIN(LEAST(
                           CASE WHEN lc.inactivity_close_minutes > 0 THEN
                               GREATEST(c.last_interest_dt, c.livechat_assigned_date)
                               + make_interval(mins => lc.inactivity_close_minutes) END,
                           CASE WHEN lc.away_grace_minutes > 0 THEN (
                               SELECT GREATEST(p.last_poll, c.livechat_assigned_date)
                                      + make_interval(mins => lc.away_grace_minutes)
                                 FROM res_users u JOIN bus_presence p ON p.user_id = u.id
                                WHERE u.partner_id = c.livechat_operator_id AND p.status = 'offline'
                                LIMIT 1) END))
                  FROM discuss_channel c
                  JOIN im_livechat_channel lc ON lc.id = c.livechat_channel_id
                 WHERE c.livechat_routing_state = 'assigned'
                   AND (lc.inactivity_close_minutes > 0 OR lc.away_grace_minutes > 0)
                """
            )
        )
        if rows[0][0]:
            self._livechat_timers_cron()._trigger(at=max(rows[0][0], fields.Datetime.now()))

    @api.model
    def _livechat_timer_run(self, condition, action, done=0):
        """Call ``action(session)`` on the sessions that match ``condition``, as a set: claimed
        by small batches under row locks (``SKIP LOCKED``: a session that another worker holds
        is theirs, and the next batch is another one's), each session in its own savepoint,
        what their hand-backs leave to do for the others done once per batch
        (``livechat.routing._hand_back_batch``). In the scheduler's run (context
        ``livechat_timers_auto_commit``), each batch is committed as soon as it is done, with
        the job's progress: a worker killed in the middle loses at most one batch, which the
        next run does again. The first batch is one session, the next ones twice the last, up to
        :data:`COMMIT_BATCH`: a run killed early has reported its progress, so that Odoo does
        not count it as timed out.

        :param SQL condition: over ``c`` (the session) and ``lc`` (its live chat)
        :param int done: the sessions this run handled before (the job's progress)
        :return: how many sessions were handled (:data:`TIMER_BATCH` when more may be due)
        """
        auto_commit = self.env.context.get("livechat_timers_auto_commit")
        handled, size, conflicts = 0, 1, 0
        while handled < TIMER_BATCH:
            wanted = min(size, TIMER_BATCH - handled)
            sessions = self._livechat_timer_claim(condition, wanted)
            if sessions is None:
                # another worker changed what this transaction saw: go on from a fresh view
                conflicts += 1
                if not auto_commit or conflicts > 3:
                    break
                self.env.cr.commit()  # pylint: disable=invalid-commit
                self.env.invalidate_all()
                continue
            if not sessions:
                break  # nothing is due
            with sessions.env["livechat.routing"]._hand_back_batch() as routing:
                for session in routing._in_batch(sessions):
                    routing._in_savepoint(session, action, skip_conflicts=True, skip_errors=False)
            handled += len(sessions)
            done += len(sessions)
            if auto_commit:
                # this batch's work is kept whatever happens next, and so is the job's progress
                self.env["ir.cron"]._notify_progress(done=done, remaining=1)
                self.env.cr.commit()  # pylint: disable=invalid-commit
                self.env.invalidate_all()
            if len(sessions) < wanted:
                break  # nothing more is due
            size = min(size * 2, COMMIT_BATCH)
        return handled

    @api.model
    def _livechat_timer_claim(self, condition, limit):
        """Lock up to ``limit`` sessions that match ``condition`` and that no other worker holds.

        :return: the ``discuss.channel`` sessions (sudo: the timers act for the system), or None
            when one of them was changed by a worker since this transaction began
        """
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                rows = self.env.execute_query(
                    SQL(
                        """
                        SELECT c.id FROM discuss_channel c
                          JOIN im_livechat_channel lc ON lc.id = c.livechat_channel_id
                         WHERE %s
                      ORDER BY c.id
                         LIMIT %s
                           FOR UPDATE OF c SKIP LOCKED
                        """,
                        condition,
                        limit,
                    )
                )
        except psycopg2.errors.TransactionRollbackError:
            return None
        # sudo: discuss.channel - the timers act for the system
        return self.env["discuss.channel"].sudo().browse(row[0] for row in rows)

    # ------------------------------------------------------------
    # What each timer does to one session
    # ------------------------------------------------------------

    @api.model
    def _livechat_answer_lapsed(self, session):
        """Its operator did not answer in time: the session goes to someone else; the visitor,
        the operator and the supervisors are told."""
        operator = session._livechat_operator_user()
        minutes = session.livechat_channel_id.answer_timeout_minutes
        visitor_env = session.with_context(lang=session._livechat_visitor_lang()).env
        session._livechat_post_notice(
            visitor_env._("Sorry for the wait: another operator will answer you."), batched=True
        )
        why = Reason.of("no_answer", user=operator.name, minutes=minutes)
        session.env["livechat.routing"]._requeue(session, operator, why=why, kind="timeout", front=True)
        operator_env = session.with_context(lang=operator.lang).env
        operator.partner_id._bus_send(
            "simple_notification",
            {
                "type": "warning",
                "sticky": True,
                "title": operator_env._("Session handed to another operator"),
                "message": operator_env._(
                    "You did not answer %(visitor)s within %(minutes)s minutes: the session went to %(to)s.",
                    visitor=session.livechat_visitor_name,
                    minutes=minutes,
                    to=self._livechat_holder_name(session),
                ),
            },
        )
        self._livechat_tell_supervisors(
            session,
            lambda env: env._("No answer in %(group)s", group=session.livechat_group_id.name),
            lambda env: env._(
                "%(user)s did not answer %(visitor)s within %(minutes)s minutes: the session went to %(to)s.",
                user=operator.name,
                visitor=session.livechat_visitor_name,
                minutes=minutes,
                to=self._livechat_holder_name(session),
            ),
        )

    @api.model
    def _livechat_operator_away(self, session):
        """Its operator has been offline longer than the grace: the session goes back to the
        routing, and they do not find it again when they come back."""
        operator = session._livechat_operator_user()
        minutes = session.livechat_channel_id.away_grace_minutes
        visitor_env = session.with_context(lang=session._livechat_visitor_lang()).env
        session._livechat_post_notice(
            visitor_env._("%(user)s had to leave: another operator will answer you.", user=operator.name),
            batched=True,
        )
        why = Reason.of("offline", user=operator.name, minutes=minutes)
        session.env["livechat.routing"]._requeue(session, operator, why=why, front=True)
        operator_env = session.with_context(lang=operator.lang).env
        operator.partner_id._bus_send(
            "simple_notification",
            {
                "type": "info",
                "sticky": True,
                "title": operator_env._("Sessions handed back while you were away"),
                "message": operator_env._(
                    "You were offline for %(minutes)s minutes: your session with %(visitor)s went to %(to)s.",
                    visitor=session.livechat_visitor_name,
                    minutes=minutes,
                    to=self._livechat_holder_name(session),
                ),
            },
        )

    @api.model
    def _livechat_close_inactive(self, session):
        """Nobody wrote for the live chat's inactivity delay: the session closes with a notice,
        and its operator is free for the next one."""
        operator = session._livechat_operator_user()
        minutes = session.livechat_channel_id.inactivity_close_minutes
        visitor_env = session.with_context(lang=session._livechat_visitor_lang()).env
        notice = visitor_env._(
            "Nobody wrote for %(minutes)s minutes, so this conversation is closed. Write again "
            "any time to start a new one.",
            minutes=minutes,
        )
        session.env["livechat.routing"]._end(session, operator, notice=notice)

    # ------------------------------------------------------------
    # The clocks of one session
    # ------------------------------------------------------------

    @api.model
    def _livechat_start_answer_clock(self, session):
        """The operator who just got ``session`` has the live chat's answer timeout to write to
        the visitor; the timers run at the due times of the session's clocks."""
        channel = session.livechat_channel_id
        assigned = session.livechat_routing_state == "assigned"
        due = (
            assigned
            and channel.answer_timeout_minutes
            and session.livechat_assigned_date + timedelta(minutes=channel.answer_timeout_minutes)
        )
        # sudo: discuss.channel - the system starts the clock, whoever handed the session over
        session.sudo().livechat_answer_due = due or False
        moments = [due] if due else []
        if assigned and channel.inactivity_close_minutes:
            moments.append(fields.Datetime.now() + timedelta(minutes=channel.inactivity_close_minutes))
        if moments:
            self._livechat_timers_wake(min(moments))

    @api.model
    def _livechat_stop_answer_clock(self, session, message):
        """``message`` was posted in ``session``: when its operator wrote to the visitor (text
        or a file, not an empty comment), their answer clock stops, and the first answer is on
        time or not."""
        if (
            session.livechat_routing_state == "assigned"
            and message.message_type == "comment"
            and message.author_id == session.livechat_operator_id
            and (session.livechat_answer_due or not session.livechat_first_answer_date)
            and not message._livechat_is_staff_note()
            and message._livechat_says_something()
        ):
            # sudo: discuss.channel - the operator answered: their clock stops, whoever they are
            session.sudo().write(
                {
                    "livechat_answer_due": False,
                    "livechat_first_answer_date": session.livechat_first_answer_date or fields.Datetime.now(),
                }
            )

    # ------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------

    @api.model
    def _livechat_holder_name(self, session):
        """Who answers ``session`` now, or the queue it waits in, in plain words."""
        if user := session._livechat_operator_user():
            return user.name
        return self.env._("the queue of %(group)s", group=session.livechat_group_id.name)

    @api.model
    def _livechat_tell_supervisors(self, session, title, message):
        """A notification on the screens of the supervisors of ``session``'s live chat.

        :param title: ``env -> str``, so that each supervisor reads it in their language
        :param message: the same
        """
        # sudo: res.groups, livechat.group - who supervises is not for the caller to read
        managers = (
            self.env["res.groups"]
            .sudo()
            .browse(self.env["ir.model.data"]._xmlid_to_res_id("im_livechat.im_livechat_group_manager"))
            .users
        )
        supervisors = (
            session.livechat_channel_id.sudo().supervisor_group_ids.member_ids | managers
        ).filtered(lambda user: user.active and not user.share)
        for lang, users in supervisors.grouped("lang").items():
            env = session.with_context(lang=lang).env
            users.partner_id._bus_send(
                "simple_notification", {"type": "warning", "title": title(env), "message": message(env)}
            )

    @api.model
    def _livechat_timers_wake(self, at):
        """Run the timers at ``at``: the times asked in one transaction are scheduled together
        when it is committed (a batch of hand-backs starts a clock per session), each once."""
        until_commit.gather(self.env.cr, WAKE_AT, [at], self._livechat_timers_wake_now)

    def _livechat_timers_wake_now(self):
        if moments := until_commit.take(self.env.cr, WAKE_AT):
            self._livechat_timers_cron()._trigger(sorted(moments))

    @api.model
    def _livechat_timers_cron(self):
        # sudo: ir.cron - any hand-over may schedule the timers; by its cached id (env.ref
        # checks that the record exists, a query at each call)
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(
            "livechat_groups.ir_cron_livechat_timers", raise_if_not_found=True
        )
        return self.env["ir.cron"].sudo().browse(cron_id)
