{
    "name": "Live Chat Groups",
    "summary": "Groups of operators, specialists and supervisors for Odoo Live Chat: "
    "entry groups, waiting queues, forwarding and supervision",
    "version": "18.0.1.6.0",
    "category": "Website/Live Chat",
    "website": "https://github.com/livechat-groups/livechat_groups",
    "author": "livechat_groups developers",
    "maintainers": ["livechat-groups"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["im_livechat", "resource"],
    "external_dependencies": {"python": ["phonenumbers"]},
    "data": [
        "security/livechat_groups_security.xml",
        "security/ir.model.access.csv",
        "security/livechat_messenger_security.xml",
        "security/bus_presence_security.xml",
        "data/ir_cron_data.xml",
        "views/livechat_group_views.xml",
        "views/livechat_messenger_views.xml",
        "views/livechat_messenger_delivery_views.xml",
        "wizard/livechat_session_forward_views.xml",
        "wizard/livechat_session_assign_views.xml",
        "wizard/livechat_messenger_template_send_views.xml",
        "views/discuss_channel_views.xml",
        "views/im_livechat_channel_views.xml",
        "views/livechat_supervision_views.xml",
        "views/discuss_channel_messenger_views.xml",
        "views/livechat_rating_views.xml",
        "report/livechat_session_report_views.xml",
        "views/livechat_session_transfer_views.xml",
        "views/livechat_groups_menus.xml",
    ],
    "demo": [
        "demo/res_users_demo.xml",
        "demo/livechat_group_demo.xml",
        "demo/im_livechat_channel_demo.xml",
        "demo/discuss_channel_demo.xml",
        "demo/livechat_messenger_demo.xml",
        "demo/livechat_rating_demo.xml",
        "demo/livechat_history_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "livechat_groups/static/src/core/**/*",
            "livechat_groups/static/src/discuss/**/*",
            "livechat_groups/static/src/views/**/*",
            "livechat_groups/static/src/queue/**/*",
        ],
        "im_livechat.assets_embed_core": [
            "livechat_groups/static/src/embed/**/*",
            "livechat_groups/static/src/queue/**/*",
        ],
        # stock's test bundle of the embedded widget drops im_livechat's backend files, which our
        # backend files build on: it tests the widget (our embed patch included), not the backend
        "im_livechat.embed_assets_unit_tests_setup": [
            ("remove", "livechat_groups/static/src/core/**/*"),
            ("remove", "livechat_groups/static/src/discuss/**/*"),
            ("remove", "livechat_groups/static/src/views/**/*"),
            # in both the backend and the widget: once would be twice here
            ("remove", "livechat_groups/static/src/queue/**/*"),
        ],
        "web.assets_tests": [
            "livechat_groups/static/tests/tours/**/*",
        ],
    },
    "uninstall_hook": "uninstall_hook",
}
