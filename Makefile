# UniMatch: `make run` starts everything, `make test` runs every test.
# Both create .venv with Python 3.11 and install what is needed on first use.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := shared services/auth services/profile services/matching services/notifier tools
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=
REPLAY_ARGS ?=

.PHONY: run test test-unit test-fast test-e2e test-faults lint format pairs bench-matching bench-notifier \
	asyncapi lock clean fuzz audit bench-api replay-dead-letters test-compose nats-config

$(INSTALLED): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt \
		$(foreach p,$(PACKAGES),-e $(p))
	touch $@

## Start the whole system; the gateway listens on UNIMATCH_PORT (default 8000). Ctrl-C stops it.
run: $(INSTALLED)
	$(BIN)/python -m unimatch_stack.run

## The whole test suite (see README: infrastructure from the environment, Docker or embedded).
test: $(INSTALLED)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## Domain rules and shared plumbing only: no servers, a few seconds.
test-unit: $(INSTALLED)
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

## The edit-test loop: everything but the slow, fault and fuzz tests (markers in pyproject.toml).
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest -q -m "not slow and not faults and not fuzz" $(PYTEST_ARGS)

test-e2e: $(INSTALLED)
	$(BIN)/python -m pytest -q tests/e2e $(PYTEST_ARGS)

## Kill NATS, PostgreSQL and consumers under traffic (docs/faults.md); also part of `make test`.
test-faults: $(INSTALLED)
	$(BIN)/python -m pytest -q tests/faults $(PYTEST_ARGS)

## docker-compose.yml on a real Docker engine: images pulled or, with no registry, built here
## from Debian's packages (tools/compose_standins/), the stack up and healthy, the contract
## through the gateway, containers restarted without loss, everything taken down. Needs a
## running engine and says what is missing; not part of `make test` (README, Operations).
test-compose: $(INSTALLED)
	$(BIN)/python -m unimatch_stack.compose
	$(BIN)/python -m pytest -q tests/compose --compose $(PYTEST_ARGS)

## Schemathesis against every service's OpenAPI document through the gateway (bounded, for CI;
## also part of `make test`).
fuzz: $(INSTALLED)
	$(BIN)/python -m pytest -q tests/fuzz $(PYTEST_ARGS)

## Known vulnerabilities in constraints.txt (pip-audit); says so when it cannot reach the data.
audit: $(INSTALLED)
	$(BIN)/python -m unimatch_stack.audit

## ruff check, ruff format --check and mypy (strict on shared/ and the services' domain/,
## [tool.mypy] in pyproject.toml). Not part of `make test`.
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff format .

## Group the users of a workload file: make pairs IN=workload.json OUT=groups.json
pairs: $(INSTALLED)
	$(BIN)/python -m matching_service.cli.pairs $(IN) $(OUT)

bench-matching: $(INSTALLED)
	$(BIN)/python -m benchmarks.bench_matching

bench-notifier: $(INSTALLED)
	$(BIN)/python -m benchmarks.bench_notifier

## wrk through the gateway of a fresh stack: each endpoint, logins, and a login flood
## (docs/benchmarks.md). Needs wrk (apt-get install wrk). BENCH_ARGS="--seconds 3 --rounds 1"
bench-api: $(INSTALLED)
	$(BIN)/python -m benchmarks.bench_api $(BENCH_ARGS)

## Re-publish the events parked on the dead-letter stream to their subjects, after a fix
## (docs/adr/007; consumers that applied one already skip it). NATS_URL (default: `make run`'s
## embedded NATS) and UNIMATCH_EVENT_PREFIX as the services'. REPLAY_ARGS="--dry-run",
## "--subject user.registered" (repeatable).
replay-dead-letters: $(INSTALLED)
	NATS_URL="$${NATS_URL:-nats://127.0.0.1:14222}" $(BIN)/python -m unimatch_shared.dead_letters $(REPLAY_ARGS)

## Regenerate docs/asyncapi/*.yaml from the services' FastStream brokers.
asyncapi: $(INSTALLED)
	$(BIN)/python -m unimatch_stack.asyncapi docs/asyncapi

## Re-pin constraints.txt from the current environment.
lock: $(INSTALLED)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

## Removes the venv and var/ (data of `make run`, the compose stand-ins' Debian rootfs); an
## interrupted debootstrap may have left its /proc mounted in there: unmounted first.
clean:
	-grep -o ' $(CURDIR)/var/[^ ]*' /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount --lazy
	rm -rf $(VENV) var

## compose's NATS users and permissions (deploy/nats-server.conf), from unimatch_shared/access.py;
## run it after adding an event or request there (tests/test_compose_credentials.py checks).
nats-config: $(INSTALLED)
	$(BIN)/python -m unimatch_stack.credentials
