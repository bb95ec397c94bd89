import { Component, onWillUnmount, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { session } from "@web/session";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

const { DateTime } = luxon;

/**
 * The first-answer target's thresholds, as the server defines them (models/livechat_targets.py,
 * given in the session info): a session that used ``at_risk_share`` of its target without an
 * answer is at risk.
 */
export function targetThresholds() {
    return session.livechat_groups_targets;
}

/**
 * Where a session stands against its first-answer target.
 *
 * @param {Object} data the session's record data (create_date, livechat_first_answer_date,
 *     livechat_closed_date, livechat_answer_target_minutes)
 * @param {DateTime} now
 * @param {{at_risk_share: number}} [thresholds] the server's (targetThresholds())
 * @returns {{elapsed: number, state: false|"on_time"|"at_risk"|"breached", answered: boolean}}
 */
export function targetStatus(data, now, thresholds = targetThresholds()) {
    const start = data.create_date;
    const answered = Boolean(data.livechat_first_answer_date);
    const end = data.livechat_first_answer_date || data.livechat_closed_date || now;
    const elapsed = start ? Math.max(0, Math.floor(end.diff(start, "seconds").seconds)) : 0;
    const target = (data.livechat_answer_target_minutes || 0) * 60;
    let state = false;
    if (target) {
        if (elapsed > target) {
            state = "breached";
        } else if (!answered && elapsed >= target * thresholds.at_risk_share) {
            state = "at_risk";
        } else {
            state = "on_time";
        }
    }
    return { elapsed, state, answered };
}

/** "4:05" or "1:02:05". */
export function formatElapsed(seconds) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const secs = String(seconds % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

export const TARGET_LABELS = {
    on_time: _t("on time"),
    at_risk: _t("at risk"),
    breached: _t("breached"),
};

/** The current time, for a component that shows a clock: it renders again every second. */
export function useNow() {
    const state = useState({ now: DateTime.now() });
    const interval = setInterval(() => (state.now = DateTime.now()), 1000);
    onWillUnmount(() => clearInterval(interval));
    return state;
}

/**
 * The card's clock on the supervision board: the time since the request, ticking until its
 * first answer, coloured against the live chat's first-answer target.
 */
export class TargetClock extends Component {
    static template = "livechat_groups.TargetClock";
    static props = { ...standardFieldProps };

    setup() {
        this.clock = useNow();
    }

    get status() {
        return targetStatus(this.props.record.data, this.clock.now);
    }

    get time() {
        return formatElapsed(this.status.elapsed);
    }

    get label() {
        const { state, answered } = this.status;
        // the clock says what it counts: read alone, "18:41" would be a time of day
        const parts = [answered ? _t("first answer") : _t("since the request")];
        if (state) {
            parts.push(TARGET_LABELS[state]);
            parts.push(_t("target %s min", this.props.record.data.livechat_answer_target_minutes));
        }
        return parts.join(" · ");
    }

    get colorClass() {
        return {
            on_time: "text-success",
            at_risk: "text-warning",
            breached: "text-danger fw-bold",
        }[this.status.state] || "text-muted";
    }
}

registry.category("fields").add("livechat_groups_target_clock", {
    component: TargetClock,
    supportedTypes: ["datetime"],
});
