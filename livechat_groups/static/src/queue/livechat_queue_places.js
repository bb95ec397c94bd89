import { Message } from "@mail/core/common/message_model";
import { Record } from "@mail/core/common/record";
import { markup } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { patch } from "@web/core/utils/patch";

// the visitor's place in their queue notice (see discuss_channel_notices.py)
const POSITION = /(<span class="o_livechat_groups_position">)\d+(<\/span>)/;

/**
 * A waiting visitor (the website widget's guest, or the employee who asked on an internal live
 * chat) reads their place in the queue live. Their queue notice names its group when loaded
 * (``mail_message_notices.py``): their client then listens to that group's queue, a bus
 * channel the server grants only to whom waits there (``ir_websocket.py``). When the queue
 * moves, the group sends one notification for all its visitors, the ids of its waiting
 * sessions in order; each client counts those before its own session and writes the number
 * into its notice, whose words (in the visitor's language) stay as they were posted.
 */
patch(Message.prototype, {
    setup() {
        super.setup();
        this.livechat_groups_queue_group_id = Record.attr(undefined, {
            /** @this {import("models").Message} */
            onUpdate() {
                const groupId = this.livechat_groups_queue_group_id;
                if (!groupId) {
                    return;
                }
                // once the store has inserted all it was given (the session may come after)
                Promise.resolve().then(() => {
                    if (livechatGroupsWaitsHere(this)) {
                        this.store.env.services.bus_service.addChannel(`livechat_groups_queue_${groupId}`);
                        // a notice re-posted in the transaction that moved the queue may come
                        // in after the queue's notification (Discuss inserts a new message
                        // asynchronously): the queue as last heard is still the truth
                        if (lastQueues.has(groupId)) {
                            livechatGroupsShowPlace(this, lastQueues.get(groupId));
                        }
                    }
                });
            },
        });
    },
});

/** Whether the current visitor is who waits in the session of this queue ``notice``. */
function livechatGroupsWaitsHere(notice) {
    const self = notice.store.self;
    const thread = notice.thread;
    if (!self || !thread || thread.model !== "discuss.channel") {
        return false;
    }
    if (thread.livechat_requester_id) {
        return self.type === "partner" && self.id === thread.livechat_requester_id;
    }
    return self.type === "guest";
}

/** The last order heard of each group's queue: ``{group id: [waiting session ids]}``. */
const lastQueues = new Map();

/** Write the place of the session of the queue ``notice`` in ``queue`` into its text. */
function livechatGroupsShowPlace(notice, queue) {
    if (!notice.thread) {
        return;
    }
    const place = queue.indexOf(notice.thread.id) + 1;
    const body = String(notice.body || "");
    if (!place || !POSITION.test(body)) {
        return; // no longer waiting here: its notice says who answers now
    }
    const moved = body.replace(POSITION, `$1${place}$2`);
    if (moved !== body) {
        notice.body = markup(moved);
    }
}

export const livechatGroupsQueuePlacesService = {
    dependencies: ["bus_service", "mail.store"],
    start(env, { bus_service, "mail.store": store }) {
        bus_service.subscribe("livechat_groups/queue_places", ({ group_id, queue }) => {
            lastQueues.set(group_id, queue);
            for (const message of Object.values(store.Message.records)) {
                if (message.livechat_groups_queue_group_id === group_id) {
                    livechatGroupsShowPlace(message, queue);
                }
            }
        });
    },
};

registry.category("services").add("livechat_groups.queue_places", livechatGroupsQueuePlacesService);
