import { onWillUnmount } from "@odoo/owl";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { _t } from "@web/core/l10n/translation";
import { RPCError } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { useDebounced } from "@web/core/utils/timing";
import { useService } from "@web/core/utils/hooks";
import { KanbanController } from "@web/views/kanban/kanban_controller";
import { KanbanHeader } from "@web/views/kanban/kanban_header";
import { KanbanRenderer } from "@web/views/kanban/kanban_renderer";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { formatElapsed, targetStatus, useNow } from "./supervision_target_clock";

/** The notification the server sends to supervisors when a session of their live chats changes. */
export const SESSION_UPDATE = "livechat_groups.session_update";
const CLOCK_MS = 60000;
const ALERT_MARGIN_MS = 1000;
/** In a call's context: read on the primary database, not on a read replica (controllers/replica.py). */
const PRIMARY_CONTEXT_KEY = "livechat_groups_primary";
/** The server's refusal of an Assign on a session that changed since the card showed it. */
const SESSION_CHANGED = "LivechatSessionChanged";

/**
 * The board's reads go to the read replica when Odoo runs with one, except the reloads that
 * follow a change (the bus's news, the supervisor's own assign, the clock): those read the
 * primary, which holds what produced them, while the replica may lag behind it. The model's ORM
 * adds the context key to its calls while ``model.livechatReadPrimary`` is set, until the board
 * is loaded.
 */
function readPrimaryOnReload(model) {
    const orm = model.orm;
    model.orm = Object.assign(Object.create(orm), {
        call(resModel, method, args = [], kwargs = {}) {
            if (model.livechatReadPrimary) {
                kwargs = { ...kwargs, context: { ...(kwargs.context || {}), [PRIMARY_CONTEXT_KEY]: true } };
            }
            return orm.call.call(this, resModel, method, args, kwargs);
        },
    });
}

const { DateTime } = luxon;

/**
 * The supervision board reloads itself when the server says that a session changed (a new
 * request, a hand-over, a close), so that supervisors never reload by hand.
 */
export class SupervisionKanbanController extends KanbanController {
    setup() {
        super.setup();
        this.busService = useService("bus_service");
        this.orm = useService("orm");
        // Several hand-overs often come together: one reload for them all. Reloading through the
        // search model keeps what the supervisor set meanwhile (filters, grouping).
        readPrimaryOnReload(this.model);
        this.reloadBoard = useDebounced(() => {
            this.model.livechatReadPrimary = true;
            this.env.searchModel.search();
        }, 300);
        this.onSessionUpdate = () => this.reloadBoard();
        this.busService.subscribe(SESSION_UPDATE, this.onSessionUpdate);
        this.busService.start();
        // the waiting times and the waiting alert follow the clock, not only the changes
        this.clock = setInterval(() => this.reloadBoard(), CLOCK_MS);
        onWillUnmount(() => {
            clearInterval(this.clock);
            clearTimeout(this.alertTimer);
            this.busService.unsubscribe(SESSION_UPDATE, this.onSessionUpdate);
        });
        // Grouped by operator, the sessions nobody holds (the waiting ones) are in the column
        // without operator, which the kanban folds by default: unfold it once, they are the
        // cards to drop on an operator.
        const onRootLoaded = this.model.hooks.onRootLoaded;
        this.model.hooks.onRootLoaded = async () => {
            this.model.livechatReadPrimary = false;
            await onRootLoaded();
            const root = this.model.root;
            this.scheduleWaitingAlert(root);
            if (root.groupByField?.name !== "livechat_operator_user_id") {
                return;
            }
            await this.describeOperatorColumns(root);
            const waiting = root.groups.find((group) => !group.value);
            if (this.waitingUnfolded) {
                return;
            }
            if (waiting?.isFolded) {
                this.waitingUnfolded = true;
                await waiting.toggle();
            }
        };
    }
}

Object.assign(SupervisionKanbanController.prototype, {
    /**
     * The waiting alert fires on time: the board reloads itself when the next waiting card
     * passes its live chat's threshold, so that it turns red then, not at the next minute's
     * reload. The server says whether it is overdue; if the browser's clock runs ahead of the
     * server's, the board asks again a second later.
     */
    scheduleWaitingAlert(root) {
        clearTimeout(this.alertTimer);
        const records = root.isGrouped
            ? root.groups.flatMap((group) => group.list.records)
            : root.records;
        const now = DateTime.now();
        const delays = records
            .filter((record) => record.data.livechat_board_alert_date && !record.data.livechat_board_overdue)
            .map((record) => Math.max(record.data.livechat_board_alert_date.diff(now).milliseconds, 0));
        if (delays.length) {
            this.alertTimer = setTimeout(() => this.reloadBoard(), Math.min(...delays) + ALERT_MARGIN_MS);
        }
    },

    /**
     * Grouped by operator, a column's title says whether its operator can answer now and how
     * many sessions they hold; the column of sessions that nobody holds is "Waiting".
     */
    async describeOperatorColumns(root) {
        const userIds = root.groups.filter((group) => group.value).map((group) => group.value);
        const info = userIds.length
            ? await this.orm.silent.call("discuss.channel", "livechat_board_operators", [userIds])
            : {};
        for (const group of root.groups) {
            const operator = group.value && info[group.value];
            if (!group.value) {
                group.displayName = _t("Waiting");
            } else if (operator) {
                const name = group.livechatGroupsName || group.displayName;
                group.livechatGroupsName = name;
                group.displayName = `${name} (${operator.label})`;
            }
        }
    },
});

/**
 * A column's header also says how long its oldest waiting session has waited, and how many of
 * its open sessions are on time, at risk or breached against the first-answer target; it ticks
 * with the cards' clocks.
 */
export class SupervisionKanbanHeader extends KanbanHeader {
    static template = "livechat_groups.SupervisionKanbanHeader";

    setup() {
        super.setup();
        this.clock = useNow();
    }

    get columnStats() {
        const now = this.clock.now;
        const stats = { count: 0, oldest: null, on_time: 0, at_risk: 0, breached: 0 };
        let oldest = null;
        for (const record of this.group.list.records) {
            const data = record.data;
            if (!["queued", "assigned"].includes(data.livechat_routing_state)) {
                continue;
            }
            stats.count++;
            const { state } = targetStatus(data, now);
            if (state) {
                stats[state]++;
            }
            if (data.livechat_routing_state === "queued" && data.livechat_queued_date) {
                const waited = Math.max(0, Math.floor(now.diff(data.livechat_queued_date, "seconds").seconds));
                oldest = Math.max(oldest ?? 0, waited);
            }
        }
        stats.oldest = oldest === null ? null : formatElapsed(oldest);
        return stats;
    }
}

/**
 * Cards move only between operators: dropping a session on an operator assigns it to them (the
 * server checks the supervisor's rights). The other groupings are for reading.
 */
export class SupervisionKanbanRenderer extends KanbanRenderer {
    static components = { ...KanbanRenderer.components, KanbanHeader: SupervisionKanbanHeader };

    setup() {
        super.setup();
        this.notification = useService("notification");
        this.orm = useService("orm");
        this.dialog = useService("dialog");
    }

    /**
     * A card dropped on an operator assigns the session, as the card showed it: when the session
     * changed since (someone took it meanwhile, or the board was read from a lagging replica),
     * the server says what changed and the supervisor confirms before it is assigned anyway.
     * Then the board reloads from the primary database, and says where the session is now.
     */
    async sortRecordDrop(dataRecordId, dataGroupId, { parent }) {
        const list = this.props.list;
        const targetGroupId = parent?.dataset.id;
        const sourceGroup = list.groups?.find((group) => group.id === dataGroupId);
        const targetGroup = list.groups?.find((group) => group.id === targetGroupId);
        const record = sourceGroup?.list.records.find((rec) => rec.id === dataRecordId);
        if (!record || !targetGroup || targetGroupId === dataGroupId || !this.canMoveRecords) {
            return super.sortRecordDrop(...arguments);
        }
        parent.classList.remove("o_kanban_hover");
        const holder = record.data.livechat_operator_user_id;
        const seen = {
            livechat_routing_state: record.data.livechat_routing_state,
            livechat_operator_user_id: (Array.isArray(holder) ? holder[0] : holder?.id) || false,
        };
        this.toggleProcessing(dataRecordId, true);
        try {
            await this.assign(record.resId, targetGroup.value, seen);
        } finally {
            this.toggleProcessing(dataRecordId, false);
            list.model.livechatReadPrimary = true;
            await this.env.searchModel.search();
        }
    }

    /** Assign the session to the operator; ask first when it changed since ``seen``. */
    async assign(sessionId, userId, seen) {
        try {
            await this.orm.call("discuss.channel", "action_livechat_assign", [[sessionId], userId], { seen });
        } catch (error) {
            if (!(error instanceof RPCError) || !error.data?.name?.endsWith(SESSION_CHANGED)) {
                throw error;
            }
            const confirmed = await new Promise((resolve) => {
                this.dialog.add(
                    ConfirmationDialog,
                    {
                        title: _t("The session changed"),
                        body: error.data.message,
                        confirmLabel: _t("Assign Anyway"),
                        confirm: () => resolve(true),
                        cancel: () => resolve(false),
                    },
                    { onClose: () => resolve(false) }
                );
            });
            if (!confirmed) {
                return;
            }
            await this.orm.call("discuss.channel", "action_livechat_assign", [[sessionId], userId]);
        }
        const feedback = await this.orm.call("discuss.channel", "livechat_hand_over_feedback", [[sessionId]]);
        this.notification.add(feedback.message, { type: feedback.type });
    }

    get canMoveRecords() {
        return (
            super.canMoveRecords &&
            this.props.list.groupByField?.name === "livechat_operator_user_id"
        );
    }
}

registry.category("views").add("livechat_groups_supervision_kanban", {
    ...kanbanView,
    Controller: SupervisionKanbanController,
    Renderer: SupervisionKanbanRenderer,
});
