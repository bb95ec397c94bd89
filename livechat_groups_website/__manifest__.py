{
    "name": "Live Chat Groups: Website",
    "summary": "The website's live chat button reaches the groups of livechat_groups; "
    "installed by itself beside the website's live chat",
    "version": "18.0.1.0.0",
    "category": "Website/Live Chat",
    "website": "https://github.com/livechat-groups/livechat_groups",
    "author": "livechat_groups developers",
    "maintainers": ["livechat-groups"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["livechat_groups", "website_livechat"],
    "demo": ["demo/website_demo.xml"],
    "auto_install": True,
}
