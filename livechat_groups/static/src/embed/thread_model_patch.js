import { Thread } from "@mail/core/common/thread_model";
import { patch } from "@web/core/utils/patch";

/**
 * The visitor reads the name of the operator who answers them, or of the group while they wait
 * in its queue (stock shows OdooBot, who only holds the waiting session, or the previous
 * operator after a forward).
 */
patch(Thread.prototype, {
    get displayName() {
        if (this.channel_type === "livechat" && this.livechat_routing_state) {
            if (this.livechat_routing_state === "queued" && this.livechat_group_name) {
                return this.livechat_group_name;
            }
            if (this.livechat_operator_name) {
                return this.livechat_operator_name;
            }
        }
        return super.displayName;
    },
});
