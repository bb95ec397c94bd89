import { registry } from "@web/core/registry";

const card = (visitor) => `.o_kanban_record:contains(${visitor})`;
const waitingColumn = ".o_kanban_group:has(.o_column_title:contains(Waiting))";

/** A supervisor watches the first-answer clocks tick and colour on the board, without reloading. */
registry.category("web_tour.tours").add("livechat_groups_board_target_clock", {
    steps: () => [
        {
            content: "Ann waits for 1 minute: on time against the 5-minute target",
            trigger: `${card("Ann")} .o_livechat_groups_target_on_time .o_livechat_groups_clock_label:contains(since the request · on time · target 5 min)`,
        },
        {
            content: "A request that just arrived does not read 'Waiting for 0 min'",
            trigger: `${card("Fay")} .text-warning:contains(Waiting: just arrived)`,
        },
        {
            content: "A closed card says so",
            trigger: `${card("Eve")} .o_livechat_groups_closed_mark:contains(Closed after)`,
        },
        {
            content: "Bob waits for 4 minutes: at risk",
            trigger: `${card("Bob")} .o_livechat_groups_target_at_risk .o_livechat_groups_clock_label:contains(at risk)`,
        },
        {
            content: "Cid waits for 6 minutes: breached",
            trigger: `${card("Cid")} .o_livechat_groups_target_breached .o_livechat_groups_clock_label:contains(breached)`,
        },
        {
            content: "Dan got an answer after 2 minutes: on time, and his clock stopped",
            trigger: `${card("Dan")} .o_livechat_groups_target_on_time .o_livechat_groups_clock_label:contains(first answer · on time)`,
        },
        {
            content: "The Waiting column counts its sessions against the target, and its oldest wait",
            trigger: `${waitingColumn} .o_livechat_groups_column_stats:contains(2 on time):contains(1 at risk):contains(1 breached):contains(Oldest waiting: 6:)`,
        },
        {
            content: "Dan's card says why the routing chose his operator",
            trigger: `${card("Dan")} .o_livechat_groups_reason:contains(least busy of 1 available in General Support)`,
        },
        {
            content: "The clocks tick without a reload; the stopped one does not",
            trigger: `${card("Ann")} .o_livechat_groups_clock_time`,
            async run() {
                const text = (visitor) =>
                    [...document.querySelectorAll(".o_kanban_record")]
                        .find((el) => el.textContent.includes(visitor))
                        .querySelector(".o_livechat_groups_clock_time").textContent;
                const before = { ann: text("Ann"), dan: text("Dan") };
                await new Promise((resolve) => setTimeout(resolve, 2500));
                if (text("Ann") === before.ann) {
                    throw new Error(`Ann's clock did not move from ${before.ann}`);
                }
                if (text("Dan") !== before.dan || before.dan !== "2:00") {
                    throw new Error(`Dan's answered clock should stay at 2:00, shows ${text("Dan")}`);
                }
            },
        },
        {
            content: "and Bob's clock still reads four minutes and some seconds",
            trigger: `${card("Bob")} .o_livechat_groups_clock_time:contains(4:)`,
        },
    ],
});

/** After a shift change: the operator who did not answer in time no longer has the session. */
registry.category("web_tour.tours").add("livechat_groups_lapsed_session_gone", {
    steps: () => [
        {
            content: "The session he answered is still his",
            trigger: ".o-mail-DiscussSidebarChannel:contains(Bob)",
        },
        {
            content: "The one he let lapse left his Discuss",
            trigger: "body:not(:has(.o-mail-DiscussSidebarChannel:contains(Ann)))",
        },
    ],
});

/** After a shift change: who was given the session finds it, and reads why in it. */
registry.category("web_tour.tours").add("livechat_groups_lapsed_session_given", {
    steps: () => [
        {
            content: "The session given to her is in her Discuss",
            trigger: ".o-mail-DiscussSidebarChannel:contains(Ann)",
            run: "click",
        },
        {
            content: "The visitor was told that someone else answers",
            trigger: ".o-mail-Thread .o-mail-NotificationMessage:contains(Sorry for the wait: another operator will answer you.)",
        },
        {
            content: "The staff's note says who left and who answers now, once",
            trigger:
                ".o-mail-Thread .o-mail-NotificationMessage:contains(Sonia Support left the conversation: Simon Support answers it now.)",
            run() {
                const notes = [...document.querySelectorAll(".o-mail-Thread .o-mail-NotificationMessage")].filter(
                    (el) => el.textContent.includes("left the conversation")
                );
                if (notes.length !== 1) {
                    throw new Error(`${notes.length} notes of who left`);
                }
            },
        },
        {
            content: "Nobody's 'joined' or 'invited' is shown",
            trigger: ".o-mail-Thread:not(:has(.o-mail-NotificationMessage:contains(invited))):not(:has(:contains(joined the channel)))",
        },
        {
            content: "She may answer: the composer is hers",
            trigger: ".o-mail-Composer-input",
        },
    ],
});
