from . import livechat_groups_bench_row
