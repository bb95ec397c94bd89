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

const TAB = ".o-mail-MessagingMenu-navbar .o-mail-MessagingMenu-tab";
const TAB_NAME = ".o-mail-MessagingMenu-tab";
const WAITING = ".o-livechat-groups-LivechatWaiting";
const START = ".o-livechat-groups-LivechatStart";
const CHAT_WINDOW = ".o-mail-ChatWindow";

/**
 * Open a tab of Discuss on a phone. Discuss goes back to its first tab when the window resizes,
 * which the emulated phone may do once while the page settles: tap again then, as a person would.
 */
function openTab(name) {
    return {
        content: `Open the ${name} tab`,
        trigger: `${TAB}:contains(${name})`,
        async run() {
            for (let tries = 0; tries < 5; tries++) {
                const tab = [...document.querySelectorAll(TAB)].find((el) => el.textContent.includes(name));
                if (tab.classList.contains("o-active")) {
                    return;
                }
                tab.click();
                await new Promise((resolve) => setTimeout(resolve, 500));
            }
            throw new Error(`the ${name} tab does not open`);
        },
    };
}

/** Finding 11: on a phone, an employee finds "Ask a Live Chat" under Discuss's Chat tab. */
tours.add("livechat_groups_mobile_employee_asks", {
    steps: () => [
        {
            content: "Discuss on a phone: its tabs at the bottom, no sidebar",
            trigger: `${TAB}:contains(Mailboxes) ~ ${TAB_NAME}:contains(Chat) ~ ${TAB_NAME}:contains(Channel)`,
        },
        {
            trigger: "body:not(:has(.o-mail-DiscussSidebar))",
        },
        openTab("Chat"),
        {
            content: "It offers the internal live chats the employee may ask",
            trigger: `${START}:contains(Ask a Live Chat) ${START}-item:contains(HR and Accounting Desk)`,
            run: "click",
        },
        {
            content: "The chat opens, named after the group that will answer",
            trigger: `${CHAT_WINDOW}-header:contains(General Helpdesk)`,
        },
        {
            content: "and says that the employee waits in its queue",
            trigger: `${CHAT_WINDOW} .o-mail-NotificationMessage:contains(you are number 1 in the queue of General Helpdesk)`,
        },
    ],
});

/**
 * Finding 11: on a phone, an operator finds their groups' waiting sessions under the Chat tab
 * (the Livechat tab appears once they hold a session).
 */
tours.add("livechat_groups_mobile_operator_takes", {
    steps: () => [
        openTab("Chat"),
        {
            content: "It lists the sessions waiting in my groups, with their group",
            trigger: `${WAITING}:contains(Waiting) ${WAITING}-item:contains(Marc):contains(General Support)`,
        },
        {
            content: "Take Marc's session",
            trigger: `${WAITING}-item:contains(Marc) ${WAITING}-take:contains(Take)`,
            run: "click",
        },
        {
            trigger: ".o_notification_manager .o_notification:contains(You took the session of Marc.)",
        },
        {
            content: "The conversation opens, named after the visitor, with the visitor's question",
            trigger: `${CHAT_WINDOW}-header:contains(Marc)`,
        },
        {
            trigger: `${CHAT_WINDOW} .o-mail-Message:contains(My order has not arrived)`,
        },
    ],
});
