import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");
const HISTORY = ".o-mail-Discuss-header button[name='livechat-groups-customer-history']";
const ROW = ".o_livechat_groups_history_row";
const LIVECHAT = "Web Shop Live Chat";

/** The operator opens the customer's history beside a WhatsApp session: his website session. */
tours.add("livechat_groups_customer_history", {
    steps: () => [
        {
            content: "Open the customer's history from the session's header",
            trigger: HISTORY,
            run: "click",
        },
        {
            content: "The panel is titled, and lists his earlier website session with Sonia, closed",
            trigger: `.o-mail-ActionPanel:contains(Customer History) ${ROW}:contains(Website):contains(${LIVECHAT}):contains(General Support):contains(Sonia Support):contains(Closed)`,
        },
        {
            content: "Each session has a link to open it",
            trigger: `${ROW} a.o_livechat_groups_history_link[href^='/odoo/action-im_livechat.discuss_channel_action/']`,
        },
        {
            content: "Only that one: not the session open now",
            trigger: `.o_livechat_groups_customer_history:not(:has(${ROW}:contains(WhatsApp)))`,
        },
    ],
});

/** An operator at an inactive tab hears of waiting customers. */
function services() {
    return odoo.__WOWL_DEBUG__.root.env.services;
}

/**
 * A website visitor asks. The test's browser sends only the operator's requests (each carries
 * the test's cookie), so the test gives the operator a way to have a visitor ask, as the
 * website's get_session does (TestWaitingNotificationTour).
 */
async function visitorAsks(name) {
    await services().orm.call("im_livechat.channel", "livechat_groups_test_visitor_asks", [[], name]);
}

tours.add("livechat_groups_waiting_notification", {
    steps: () => [
        {
            content: "Odoo is open, not in focus; the browser lets it notify (stand-ins that write what they show)",
            trigger: ".o-mail-DiscussSidebar",
            async run() {
                const shown = document.createElement("div");
                shown.className = "o_livechat_groups_test_desktop";
                document.body.append(shown);
                window.livechatGroupsDesktop = [];
                class DesktopNotification {
                    static permission = "granted";
                    constructor(title, { body }) {
                        this.listeners = [];
                        window.livechatGroupsDesktop.push(this);
                        const line = document.createElement("div");
                        line.className = "o_livechat_groups_test_desktop_line";
                        line.textContent = `${title} | ${body}`;
                        shown.append(line);
                    }
                    addEventListener(type, listener) {
                        this.listeners.push(listener);
                    }
                    close() {}
                }
                browser.Notification = DesktopNotification;
                const outOfFocus = services()["mail.out_of_focus"];
                window.livechatGroupsSounds = 0;
                outOfFocus._playSound = () => window.livechatGroupsSounds++;
                services().presence.isOdooFocused = () => false;
                // away: inactive for longer than stock's presence allows (31 minutes)
                const presence = services().presence;
                window.livechatGroupsInactivity = presence.getInactivityPeriod;
                presence.getInactivityPeriod = () => 31 * 60 * 1000;
                await visitorAsks("Paul");
            },
        },
        {
            content: "Away, the operator is not told of Paul, who waits on the Waiting list",
            trigger: ".o-livechat-groups-LivechatWaiting-item:contains(Paul)",
            async run() {
                await new Promise((resolve) => setTimeout(resolve, 1500));
                const lines = document.querySelectorAll(".o_livechat_groups_test_desktop_line");
                if (lines.length || window.livechatGroupsSounds) {
                    throw new Error(`away, yet ${lines.length} notifications, ${window.livechatGroupsSounds} sounds`);
                }
                services().presence.getInactivityPeriod = window.livechatGroupsInactivity;
                await visitorAsks("Nina");
            },
        },
        {
            content: "A desktop notification says who waits, where",
            trigger: ".o_livechat_groups_test_desktop_line:contains(A customer is waiting | Waiting: Nina in General Support (Web Shop Live Chat))",
            async run() {
                // the Waiting list refreshes, the bus may bring more: still one notification, one sound
                await new Promise((resolve) => setTimeout(resolve, 1500));
                const lines = document.querySelectorAll(".o_livechat_groups_test_desktop_line");
                if (lines.length !== 1 || window.livechatGroupsSounds !== 1) {
                    throw new Error(`${lines.length} notifications, ${window.livechatGroupsSounds} sounds`);
                }
                // a click brings Odoo to the front, on the Waiting list
                window.livechatGroupsDesktop[0].listeners.forEach((listener) => listener());
            },
        },
        {
            content: "The Waiting list shows Nina",
            trigger: ".o-livechat-groups-LivechatWaiting-item:contains(Nina)",
            async run() {
                // without the browser's permission, Odoo's own notification says it, with Take
                browser.Notification.permission = "denied";
                await visitorAsks("Omar");
            },
        },
        {
            content: "Odoo's notification says who waits, with a Take button",
            trigger: ".o_notification:contains(Waiting: Omar in General Support (Web Shop Live Chat)) button:contains(Take)",
            run: "click",
        },
        {
            content: "Omar's session opens, taken",
            trigger: ".o-mail-Discuss-header .o-mail-Discuss-threadName[title='Omar']",
        },
        {
            content: "Nina still waits; Omar does not any more",
            trigger: ".o-livechat-groups-LivechatWaiting:has(.o-livechat-groups-LivechatWaiting-item:contains(Nina)):not(:has(.o-livechat-groups-LivechatWaiting-item:contains(Omar)))",
        },
    ],
});
