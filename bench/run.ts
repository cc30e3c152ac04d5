// `npm run bench`: measures, prints and writes bench/latest.json (git-ignored). Figures are from one run on a
// shared machine: compare ratios within a run, not absolute numbers across runs.
//
//   npm run bench [-- --quick] [-- --only lightning,nwc,lnd,bounds,intake,agent,memory,scale,replicas,rebuild,verify]
// --only runs the sections named and replaces only those in bench/latest.json (the others are kept).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { type Bounds, benchAgent, benchIntake } from './agent.ts';
import type { LoadedRelay } from './rebuild.ts';

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? new Set((process.argv[onlyAt + 1] ?? '').split(',')) : null;
const wanted = (name: string) => only === null || only.has(name);
const file = new URL('./latest.json', import.meta.url);
const report: Record<string, unknown> = {
  ...(only !== null && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as object) : {}),
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  quick,
};

async function section(name: string, run: () => Promise<unknown>) {
  if (!wanted(name)) return;
  const started = performance.now();
  try {
    report[name] = await run();
  } catch (error) {
    report[name] = { error: (error as Error).message };
  }
  console.log(
    `${name} (${((performance.now() - started) / 1000).toFixed(1)} s):`,
    JSON.stringify(report[name], null, 2),
  );
}

const ldk = wanted('lightning') ? await import('./ldk.ts').catch(() => null) : null;
if (ldk) await section('lightning', () => ldk.benchLdk({ payments: quick ? 20 : 200 }));
const nwc = wanted('nwc') ? await import('./nwc.ts').catch(() => null) : null;
if (nwc) await section('nwc', () => nwc.benchNwc({ payments: quick ? 20 : 100 }));
// Holds on real LND (v0.21.6-beta on btcd regtest; scripts/build-lnd.mjs) next to the LDK sandbox, same run; without
// the binaries the section says why it was skipped.
await section('lnd', async () => (await import('./lnd.ts')).benchLnd({ payments: quick ? 20 : 50 }));
// Bounds first: the intake figures are printed against them (same run).
await section('bounds', async () =>
  (await import('./bounds.ts')).benchBounds({ events: quick ? 300 : 1000 }),
);
await section('intake', () =>
  benchIntake({ events: quick ? 100 : 1000, forged: quick ? 500 : 2000, bounds: report.bounds as Bounds }),
);
await section('agent', () => benchAgent({ lifecycles: quick ? 5 : 30 }));
// The key for the approval latencies (the agent section measures them).
if (wanted('agent')) report.latency = (report.agent as { latency?: unknown }).latency;
await section('memory', async () =>
  (await import('./memory.ts')).benchMemory(quick ? { lifecycles: 50 } : {}),
);
// scale.tasks100k (scale.tasks10k with --quick): the agent on a store of that many tasks against an empty one.
await section('scale', async () => ({
  [quick ? 'tasks10k' : 'tasks100k']: await (await import('./scale.ts')).benchScale({
    tasks: quick ? 10_000 : 100_000,
  }),
}));
// Replicas (issue #16): 1, 2 and 3 agents on one PostgreSQL, paid lifecycles through real processes, no kills.
await section('replicas', async () =>
  (await import('./replicas.ts')).benchReplicas({ tasks: quick ? 20 : 60 }),
);
// The rebuild and verify sections read one generated history from one local relay (generated and published once).
const lifecycles = quick ? 1_000 : 10_000;
let loaded: LoadedRelay | undefined;
await section('rebuild', async () => {
  const rebuild = await import('./rebuild.ts');
  loaded = await rebuild.loadRelay(lifecycles);
  return rebuild.benchRebuild({ lifecycles, loaded });
});
await section('verify', async () => (await import('./verify.ts')).benchVerify({ lifecycles, loaded }));
await loaded?.relay.stop();

mkdirSync(new URL('.', import.meta.url), { recursive: true });
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log('wrote bench/latest.json');
process.exit(0);
