# Cairn — the two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build output lives outside the clone so fresh clones (CI) reuse earlier builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/cairn/target
export LEPTOS_SITE_ROOT ?= $(CARGO_TARGET_DIR)/site
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# A clean clone in CI compiles the workspace's crates once: incremental caches would only fill the
# disk (tens of GB across the test, server and wasm builds).
ifeq ($(CI),true)
export CARGO_INCREMENTAL ?= 0
endif
CARGO_TEST_FLAGS ?=
# What `make test` serves to Chromium, schemathesis and the crash test: `test` (the default) is a
# debug server, sharing every compiled dependency with the integration tests, and a quickly built
# size-optimized wasm, which roughly halves a cold CI build; `TEST_BUILD=release` tests the
# optimized build `make run` serves.
TEST_BUILD ?= test
export CAIRN_BIN ?= $(CARGO_TARGET_DIR)/$(if $(filter release,$(TEST_BUILD)),release,debug)/cairn

.PHONY: help setup build build-debug build-test run test test-unit test-sqlite test-postgres test-api-schema test-e2e bench bench-size fmt lint clean

help:
	@echo "make run     build and serve Cairn at http://127.0.0.1:3000 (SQLite, demo data)"
	@echo "make test    run every test: unit, integration (SQLite + PostgreSQL), end-to-end"
	@echo "make bench        benchmarks (prompt library, scheduler vs pg-boss/graphile-worker) -> docs/benchmarks.md"
	@echo "make bench-size   size of the hydrate wasm and JS glue (raw and brotli)"

setup:
	@scripts/setup.sh

build: setup
	scripts/build-site.sh release

build-debug: setup
	scripts/build-site.sh debug

build-test: setup
	scripts/build-site.sh $(TEST_BUILD)

run: build
	DATABASE_URL="$${DATABASE_URL:-sqlite://data/cairn.db}" "$(CARGO_TARGET_DIR)/release/cairn"

test: setup test-unit test-sqlite test-postgres test-api-schema test-e2e test-kill
	@echo "All test suites passed."

test-unit:
	cargo test $(CARGO_TEST_FLAGS) -p app --features ssr --lib
	cargo test $(CARGO_TEST_FLAGS) -p server --lib

test-sqlite:
	CAIRN_TEST_DATABASE=sqlite cargo test $(CARGO_TEST_FLAGS) -p server --test '*'

test-postgres:
	CAIRN_TEST_DATABASE=postgres cargo test $(CARGO_TEST_FLAGS) -p server --test '*'

# schemathesis against the OpenAPI document, on SQLite and PostgreSQL (scripts/api-schema-test.sh).
test-api-schema: build-test
	scripts/api-schema-test.sh

test-e2e: build-test
	cd end2end && npx playwright test

# The scheduler's crash test: SIGKILL at random moments, every step delivered exactly once.
test-kill: build-test
	scripts/kill-test.sh

bench: build
	@scripts/bench.sh

bench-size: build
	@scripts/bench-size.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy -p app --features ssr -p server --features server/bench --all-targets -- -D warnings

clean:
	rm -rf "$(CARGO_TARGET_DIR)" data
