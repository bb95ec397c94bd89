import { discussSidebarItemsRegistry } from "@mail/core/public_web/discuss_sidebar";
import { Component, onWillStart, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

/**
 * "Ask a live chat": the internal live chats the user may write to, at the end of the Discuss
 * sidebar. A click starts a session (or finds the open one) and opens it.
 */
export class LivechatStart extends Component {
    static template = "livechat_groups.LivechatStart";
    static props = {};

    setup() {
        this.store = useState(useService("mail.store"));
        this.orm = useService("orm");
        this.state = useState({ livechats: [], open: true });
        onWillStart(async () => {
            this.state.livechats = await this.orm.call(
                "im_livechat.channel",
                "livechat_requester_channels",
                []
            );
        });
    }

    async onClickLivechat(livechat) {
        const data = await this.orm.call("im_livechat.channel", "livechat_start_session", [
            [livechat.id],
        ]);
        const { Thread } = this.store.insert(data, { html: true });
        const thread = Array.isArray(Thread) ? Thread[0] : Thread;
        thread.open();
    }
}

discussSidebarItemsRegistry.add("livechat_groups_start", LivechatStart, { sequence: 40 });
