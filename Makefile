# livechat_groups — see README.md. Every target sets up what it needs (idempotent).
SHELL := /bin/bash
ODOO_SRC ?= /opt/odoo
export ODOO_SRC

.PHONY: help setup run standin test faults peer pytest lint format pot po bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup:  ## Virtualenv, Python packages, PostgreSQL and its role, Chromium
	bash scripts/setup.sh --browser

run:  ## Set up, create the demo database if needed, serve Odoo on http://localhost:8069
	bash scripts/run.sh

standin:  ## Play a WhatsApp customer of the demo (beside `make run`, stand-in in livechat_groups_tools/): type a line, Odoo answers
	python3 scripts/messenger_standin.py $(ARGS)

test:  ## Set up, then run every test (tours included) on a fresh database
	bash scripts/test.sh

faults:  ## Faults under load (killed workers, a restarting database, a failing provider) on a cluster of its own
	bash scripts/faults.sh

peer:  ## Stock's own suites (im_livechat, website_livechat, test_discuss_full, mail's Discuss) with the addon and its demo installed
	bash scripts/peer.sh

pytest:  ## Fast loop: pytest-odoo on the database of `make run` (DB=livechat_groups)
	bash scripts/pytest.sh $(ARGS)

lint:  ## ruff and pylint-odoo
	bash scripts/lint.sh

format:  ## Format the Python code with ruff
	bash scripts/lint.sh --fix

pot:  ## Regenerate i18n/livechat_groups.pot from a fresh database
	bash scripts/pot.sh

po:  ## Merge the .pot into every i18n/*.po and list the entries left to translate
	source scripts/common.sh && ensure_venv && "$$PY" scripts/i18n_sync.py $(ARGS)

bench:  ## Routing benchmark (stock against grouped, 50/500/2000 operators), a burst of visitors, the webhook intake, the figures at 1M sessions
	bash scripts/bench.sh $(ARGS)

clean:  ## Drop the databases and the test log (the virtualenv stays)
	-dropdb --if-exists livechat_groups_test
	-dropdb --if-exists livechat_groups_peer
	-dropdb --if-exists livechat_groups
	-dropdb --if-exists livechat_groups_bench
	-dropdb --if-exists livechat_groups_bench_burst
	-dropdb --if-exists livechat_groups_bench_handback
	-dropdb --if-exists livechat_groups_bench_figures
	-[ ! -f var/faults_pg/data/postmaster.pid ] || bash scripts/faults.sh --stop
	rm -rf var
