import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");
const FORWARD = ".o-mail-Discuss-header button[name='livechat-groups-forward']";

/** Open the Forward dialog with ``opener``, pick the group, look at who can answer, write the note, forward. */
function forwardSteps(opener, group, member, note) {
    return [
        {
            content: "Open the Forward dialog",
            trigger: opener,
            run: "click",
        },
        {
            content: "Before a group is picked, no warning stands in the dialog",
            trigger: ".modal .o_field_widget[name=group_id] input",
        },
        {
            trigger: ".modal:not(:has(.o_livechat_groups_closed:visible)):not(:contains(livechat.group))",
        },
        {
            content: `Forward to ${group}`,
            trigger: ".modal .o_field_widget[name=group_id] input",
            run: `edit ${group}`,
        },
        {
            trigger: `.o-autocomplete--dropdown-item:contains(${group})`,
            run: "click",
        },
        {
            content: "The dialog shows who can answer, and how busy they are",
            trigger: `.modal .o_livechat_groups_members tr:contains(${member}):contains(Available)`,
        },
        {
            content: "Leave a note for the specialist",
            trigger: ".modal .o_field_widget[name=note] textarea",
            run: `edit ${note}`,
        },
        {
            trigger: ".modal button[name=action_forward]",
            run: "click",
        },
    ];
}

/** Forward from the Discuss header; then the operator is out of the conversation. */
function forwardFromDiscussSteps(group, member, note) {
    return [
        ...forwardSteps(FORWARD, group, member, note),
        {
            content: "The dialog closed, and the forwarding operator left the conversation",
            trigger: `body:not(:has(.modal)):not(:has(${FORWARD}))`,
        },
    ];
}

/** A general operator forwards a session to Sales from Discuss, with a note. */
tours.add("livechat_groups_forward_from_discuss", {
    steps: () => [
        {
            content: "The visitor's question is in the conversation",
            trigger: ".o-mail-Message:contains(I need a quote for 40 seats)",
        },
        ...forwardFromDiscussSteps("Sales Department", "Selma Sales", "Wants a quote, big account"),
    ],
});

/** The specialist finds the conversation with its whole history and the note. */
tours.add("livechat_groups_specialist_reads_history", {
    steps: () => [
        {
            content: "The history before the forward",
            trigger: ".o-mail-Message:contains(I need a quote for 40 seats)",
        },
        {
            trigger: ".o-mail-Message:contains(Hello, how can I help?)",
        },
        {
            content: "The note of the general operator",
            trigger: ".o-mail-Message:contains(Wants a quote, big account)",
        },
        {
            content: "The notice the visitor got",
            trigger: ".o-mail-NotificationMessage:contains(You are transferred to Sales Department)",
        },
        {
            content: "The specialist may forward it again",
            trigger: FORWARD,
        },
    ],
});

/** An employee asks the internal live chat from the Discuss sidebar. */
tours.add("livechat_groups_employee_asks", {
    steps: () => [
        {
            content: "The Discuss sidebar offers the internal live chat",
            trigger: ".o-livechat-groups-LivechatStart-item:contains(HR and Accounting Desk)",
            run: "click",
        },
        {
            content: "The session opens, with its operator",
            trigger: ".o-mail-Composer-input[placeholder*='Hugo Helpdesk']",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "edit I was ill three days: how do I declare it?",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "press Enter",
        },
        {
            trigger: ".o-mail-Message:contains(how do I declare it?)",
        },
    ],
});

/** The general operator of the internal live chat forwards the employee to HR. */
tours.add("livechat_groups_helpdesk_forwards_to_hr", {
    steps: () => [
        {
            trigger: ".o-mail-Message:contains(how do I declare it?)",
        },
        ...forwardFromDiscussSteps("HR Department", "Hector Hr", "Sick leave, three days"),
    ],
});

/** The HR operator answers the employee. */
tours.add("livechat_groups_hr_answers", {
    steps: () => [
        {
            trigger: ".o-mail-Message:contains(Sick leave, three days)",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "edit Send us the doctor's note, we do the rest.",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "press Enter",
        },
        {
            trigger: ".o-mail-Message:contains(we do the rest)",
        },
    ],
});

/** The employee sees the answer, the notices, and not the operators' note. */
tours.add("livechat_groups_employee_reads_answer", {
    steps: () => [
        {
            content: "The employee was told of the transfer",
            trigger: ".o-mail-NotificationMessage:contains(You are transferred to HR Department)",
        },
        {
            content: "The answer of HR",
            trigger: ".o-mail-Message:contains(Send us the doctor's note, we do the rest.)",
        },
        {
            content: "The operators' note is not shown to the employee",
            trigger: ".o-mail-Thread:not(:has(.o-mail-Message:contains(Sick leave, three days)))",
        },
    ],
});

/** A supervisor forwards a session from its form, and reads its routing history there. */
tours.add("livechat_groups_forward_from_form", {
    steps: () => [
        {
            content: "The session is with General Support",
            trigger: ".o_field_widget[name=livechat_group_id]:contains(General Support)",
        },
        ...forwardSteps(".o_form_view .o_form_statusbar button:contains(Forward)", "Tech Support", "Theo Tech", "Printer on fire"),
        {
            content: "The form shows the new group",
            trigger: ".o_field_widget[name=livechat_group_id]:contains(Tech Support)",
        },
        {
            content: "The routing history lists the forward, with its note",
            trigger: ".o_field_widget[name=livechat_transfer_ids] .o_data_row:contains(Forwarded):contains(Printer on fire)",
        },
    ],
});

const CLOSE = ".o-mail-Discuss-header button[name='livechat-groups-close']";

/** The operator ends their session from the Discuss header, after a confirmation. */
tours.add("livechat_groups_operator_closes", {
    steps: () => [
        {
            trigger: ".o-mail-Message:contains(Thanks, that is all)",
        },
        {
            content: "Close the session from the header",
            trigger: CLOSE,
            run: "click",
        },
        {
            content: "The confirmation says what happens",
            trigger:
                ".modal:contains(Close this session?):contains(Ann will be told that the conversation ended, and you will be free for the next session.)",
        },
        {
            trigger: ".modal button:contains(Close the Session)",
            run: "click",
        },
        {
            content: "Confirmed",
            trigger: ".o_notification:contains(The session with Ann is closed.)",
        },
        {
            content: "The freed place went to the visitor who waited: the operator is told",
            trigger: ".o_notification:contains(New session: Bob (General Support))",
        },
        {
            trigger: "body:not(:has(.o_notification:contains(You have been invited)))",
        },
        {
            content: "Ann's conversation ended with the visitor's notice",
            trigger: ".o-mail-DiscussSidebarChannel:contains(Ann)",
            run: "click",
        },
        {
            trigger:
                ".o-mail-Thread:has(.o-mail-Message:contains(Thanks, that is all)) .o-mail-NotificationMessage:contains(Sonia Support ended the conversation. Thank you for writing to us)",
        },
        {
            content: "Nothing more to close there",
            trigger: `body:not(:has(${CLOSE}))`,
        },
        {
            content: "Bob's session is in the sidebar, and opens",
            trigger: ".o-mail-DiscussSidebarChannel:contains(Bob)",
            run: "click",
        },
        {
            content: "Bob's session may be closed in turn",
            trigger: CLOSE,
        },
    ],
});
