// Claim+complete throughput of no-op jobs: pg-boss vs graphile-worker on local PostgreSQL.
// Usage: node bench.mjs --jobs 20000 --concurrency 8 [--batch 100] [--queue pg-boss|graphile-worker|all]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Logger, makeWorkerUtils, run, runMigrations } from 'graphile-worker';

const { values: opt } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '8' },
    batch: { type: 'string', default: '100' },
    queue: { type: 'string', default: 'all' },
  },
});
const N = Number(opt.jobs), C = Number(opt.concurrency), B = Number(opt.batch);
if (!(N > 0 && C > 0 && B > 0) || !['pg-boss', 'graphile-worker', 'all'].includes(opt.queue)) {
  console.error('usage: node bench.mjs --jobs N --concurrency C [--batch B] [--queue pg-boss|graphile-worker|all]');
  process.exit(2);
}
const ADMIN_URL = process.env.CAIRN_BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CHUNK = 1000;
const log = (...a) => console.error('[queue-bench]', ...a);
const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version;

async function admin(sql) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

// Create a scratch database, run fn(url), always drop it afterwards.
async function withScratchDb(tag, fn) {
  const name = `cairn_qbench_${tag.replace(/\W/g, '_')}_${process.pid}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await admin(`CREATE DATABASE ${name}`);
  try { return await fn(url.toString()); } finally { await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); }
}

// Handlers count jobs; once all N have run, poll the DB until every completion is persisted.
async function waitDone(url, done, sql, expected) {
  await done;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    while ((await c.query(sql)).rows[0].n !== expected) await sleep(5);
  } finally { await c.end(); }
}

function counter() {
  let n = 0, resolve;
  const done = new Promise((r) => (resolve = r));
  return { done, add: (k) => { if ((n += k) >= N) resolve(); } };
}

const report = ({ queue, version, variant, seconds }) => console.log(JSON.stringify({ queue, version, variant,
  jobs: N, concurrency: C, seconds: +seconds.toFixed(3), per_second: Math.round(N / seconds) }));

async function benchPgBoss(url) {
  const boss = new PgBoss({ connectionString: url, max: C + 2, schedule: false });
  boss.on('error', (e) => log('pg-boss error:', e.message));
  await boss.start(); // installs the pgboss schema
  const q = 'noop';
  await boss.createQueue(q);
  for (let i = 0; i < N; i += CHUNK)
    await boss.insert(Array.from({ length: Math.min(CHUNK, N - i) }, () => ({ name: q, data: {} })));
  log(`pg-boss: enqueued ${N} jobs`);
  const cnt = counter();
  const t0 = performance.now();
  // v10 has no per-worker concurrency option: one work() call = one polling worker.
  for (let i = 0; i < C; i++)
    await boss.work(q, { batchSize: B, pollingIntervalSeconds: 0.5 }, async (jobs) => cnt.add(jobs.length));
  await waitDone(url, cnt.done,
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = '${q}' AND state = 'completed'`, N);
  const seconds = (performance.now() - t0) / 1000;
  await boss.stop({ graceful: false, wait: true });
  report({ queue: 'pg-boss', version: version('pg-boss'), variant: `batchSize=${B}`, seconds });
}

async function benchGraphile(url, localQueue) {
  const logger = new Logger(() => (level, msg) => { if (level === 'error' || level === 'warning') log('graphile-worker:', msg); });
  const common = { connectionString: url, logger };
  await runMigrations(common); // installs the graphile_worker schema
  const utils = await makeWorkerUtils(common);
  try {
    for (let i = 0; i < N; i += CHUNK)
      await utils.addJobs(Array.from({ length: Math.min(CHUNK, N - i) }, () => ({ identifier: 'noop', payload: {} })));
  } finally { await utils.release(); }
  log(`graphile-worker: enqueued ${N} jobs (${localQueue ? 'localQueue' : 'default'})`);
  const cnt = counter();
  const t0 = performance.now();
  // Own the pool so it is fully closed before the scratch DB is dropped.
  const pgPool = new pg.Pool({ connectionString: url, max: C + 2 });
  const onErr = (e) => log('graphile-worker pg error:', e.message);
  pgPool.on('error', onErr).on('connect', (client) => client.on('error', onErr));
  const runner = await run({
    pgPool, logger, concurrency: C, pollInterval: 100, noHandleSignals: true,
    taskList: { noop: async () => cnt.add(1) },
    // Batch fetching (same number of jobs locked ahead as pg-boss) and batched completion.
    preset: localQueue ? { worker: { localQueue: { size: B * C }, completeJobBatchDelay: 0 } } : undefined,
  });
  await waitDone(url, cnt.done, 'SELECT count(*)::int AS n FROM graphile_worker.jobs', 0);
  const seconds = (performance.now() - t0) / 1000;
  await runner.stop();
  await runner.promise;
  await pgPool.end();
  report({ queue: 'graphile-worker', version: version('graphile-worker'),
    variant: localQueue ? `localQueue.size=${B * C}` : 'default', seconds });
}

try {
  if (opt.queue !== 'graphile-worker') await withScratchDb('pgboss', benchPgBoss);
  if (opt.queue !== 'pg-boss') {
    await withScratchDb('graphile', (url) => benchGraphile(url, false));
    await withScratchDb('graphile_lq', (url) => benchGraphile(url, true));
  }
} catch (e) {
  log('FAILED:', e?.stack || e);
  process.exit(1);
}
