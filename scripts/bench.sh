#!/usr/bin/env bash
# Runs the load benchmark on SQLite and on PostgreSQL and writes the report to docs/benchmarks.md.
# Environment: BENCH_PROMPTS (100000), BENCH_CLIENTS (64), BENCH_SECONDS (10),
# BENCH_SUBSCRIPTIONS (100000), BENCH_RATE (1000 firings/min), BENCH_LATENCY_SECONDS (60),
# BENCH_NOOP_JOBS (20000).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
prompts=${BENCH_PROMPTS:-100000}
clients=${BENCH_CLIENTS:-64}
seconds=${BENCH_SECONDS:-10}
subscriptions=${BENCH_SUBSCRIPTIONS:-100000}
rate=${BENCH_RATE:-1000}
latency=${BENCH_LATENCY_SECONDS:-60}
noop=${BENCH_NOOP_JOBS:-20000}
cargo build --release -p server --features bench --bin cairn-bench --bin cairn-schedbench
bench="$CARGO_TARGET_DIR/release/cairn-bench"
schedbench="$CARGO_TARGET_DIR/release/cairn-schedbench"
(cd scripts/queue-bench && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
out=docs/benchmarks.md
tmp=$(mktemp)
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`make bench\` (\`scripts/bench.sh\`): \`cairn-bench\` seeds one organization with"
  echo "$prompts prompts (two versions, a label and one to three tags each) on a fresh database, serves"
  echo "Cairn in the same process and runs $clients concurrent clients in closed loops for $seconds s per"
  echo "scenario (after 1 s of warm-up). The load generator shares the machine's cores with the server:"
  echo "each client keeps one HTTP/1.1 connection (hyper's, nothing on top), on one thread of its own."
  echo "PostgreSQL's tables are ANALYZEd after seeding (as autovacuum would); SQLite's are not (Cairn"
  echo "never runs ANALYZE on SQLite)."
  echo
  echo "- API list: \`GET /api/v1/prompts?limit=20\` with a random sort, 30% also filtered by a tag."
  echo "- API get: \`GET /api/v1/prompts/{id}\` of a random prompt (also counts a view, in memory: written every 10 seconds)."
  echo "- API search: \`GET /api/v1/prompts?q=…\`: a content word, a content and a common word, a"
  echo "  phrase of both, or a content word with a typo. The prompts' words follow Zipf's law (a few"
  echo "  dozen common words in most prompts, 5,000 rarer ones); content words are drawn evenly from the"
  echo "  rarer ones."
  echo "- API search by shape: each of those four alone, to see which one costs what."
  echo "- API search, a word in most prompts: one common word, every prompt a match to rank."
  echo "- API search, three words as prompts use them: three words drawn as the prompts' own are"
  echo "  (so mostly common ones, as in a question typed in plain words), all required."
  echo "- Prompt list page: \`GET /prompts\` signed in, the whole server-rendered HTML."
  echo
  echo "Every API request also checks the key (read from the database at most once a second per key) and counts it against the rate limit (in memory, written per key at most once a second and, far from its limit as here, every 30 seconds)."
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
  echo "## The scheduler"
  echo
  echo "Measured by \`cairn-schedbench\` (\`server/src/bin/schedbench.rs\`) on a fresh database: $subscriptions"
  echo "active subscriptions of a two-step sequence (a message rendered with the subscriber's name and goal"
  echo "now, a follow-up a week later), the first step due. Cairn's scheduler runs in the same process:"
  echo
  echo "- firings/s: every due first step claimed (batches of 200), rendered, its message and the next"
  echo "  step's job stored and the job marked done, in one transaction per firing;"
  echo "- due→delivered: new subscriptions made at a steady $rate per minute, each first step due a second"
  echo "  later, with the scheduler running as in the server; latency from \`due_at\` to the message's"
  echo "  timestamp (taken just before its transaction);"
  echo "- no-op jobs: $noop jobs that do nothing, claimed in batches of 200 and marked done together, as"
  echo "  the scheduler closes jobs with nothing left to do; next to them, pg-boss and graphile-worker"
  echo "  (npm, \`scripts/queue-bench\`) doing the same on the same PostgreSQL with 8 workers."
  echo
  echo "Targets: ≥ 2,000 firings/s on SQLite, no-op throughput ≥ graphile-worker's, due→delivered p99 < 100 ms."
  echo
  "$schedbench" --backend sqlite --subscriptions "$subscriptions" --workers 1 --rate "$rate" \
    --latency-seconds "$latency" --noop-jobs "$noop"
  echo
  "$schedbench" --backend postgres --subscriptions "$subscriptions" --workers 2 --rate "$rate" \
    --latency-seconds "$latency" --noop-jobs "$noop" --noop-workers 8
  node scripts/queue-bench/bench.mjs --jobs "$noop" --concurrency 8 | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    variant = r.get("variant") or "default"
    name = r["queue"] + " " + r["version"] + ("" if variant == "default" else " (" + variant + ")")
    print("- %s: %s no-op jobs in %.2f s by %d workers: **%s jobs/s**." % (
        name, format(r["jobs"], ","), r["seconds"], r["concurrency"], format(round(r["per_second"]), ",")))
'
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
