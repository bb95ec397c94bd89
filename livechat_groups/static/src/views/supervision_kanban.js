import { onWillUnmount } from "@odoo/owl";
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

/**
 * The supervision board reloads itself when the server says that a session changed (a new
 * request, a hand-over, a close), so that supervisors never reload by hand.
 */
export class SupervisionKanbanController extends KanbanController {
    setup() {
        super.setup();
        this.busService = useService("bus_service");
        // Several hand-overs often come together: one reload for them all. Reloading through the
        // search model keeps what the supervisor set meanwhile (filters, grouping).
        this.reloadBoard = useDebounced(() => this.env.searchModel.search(), 300);
        this.onSessionUpdate = () => this.reloadBoard();
        this.busService.subscribe(SESSION_UPDATE, this.onSessionUpdate);
        this.busService.start();
        onWillUnmount(() => this.busService.unsubscribe(SESSION_UPDATE, this.onSessionUpdate));
        // Grouped by operator, the sessions nobody holds (the waiting ones) are in the column
        // without operator, which the kanban folds by default: unfold it once, they are the
        // cards to drop on an operator.
        const onRootLoaded = this.model.hooks.onRootLoaded;
        this.model.hooks.onRootLoaded = async () => {
            await onRootLoaded();
            const root = this.model.root;
            if (this.waitingUnfolded || root.groupByField?.name !== "livechat_operator_user_id") {
                return;
            }
            const waiting = root.groups.find((group) => !group.value);
            if (waiting?.isFolded) {
                this.waitingUnfolded = true;
                await waiting.toggle();
            }
        };
    }
}

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
