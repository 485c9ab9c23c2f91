#!/usr/bin/env bash
# Checks the REST API against its own OpenAPI document with schemathesis: starts Cairn on a fresh
# database with demo data (SQLite, then PostgreSQL), makes a write API key for the demo Owner,
# and lets schemathesis generate requests for every operation. It fails on any 5xx answer, any
# status code the document does not list, and any body or content type that does not match it.
#
# Environment: CAIRN_BIN (default: the release build), SCHEMA_BACKENDS ("sqlite postgres"),
# SCHEMA_EXAMPLES (test cases per operation and phase, 40), SCHEMA_PORT (3200),
# POSTGRES_URL (postgres://postgres@127.0.0.1:5432).
#
# One worker: with several, Python 3.11's parser can fail inside hypothesis ("AST constructor
# recursion depth mismatch", a CPython race between threads), failing the run for no fault of
# the API.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
bin=${CAIRN_BIN:-$target_dir/release/cairn}
venv=${CAIRN_VENV:-$HOME/.cache/cairn/venv}
port=${SCHEMA_PORT:-3200}
base="http://127.0.0.1:$port"
pg=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
server_pid=
database=

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$database" ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

run_against() {
  local backend=$1 url
  if [ "$backend" = postgres ]; then
    database="cairn_schema_$$"
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $database" >/dev/null
    psql "$pg/postgres" -qc "CREATE DATABASE $database" >/dev/null
    url="$pg/$database"
  else
    url="sqlite://$work/cairn.db"
  fi
  echo "== schemathesis against $backend"
  DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:$port CAIRN_DEMO=1 CAIRN_API_RATE_LIMIT=1000000 \
    CAIRN_WEBHOOK_SENDER=0 RUST_LOG=${RUST_LOG:-warn} "$bin" >"$work/server-$backend.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "$base/healthz" >/dev/null && break
    sleep 0.2
  done
  curl -sf "$base/healthz" >/dev/null || { cat "$work/server-$backend.log"; echo "the server did not start"; exit 1; }

  local jar="$work/cookies-$backend"
  curl -sf -c "$jar" -b "$jar" "$base/api/sign_in" \
    --data-urlencode "email=owner@demo.cairn.test" --data-urlencode "password=cairn-demo-2026" >/dev/null
  local key
  key=$(curl -sf -c "$jar" -b "$jar" "$base/api/create_api_key" \
    --data-urlencode "name=schemathesis" --data-urlencode "scope=write" --data-urlencode "expires_in_days=0" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')
  # The demo organization is on the free plan (1,000 API requests a day, 100 prompts): the system
  # admin gives the Owner the Creator plan, so that generated requests reach their operations.
  local admin_jar="$work/admin-cookies-$backend"
  curl -sf -c "$admin_jar" -b "$admin_jar" "$base/api/sign_in" \
    --data-urlencode "email=sysadmin@demo.cairn.test" --data-urlencode "password=cairn-demo-2026" >/dev/null
  curl -sf -c "$admin_jar" -b "$admin_jar" -H 'content-type: application/json' "$base/api/admin_set_plan" \
    -d '{"email":"owner@demo.cairn.test","plan":"creator","days":"30","reason":"schemathesis"}' >/dev/null

  "$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
    --header "Authorization: Bearer $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMA_EXAMPLES:-40}" --seed 2026 --workers 1 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit --report-dir "$target_dir/schemathesis-$backend" || {
      echo "server log:"; tail -50 "$work/server-$backend.log"; exit 1;
    }

  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=
  if [ "$backend" = postgres ]; then
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $database" >/dev/null
    database=
  fi
}

for backend in ${SCHEMA_BACKENDS:-sqlite postgres}; do
  run_against "$backend"
done
echo "The API matches its OpenAPI document."
