import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";

// stock's bus.presence: a user inactive for longer is away (AWAY_TIMER)
const AWAY_DELAY = 30 * 60 * 1000;

/**
 * The bus channels of live chat groups and of the live chats one supervises follow one's
 * memberships: when they change, the server asks the web client to subscribe again.
 *
 * An operator given a session by someone else (the routing, a supervisor, a colleague's
 * forward) is told, and the session opens, as after a Take; in Discuss, it does not replace a
 * conversation the operator is in the middle of.
 *
 * No waiting customer missed: when a session starts waiting in a group, its available members
 * are told (``livechat_groups/session_waiting``, kind ``waiting``: one notification on the
 * group's channel, in every installed language; not told to who is away or whom the session
 * is for), and its live chat's
 * supervisors when it waits past the answer target (kind ``target``). While Odoo is in focus,
 * the Waiting list says it; out of focus, a desktop notification with a sound says it, once
 * per session, as Discuss does for a new message (``mail.out_of_focus``). A click on it brings
 * Odoo to the front and opens the Waiting list (or the supervision board). Browsers show
 * buttons in a desktop notification only when a service worker shows it: where Odoo cannot
 * show one (no permission), Odoo's own notification, with its sound, has a Take button.
 */
export const livechatGroupsBusService = {
    dependencies: ["action", "bus_service", "mail.out_of_focus", "mail.store", "multi_tab", "notification", "orm", "presence"],
    start(env, services) {
        const { bus_service, "mail.store": store, notification } = services;
        bus_service.subscribe("livechat_groups.resubscribe", () => bus_service.forceUpdateChannels());
        const toldWaiting = new Set();
        bus_service.subscribe("livechat_groups/session_waiting", (payload) => {
            const key = `${payload.kind}-${payload.id}`;
            if (toldWaiting.has(key)) {
                return;
            }
            if (payload.texts) {
                // a session waiting in one of our groups, told to the whole group: not for whom
                // it is for, nor for who is away (as stock's presence says), in our language
                const self = store.self;
                if (
                    (self?.type === "partner" && payload.customer_ids.includes(self.id)) ||
                    services.presence.getInactivityPeriod() > AWAY_DELAY
                ) {
                    return;
                }
                const texts = payload.texts[user.context.lang] || Object.values(payload.texts)[0];
                payload = { ...payload, ...texts };
            }
            toldWaiting.add(key);
            if (services.presence.isOdooFocused() && !document.hidden) {
                return;
            }
            notifyWaiting(env, services, payload);
        });
        bus_service.subscribe("livechat_groups/session_given", async ({ id, message }) => {
            const thread = await store.Thread.getOrFetch({ model: "discuss.channel", id });
            if (!thread) {
                return;
            }
            const close = notification.add(message, {
                type: "info",
                buttons: [
                    {
                        name: _t("Open"),
                        primary: true,
                        onClick: () => {
                            thread.open();
                            close();
                        },
                    },
                ],
            });
            const current = store.discuss?.isActive && store.discuss.thread;
            const busy =
                current &&
                current.notEq(thread) &&
                current.channel_type === "livechat" &&
                current.livechat_active &&
                current.livechat_routing_state === "assigned";
            if (!busy) {
                thread.open();
            }
        });
    },
};

/**
 * A desktop notification (or Odoo's own, without the browser's permission) with a sound, for
 * a session that waits.
 */
function notifyWaiting(env, services, { id, kind, title, message }) {
    const { action, "mail.out_of_focus": outOfFocus, orm } = services;
    const showWaiting = () =>
        kind === "target"
            ? action.doAction("livechat_groups.discuss_channel_action_livechat_supervision")
            : action.doAction("mail.action_discuss");
    if (outOfFocus.canSendNativeNotification) {
        if (!services.multi_tab.isOnMainTab()) {
            return; // the main tab tells it, once
        }
        const native = new browser.Notification(title, {
            body: message,
            icon: "/mail/static/src/img/odoobot_transparent.png",
            tag: `livechat_groups_${kind}_${id}`,
        });
        native.addEventListener("click", () => {
            window.focus();
            native.close();
            showWaiting();
        });
        outOfFocus._playSound();
        return;
    }
    let close = () => {};
    const buttons = [];
    if (kind === "waiting") {
        buttons.push({
            name: _t("Take"),
            primary: true,
            onClick: async () => {
                close();
                const data = await orm.call("discuss.channel", "livechat_take_session", [[id]]);
                const { Thread } = services["mail.store"].insert(data, { html: true });
                (Array.isArray(Thread) ? Thread[0] : Thread).open();
            },
        });
    }
    buttons.push({
        name: _t("Show"),
        onClick: () => {
            close();
            showWaiting();
        },
    });
    close = services.notification.add(message, { title, type: "warning", sticky: true, buttons });
    outOfFocus._playSound();
}

registry.category("services").add("livechat_groups.bus", livechatGroupsBusService);
