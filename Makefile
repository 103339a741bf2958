# HPMS developer commands. Without DATABASE_URL / DATABASE_ADMIN_URL in the environment, every
# target uses the private PostgreSQL cluster of scripts/devdb.sh (under .pg/, git-ignored).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

CARGO ?= cargo
HPMS := target/debug/hpms
# The demo users' password (src/server/demo.rs); development only.
DEMO_PASSWORD := demo-password-123
# Evaluated per recipe: the caller's URLs when both are given, else the private cluster's.
DB_ENV = if [ -n "$${DATABASE_URL:-}" ] && [ -n "$${DATABASE_ADMIN_URL:-}" ]; then :; \
	elif [ -n "$${DATABASE_URL:-}$${DATABASE_ADMIN_URL:-}" ]; then \
	  echo "Set both DATABASE_URL and DATABASE_ADMIN_URL, or neither (to use the private cluster)." >&2; exit 2; \
	else cluster_env=$$(scripts/devdb.sh env) || exit 1; eval "$$cluster_env"; fi

.PHONY: run test test-citus bench bench-profile bench-export bench-citus bench-smoke bench-subscriptions soak migrate schema db-env db-stop build check

build:
	$(CARGO) build --workspace

## run: database up, migrate, load the demo, serve GraphiQL on http://127.0.0.1:8080/graphql
run: build
	@$(DB_ENV); $(HPMS) migrate && \
	  HPMS_SYSTEM_ADMIN_PASSWORD=$(DEMO_PASSWORD) $(HPMS) create-system-admin --username sysadmin && \
	  $(HPMS) seed-demo && \
	  printf '%s\n' "" \
	    "HPMS is starting: GraphiQL on http://$${HPMS_LISTEN:-127.0.0.1:8080}/graphql" \
	    "Demo logins (password $(DEMO_PASSWORD) for all):" \
	    "  tenant platform:              sysadmin (SystemAdmin)" \
	    "  tenant northside, riverside:  admin (ClinicAdmin), provider, billing, frontdesk" \
	    "In GraphiQL: run the SignIn tab with the password in its Variables, paste the token it returns" \
	    "into the Headers editor, then try the other tabs (the operations in examples/)." "" && \
	  exec $(HPMS) serve

## test: formatting and lints, then database up, migrate a template database, run every test against clones of it
test: check build
	@$(DB_ENV); scripts/test.sh

## test-citus: the scale-out suite alone, on a fresh three-node Citus cluster (scripts/citus_cluster.sh)
test-citus: build
	@scripts/test_citus.sh $(HPMS)

## bench: release build; the synthetic dataset (1M appointments by default), then each scenario at 8 and 32 connections
bench:
	$(CARGO) build --release --workspace
	@$(DB_ENV); bench/run.sh target/release/hpms target/release/hpms-loadgen

## bench-profile: where scenario (a)'s database CPU goes, statement by statement (pgbench; after make bench)
bench-profile:
	@$(DB_ENV); bench/profile_database.sh

## bench-export: release build; the FHIR $export of the dataset's clinic and of a 100k-patient clinic, checked against the database
bench-export:
	$(CARGO) build --release --workspace
	@$(DB_ENV); bench/export.sh target/release/hpms

## bench-citus: release build; scenario (a) on a three-node Citus cluster against one PostgreSQL, same dataset
bench-citus:
	$(CARGO) build --release --workspace
	@$(DB_ENV); bench/citus.sh target/release/hpms target/release/hpms-loadgen

## bench-smoke: the benchmark on a tiny dataset for a second a scenario (make test runs it, so it cannot rot)
bench-smoke: build
	@$(DB_ENV); scripts/bench_smoke.sh

## soak: 10 minutes of the mixed load on a release build, the private database restarted halfway; errors by code, p99 and memory per 30 s
soak:
	$(CARGO) build --release --workspace
	scripts/soak.sh

## bench-subscriptions: 1,000 subscribers x a burst of 1,000 events on a release build; prints latency and memory
bench-subscriptions:
	@$(DB_ENV); scripts/bench_subscriptions.sh

## migrate: apply pending migrations to the database
migrate: build
	@$(DB_ENV); $(HPMS) migrate

## schema: regenerate schema.graphql from the code, and schema.sql from a scratch database the migrations make
schema: build
	$(HPMS) schema > schema.graphql
	@$(DB_ENV); scripts/dump_schema.sh --fresh $(HPMS) > target/schema.sql.new && mv target/schema.sql.new schema.sql

## db-env: print export lines for the private cluster's URLs (starting it if needed)
db-env:
	@scripts/devdb.sh env

## db-stop: stop the private cluster
db-stop:
	@scripts/devdb.sh stop

## check: formatting and lints, as CI expects them
check:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
