{
    "name": "Live Chat Groups: Webhook While the Database Is Away",
    "summary": "Loaded server-wide, the messengers' webhook answers 503 and Retry-After while Odoo "
    "cannot reach the database, so that WhatsApp and Telegram deliver again",
    "version": "18.0.1.0.0",
    "category": "Website/Live Chat",
    "website": "https://github.com/livechat-groups/livechat_groups",
    "author": "livechat_groups developers",
    "maintainers": ["livechat-groups"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["web"],
    "data": [],
    "installable": True,
}
