import { threadActionsRegistry } from "@mail/core/common/thread_actions";
import { ActionPanel } from "@mail/discuss/core/common/action_panel";
import { Component, onWillStart, onWillUpdateProps, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { useService } from "@web/core/utils/hooks";

/**
 * The customer's earlier sessions, on every channel (website, WhatsApp, Telegram, internal),
 * most recent first, in the session's side panel. The server reads them with the reader's
 * rights: an operator sees the sessions they took part in, a supervisor those of their live
 * chats.
 */
export class LivechatCustomerHistory extends Component {
    static components = { ActionPanel };
    static props = ["thread"];
    static template = "livechat_groups.CustomerHistory";

    setup() {
        this.orm = useService("orm");
        this.state = useState({ rows: [], loaded: false });
        onWillStart(() => this.load(this.props.thread));
        onWillUpdateProps((nextProps) => {
            if (nextProps.thread.notEq(this.props.thread)) {
                return this.load(nextProps.thread);
            }
        });
    }

    async load(thread) {
        this.state.rows = await this.orm.call("discuss.channel", "livechat_customer_history", [[thread.id]]);
        this.state.loaded = true;
    }

    formatDate(value) {
        return formatDateTime(deserializeDateTime(value));
    }

    mediumIcon(row) {
        return (
            {
                whatsapp: "fa fa-whatsapp",
                telegram: "fa fa-telegram",
                internal: "fa fa-building-o",
            }[row.medium] || "fa fa-globe"
        );
    }
}

threadActionsRegistry.add("livechat-groups-customer-history", {
    condition(component) {
        const thread = component.thread;
        return (
            thread?.model === "discuss.channel" &&
            thread.channel_type === "livechat" &&
            component.store.self.isInternalUser &&
            !thread.livechatGroupsIsRequester &&
            (!component.props.chatWindow || component.props.chatWindow.isOpen)
        );
    },
    component: LivechatCustomerHistory,
    icon: "fa fa-fw fa-history",
    iconLarge: "fa fa-fw fa-lg fa-history",
    name: _t("Customer History"),
    sequence: 12,
    sequenceGroup: 10,
    toggle: true,
});
