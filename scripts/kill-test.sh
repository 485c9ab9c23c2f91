#!/usr/bin/env bash
# The scheduler's crash test (docs/scheduler.md) against a build of Cairn ($CAIRN_BIN, by default the release build): seeds
# subscriptions with due steps, kills the server with SIGKILL at random moments, restarts it, and
# checks every step was delivered exactly once. SQLite with one instance, PostgreSQL with two.
# Environment: KILL_SUBSCRIPTIONS (1000), KILL_KILLS (5).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --quiet -p server --bin cairn-killtest
driver="$CARGO_TARGET_DIR/debug/cairn-killtest"
server="${CAIRN_BIN:-$CARGO_TARGET_DIR/release/cairn}"
subscriptions=${KILL_SUBSCRIPTIONS:-1000}
kills=${KILL_KILLS:-5}
"$driver" --server "$server" --backend sqlite --subscriptions "$subscriptions" --kills "$kills" --instances 1
"$driver" --server "$server" --backend postgres --subscriptions "$subscriptions" --kills "$kills" --instances 2
