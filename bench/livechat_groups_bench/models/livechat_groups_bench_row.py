from odoo import fields, models


class LivechatGroupsBenchRow(models.Model):
    """One row per request of the reference route (bench/bench_webhook.py)."""

    _name = "livechat.groups.bench.row"
    _description = "Benchmark reference row"

    key = fields.Char()
