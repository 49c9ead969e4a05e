# Everyday entry points. `make smoke` is the end-to-end check of every
# example: validate, test against its golden fixture, replay that recorded
# run, and run the acceptance packs. scripts/test is the full suite.

RB ?= $(if $(wildcard .venv/bin/rb),.venv/bin/rb,rb)

# Each example runbook with its golden fixture (rb test compares the outputs
# with expected/<fixture name>.json).
GOLDEN := \
	rb-001-entity-enrichment:fixtures/golden-scenarios.json \
	rb-002-database-failover-check:fixtures/database-failover-check.yaml \
	rb-002-database-failover-check:fixtures/database-failover-check--switchover.yaml \
	rb-003-canary-deployment:fixtures/canary-deployment.yaml \
	rb-004-tls-certificate-sweep:fixtures/tls-certificate-sweep.yaml

.PHONY: smoke validate golden acceptance test

smoke: validate golden acceptance

validate:
	$(RB) validate runbooks/ --strict

# `rb replay last` replays the run `rb test` has just recorded.
golden:
	@set -e; for pair in $(GOLDEN); do \
		runbook=$${pair%%:*}; fixture=$${pair#*:}; \
		echo "== rb test $$runbook --fixture $$fixture"; \
		$(RB) test "$$runbook" --fixture "$$fixture"; \
		echo "== rb replay last"; \
		$(RB) replay last; \
	done

acceptance:
	$(RB) acceptance

test:
	scripts/test
