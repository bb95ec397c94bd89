import { registry } from "@web/core/registry";

/**
 * What people read, in the words they read it: conversation titles on both sides, the
 * confirmation after each action, the visitor's notices.
 */
const tours = registry.category("web_tour.tours");
const HEADER = ".o-mail-Discuss-header";
const NOTIFICATION = ".o_notification_manager .o_notification";
const WAITING = ".o-livechat-groups-LivechatWaiting";

/** Finding 1 and 2: an operator takes a waiting session from Discuss, and it is named after the visitor. */
tours.add("livechat_groups_operator_takes_from_discuss", {
    steps: () => [
        {
            content: "The sidebar lists the sessions waiting in my groups, with their group",
            trigger: `${WAITING}-item:contains(Marc):contains(General Support)`,
        },
        {
            content: "Take Marc's session",
            trigger: `${WAITING}-item:contains(Marc) ${WAITING}-take`,
            run: "click",
        },
        {
            content: "A confirmation in plain words",
            trigger: `${NOTIFICATION}:contains(You took the session of Marc.)`,
        },
        {
            content: "The conversation is named after the visitor, not after me",
            trigger: `${HEADER} .o-mail-Discuss-threadName[title='Marc']`,
        },
        {
            trigger: ".o-mail-Composer-input[placeholder='Message Marc…']",
        },
        {
            content: "The visitor's question is there",
            trigger: ".o-mail-Message:contains(My order has not arrived)",
        },
        {
            content: "It left the waiting list, and the sidebar names it after the visitor too",
            trigger: `body:not(:has(${WAITING}-item:contains(Marc))) .o-mail-DiscussSidebarChannel:contains(Marc)`,
        },
    ],
});

/** Finding 3: the employee reads the group's name while waiting. */
tours.add("livechat_groups_employee_waits_for_helpdesk", {
    steps: () => [
        {
            trigger: ".o-livechat-groups-LivechatStart-item:contains(HR and Accounting Desk)",
            run: "click",
        },
        {
            content: "While they wait, the chat is named after the group, not OdooBot",
            trigger: ".o-mail-Discuss-threadName[title='General Helpdesk'], .o-mail-ChatWindow-header:contains(General Helpdesk)",
        },
        {
            trigger: ".o-mail-NotificationMessage:contains(you are number 1 in the queue of General Helpdesk)",
        },
    ],
});

/** Finding 3: once answered, the employee reads the operator's name. */
tours.add("livechat_groups_employee_reads_operator_name", {
    steps: () => [
        {
            content: "The chat is named after the operator who answers",
            trigger: `${HEADER} .o-mail-Discuss-threadName[title='Hugo Helpdesk']`,
        },
        {
            trigger: ".o-mail-DiscussSidebarChannel:contains(Hugo Helpdesk)",
        },
        {
            content: "and not after OdooBot",
            trigger: "body:not(:has(.o-mail-DiscussSidebarChannel:contains(OdooBot):contains(Hugo)))",
        },
    ],
});

/** Finding 4 and 8: the forwarding operator reads where the session went, and nothing else. */
tours.add("livechat_groups_forward_says_where", {
    steps: () => [
        {
            trigger: `${HEADER} .o-mail-Discuss-threadName[title='Ann']`,
        },
        {
            trigger: `${HEADER} button[name='livechat-groups-forward']`,
            run: "click",
        },
        {
            content: "I am in the conversation: I may stay in it",
            trigger: ".modal .o_field_widget[name=stay]",
        },
        {
            trigger: ".modal .o_field_widget[name=group_id] input",
            run: "edit Sales Department",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Sales Department)",
            run: "click",
        },
        {
            content: "The dialog says what the group answers",
            trigger: ".modal .o_field_widget[name=group_description]:contains(Prices and quotations)",
        },
        {
            content: "Pick an expert who is offline",
            trigger: ".modal .o_field_widget[name=user_id] input",
            run: "edit Silas",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Silas Sales)",
            run: "click",
        },
        {
            content: "A warning says that they are not online",
            trigger: ".modal .o_livechat_groups_expert_warning:contains(Silas Sales is not online)",
        },
        {
            content: "Pick Selma, who is online, instead",
            trigger: ".modal .o_field_widget[name=user_id] input",
            run: "edit Selma",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Selma Sales)",
            run: "click",
        },
        {
            content: "The warning is gone",
            trigger: ".modal:not(:has(.o_livechat_groups_expert_warning:contains(not online)))",
        },
        {
            trigger: ".modal .o_field_widget[name=note] textarea",
            run: "edit Wants a quote, big account",
        },
        {
            trigger: ".modal button[name=action_forward]",
            run: "click",
        },
        {
            content: "The confirmation says who has the session now, and that I left it",
            trigger: `${NOTIFICATION}:contains(Ann is now with Selma Sales (Sales Department).):contains(You left the conversation.)`,
        },
        {
            content: "No stock notice, no pop-up of the visitor's notices",
            trigger: `body:not(:has(${NOTIFICATION}:contains(unsubscribed))):not(:has(${NOTIFICATION}:contains(You are transferred)))`,
        },
        {
            content: "Discuss moves on to my next session, Bob's, not to a channel",
            trigger: `${HEADER} .o-mail-Discuss-threadName[title='Bob']`,
        },
    ],
});

/** Finding 8: the specialist sees the note marked as an internal note, in a session named after the visitor. */
tours.add("livechat_groups_specialist_sees_note", {
    steps: () => [
        {
            trigger: `${HEADER} .o-mail-Discuss-threadName[title='Ann']`,
        },
        {
            content: "The forward's note is marked as an internal note",
            trigger: ".o-mail-Message:contains(Wants a quote, big account) .o-livechat-groups-NoteBadge:contains(Internal note)",
        },
        {
            content: "The visitor's own message is not",
            trigger: ".o-mail-Message:contains(I need a quote):not(:has(.o-livechat-groups-NoteBadge))",
        },
    ],
});

/** Finding 8: a supervisor who is not in the conversation is not offered to stay in it. */
tours.add("livechat_groups_supervisor_forward_dialog", {
    steps: () => [
        {
            trigger: ".o_kanban_record:contains(Ann) .o_livechat_groups_forward",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=group_id] input",
        },
        {
            content: "No 'Stay in the conversation' for who is not in it",
            trigger: ".modal:not(:has(.o_field_widget[name=stay]))",
        },
        {
            trigger: ".modal-footer button.btn-secondary",
            run: "click",
        },
    ],
});

/** Finding 6: the board's columns say who can answer; Assign confirms and warns. */
tours.add("livechat_groups_board_says_what_happened", {
    steps: () => [
        {
            trigger: ".o_control_panel .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_group_by_menu .o_menu_item:contains(Operator)",
            run: "click",
        },
        {
            content: "The column of sessions nobody holds is 'Waiting', not 'None'",
            trigger: ".o_kanban_group .o_column_title:contains(Waiting)",
        },
        {
            trigger: "body:not(:has(.o_kanban_group .o_column_title:contains(None)))",
        },
        {
            content: "Each operator's column says whether they can answer and how many sessions they hold",
            trigger: ".o_kanban_group .o_column_title:contains(Sonia Support (Available · 1 open))",
        },
        {
            trigger: ".o_kanban_group .o_column_title:contains(Silas Sales (Offline · 0 open))",
        },
        {
            trigger: ".o_kanban_record:contains(Bob) .o_livechat_groups_assign",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=user_id] input",
            run: "edit Silas",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(Silas Sales)",
            run: "click",
        },
        {
            trigger: ".modal-footer button[name=action_assign]",
            run: "click",
        },
        {
            content: "The confirmation says where the session is, and warns that Silas is offline",
            trigger: `${NOTIFICATION}:contains(Bob is now with Silas Sales (Sales Department).):contains(Silas Sales is not online)`,
        },
    ],
});

/** Finding 1: an operator opens a waiting session from Live Chat's sessions without an access error, and takes it. */
tours.add("livechat_groups_operator_takes_from_sessions", {
    steps: () => [
        {
            trigger: ".o_kanban_record:contains(Marc)",
            run: "click",
        },
        {
            content: "The session's form opens (not an access error), with Take",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Waiting)",
        },
        {
            trigger: ".o_form_view button[name=action_livechat_take_open]",
            run: "click",
        },
        {
            trigger: `${NOTIFICATION}:contains(You took the session of Marc.)`,
        },
        {
            content: "Discuss opens on it, named after the visitor",
            trigger: `${HEADER} .o-mail-Discuss-threadName[title='Marc']`,
        },
    ],
});

/** Finding 10: the figures say what they count, and durations read minutes:seconds. */
tours.add("livechat_groups_figures_read_plainly", {
    steps: () => [
        {
            content: "The share counts closed sessions, and says so",
            trigger: ".o_pivot .o_pivot_measure_row:contains(Closed in Entry Group (% of Closed))",
        },
        {
            trigger: ".o_pivot .o_pivot_measure_row:contains(Waiting Time (mm:ss))",
        },
        {
            content: "A duration reads 02:30, not 2.50",
            trigger: ".o_pivot td.o_pivot_cell_value:contains(02:30)",
        },
    ],
});

/** Finding 9: an internal grouped live chat shows no stock control that means nothing for it. */
tours.add("livechat_groups_no_meaningless_controls", {
    steps: () => [
        {
            content: "The page is not only for the website's live chats",
            trigger: ".o_breadcrumb:contains(Live Chat Channels):not(:contains(Website))",
        },
        {
            trigger: ".o_form_view .o_notebook .nav-link:contains(Groups)",
        },
        {
            content: "No Join: groups route its sessions",
            trigger: ".o_form_view:not(:has(button[name=action_join])):not(:has(button[name=action_quit]))",
        },
        {
            content: "No widget, no rules, no link to share for an internal live chat",
            trigger: ".o_form_view .o_notebook:not(:has(.nav-link:contains(Widget))):not(:has(.nav-link:contains(Channel Rules)))",
        },
    ],
});

/** Routing Hops: every change of hands of the month, with its reason; a row opens its session. */
registry.category("web_tour.tours").add("livechat_groups_routing_hops", {
    steps: () => [
        {
            content: "The routing's hop, with its visitor and its reason",
            trigger: ".o_list_view .o_data_row:contains(Routed):contains(General Support) td[name=session_visitor_name]:contains(Ann)",
        },
        {
            content: "The supervisor's assignment",
            trigger: ".o_list_view .o_data_row:contains(Assigned):contains(Sonia Support) td[name=kind]",
            run: "click",
        },
        {
            content: "The row opened its session, with its history",
            trigger: ".o_form_view .o_notebook:contains(Routing History) .o_data_row:contains(Assigned)",
        },
        {
            content: "No empty picture beside a session never rated",
            trigger: ".o_form_view:not(:has(.o_field_widget[name=rating_last_image]))",
        },
        {
            trigger: ".o_form_view .o_breadcrumb:contains(Routing Hops)",
        },
    ],
});
