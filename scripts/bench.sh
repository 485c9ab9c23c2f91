#!/usr/bin/env bash
# Runs the load benchmark on SQLite and on PostgreSQL and writes the report to docs/benchmarks.md.
# Environment: BENCH_PROMPTS (100000), BENCH_CLIENTS (64), BENCH_SECONDS (10).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
prompts=${BENCH_PROMPTS:-100000}
clients=${BENCH_CLIENTS:-64}
seconds=${BENCH_SECONDS:-10}
cargo build --release -p server --features bench --bin cairn-bench
bench="$CARGO_TARGET_DIR/release/cairn-bench"
out=docs/benchmarks.md
tmp=$(mktemp)
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`make bench\` (\`scripts/bench.sh\`): \`cairn-bench\` seeds one organization with"
  echo "$prompts prompts (two versions, a label and one to three tags each) on a fresh database, serves"
  echo "Cairn in the same process and runs $clients concurrent clients in closed loops for $seconds s per"
  echo "scenario (after 1 s of warm-up). The load generator shares the machine's cores with the server."
  echo
  echo "- API list: \`GET /api/v1/prompts?limit=20\` with a random sort, 30% also filtered by a tag."
  echo "- API get: \`GET /api/v1/prompts/{id}\` of a random prompt (also counts a view: a write)."
  echo "- API search: \`GET /api/v1/prompts?q=…\`: a content word, a content and a common word, a"
  echo "  phrase of both, or a content word with a typo. The prompts' words follow Zipf's law (a few"
  echo "  dozen common words in most prompts, 5,000 rarer ones); content words are drawn evenly from the"
  echo "  rarer ones."
  echo "- API search, a word in most prompts: one common word, every prompt a match to rank."
  echo "- Prompt list page: \`GET /prompts\` signed in, the whole server-rendered HTML."
  echo
  echo "Every API request also checks the key and counts it against the rate limit (a write)."
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
  echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM; $(date -u +%Y-%m-%d); commit $(git rev-parse --short HEAD)."
  echo "Targets: list and get p95 ≤ 10 ms, search p95 ≤ 20 ms."
  echo "History and what the numbers show: [performance.md](performance.md)."
  echo
  for backend in sqlite postgres; do
    "$bench" --backend "$backend" --prompts "$prompts" --clients "$clients" --seconds "$seconds"
  done
  echo
  echo "### Scheduler crash test"
  echo
  echo "\`scripts/kill-test.sh\` with ${KILL_SUBSCRIPTIONS:=10000} subscriptions and ${KILL_KILLS:=20} SIGKILLs at random"
  echo "moments (SQLite, one instance; PostgreSQL, two instances):"
  echo
  KILL_SUBSCRIPTIONS=$KILL_SUBSCRIPTIONS KILL_KILLS=$KILL_KILLS scripts/kill-test.sh | sed 's/^/- /'
} > "$tmp"
mv "$tmp" "$out"
cat "$out"
