import "@mail/core/public_web/thread_model_patch";
import { Thread } from "@mail/core/common/thread_model";
import { patch } from "@web/core/utils/patch";

/**
 * A session of a grouped live chat is named after whom you talk to: the operators read the
 * visitor's (or the employee's) name; the employee who asked reads the operator's name, or the
 * group's while they wait. Stock names it after the other member, who is often nobody yet, or
 * OdooBot holding the waiting session.
 */
patch(Thread.prototype, {
    get livechatGroupsIsRequester() {
        const self = this.store.self;
        return Boolean(
            this.livechat_requester_id &&
                self?.type === "partner" &&
                self.id === this.livechat_requester_id
        );
    },

    get displayName() {
        if (this.channel_type === "livechat" && this.livechat_routing_state) {
            if (this.livechatGroupsIsRequester) {
                return (
                    this.livechat_operator_name || this.livechat_group_name || super.displayName
                );
            }
            if (this.livechat_visitor_name) {
                return this.livechat_visitor_name;
            }
        }
        return super.displayName;
    },

    get avatarUrl() {
        if (
            this.channel_type === "livechat" &&
            this.livechat_routing_state &&
            !this.livechatGroupsIsRequester &&
            (!this.correspondent || this.correspondent.persona.eq(this.store.self))
        ) {
            // a visitor who is not a member (demo data, a messenger's customer): not our own face
            return this.store.DEFAULT_AVATAR;
        }
        return super.avatarUrl;
    },

    get notifyOnLeave() {
        // leaving a session is a forward (or a close): their own confirmation says so
        if (this.channel_type === "livechat" && this.livechat_routing_state) {
            return false;
        }
        return super.notifyOnLeave;
    },

    notifyMessageToUser(message) {
        // OdooBot's notices of a session are for its visitor (you wait, you are transferred):
        // the operators read them in the conversation, not as pop-ups
        if (
            this.channel_type === "livechat" &&
            this.livechat_routing_state &&
            message.message_type === "notification"
        ) {
            return;
        }
        return super.notifyMessageToUser(...arguments);
    },
});
