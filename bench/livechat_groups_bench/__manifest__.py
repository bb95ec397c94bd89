{
    "name": "Live Chat Groups: benchmark reference",
    "summary": "Test-only: an empty route that inserts one row, the reference of the webhook bench",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "author": "livechat_groups developers",
    "license": "LGPL-3",
    "depends": ["base"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
