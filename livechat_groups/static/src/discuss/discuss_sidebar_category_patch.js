import { DiscussSidebarCategory } from "@mail/discuss/core/public_web/discuss_sidebar_categories";
import "@im_livechat/core/web/discuss_sidebar_category_patch";
import { patch } from "@web/core/utils/patch";

/**
 * Groups route the sessions of a grouped live chat: the sidebar's join/leave icon of its
 * category (stock's operator list) means nothing there, so it is not offered.
 */
patch(DiscussSidebarCategory.prototype, {
    get actions() {
        const actions = super.actions;
        const grouped = this.category.livechatChannel && this.category.threads?.some(
            (thread) => thread.livechat_routing_state
        );
        if (!grouped) {
            return actions;
        }
        return actions.filter((action) => !/fa-sign-(in|out)/.test(action.icon || ""));
    },
});
