import { discussSidebarItemsRegistry } from "@mail/core/public_web/discuss_sidebar";
import { Component, onWillDestroy, onWillStart, status, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";

/** What the server sends the members of a group when its queue changes. */
export const QUEUE_UPDATE = "livechat_groups.queue_update";
const REFRESH_MS = 30000;

/**
 * "Waiting": the sessions waiting in the queues of the operator's groups, at the top of the
 * Discuss sidebar, each with a Take button. Taking one makes the operator its member and opens it.
 */
export class LivechatWaiting extends Component {
    static template = "livechat_groups.LivechatWaiting";
    static props = {};

    setup() {
        this.store = useState(useService("mail.store"));
        this.orm = useService("orm");
        this.notification = useService("notification");
        this.busService = useService("bus_service");
        this.state = useState({ sessions: [], open: true, taking: false });
        this.onQueueUpdate = () => this.load();
        this.busService.subscribe(QUEUE_UPDATE, this.onQueueUpdate);
        this.interval = setInterval(() => this.load(), REFRESH_MS);
        onWillStart(() => this.load());
        // destroyed, whether or not it was mounted (the list leaves the sidebar as soon as its
        // last session is taken): nothing may call the server for it any more
        onWillDestroy(() => {
            clearInterval(this.interval);
            this.busService.unsubscribe(QUEUE_UPDATE, this.onQueueUpdate);
        });
    }

    async load() {
        if (status(this) === "destroyed") {
            return;
        }
        this.state.sessions = await this.orm.silent.call(
            "discuss.channel",
            "livechat_waiting_sessions",
            []
        );
    }

    waitingText(session) {
        return session.minutes < 1
            ? _t("%(group)s · just now", { group: session.group })
            : _t("%(group)s · waiting for %(minutes)s min", {
                  group: session.group,
                  minutes: session.minutes,
              });
    }

    async onClickTake(session) {
        if (this.state.taking) {
            return;
        }
        this.state.taking = true;
        try {
            const data = await this.orm.call("discuss.channel", "livechat_take_session", [
                [session.id],
            ]);
            const { Thread } = this.store.insert(data, { html: true });
            const thread = Array.isArray(Thread) ? Thread[0] : Thread;
            thread.open();
            this.notification.add(
                _t("You took the session of %(visitor)s.", { visitor: session.visitor }),
                { type: "success" }
            );
        } finally {
            this.state.taking = false;
            await this.load();
        }
    }
}

discussSidebarItemsRegistry.add("livechat_groups_waiting", LivechatWaiting, { sequence: 25 });
