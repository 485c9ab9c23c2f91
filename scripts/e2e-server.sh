#!/usr/bin/env bash
# Starts Cairn ($CAIRN_BIN, by default the release build) for the end-to-end tests: fresh SQLite database, demo mode (so
# the mailbox shows outgoing mail), a low per-IP sign-in limit, 30 API requests per key and hour, and proxy headers trusted so a
# test can pose as another client address; webhooks may call the test's local receiver. The clock
# is a test clock the sequence test moves forward by days, so sessions last as long as the run needs.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export DATABASE_URL="sqlite://$data/cairn.db"
export LEPTOS_SITE_ADDR=${E2E_ADDR:-127.0.0.1:3100}
export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-$target_dir/site}
export CAIRN_DEMO=1 CAIRN_SIGN_IN_LIMIT_IP=5 CAIRN_API_RATE_LIMIT=30 CAIRN_TRUST_PROXY=1 CAIRN_WEBHOOK_ALLOW_PRIVATE=1 \
  CAIRN_TEST_CLOCK=1 CAIRN_SESSION_IDLE_MINUTES=525600 CAIRN_SESSION_ABSOLUTE_HOURS=8760 RUST_LOG=${RUST_LOG:-warn}
exec "${CAIRN_BIN:-$target_dir/release/cairn}"
