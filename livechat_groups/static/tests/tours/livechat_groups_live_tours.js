import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");
const card = (visitor) => `.o_kanban_record:contains(${visitor})`;

/**
 * Finding 7: the waiting alert fires on an open board. Julia has waited a few seconds less than
 * the 5-minute waiting alert when the supervisor opens the board; her card turns red and reads
 * "Waiting for 5 min" by itself.
 */
tours.add("livechat_groups_board_waiting_alert_live", {
    steps: () => [
        {
            content: "Julia still waits below the alert: yellow, 4 minutes",
            trigger: `${card("Julia")}.o_kanban_color_0 .text-warning:contains(Waiting for 4 min)`,
            run() {
                // a reload of the page would forget this: the next step checks that none happened
                window.livechatGroupsBoardOpened = true;
            },
        },
        {
            content: "Past the threshold, her card turns red and says 5 minutes, without a reload",
            trigger: `${card("Julia")}.o_kanban_color_1 .o_livechat_groups_overdue:contains(Waiting for 5 min)`,
            timeout: 30000,
            run() {
                if (!window.livechatGroupsBoardOpened) {
                    throw new Error("the board was reloaded");
                }
            },
        },
    ],
});
