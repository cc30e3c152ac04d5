// `npm run bench`: measures, prints and writes bench/latest.json (git-ignored). Figures are from one run on a
// shared machine: compare ratios within a run, not absolute numbers across runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { benchAgent } from './agent.ts';

const quick = process.argv.includes('--quick');
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  quick,
};

async function section(name: string, run: () => Promise<unknown>) {
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

const ldk = await import('./ldk.ts').catch(() => null);
if (ldk) await section('lightning', () => ldk.benchLdk({ payments: quick ? 20 : 200 }));
const nwc = await import('./nwc.ts').catch(() => null);
if (nwc) await section('nwc', () => nwc.benchNwc({ payments: quick ? 20 : 100 }));
await section('agent', () => benchAgent({ intakeEvents: quick ? 100 : 1000, lifecycles: quick ? 5 : 30 }));
await section('rebuild', async () =>
  (await import('./rebuild.ts')).benchRebuild({ lifecycles: quick ? 1_000 : 10_000 }),
);

mkdirSync(new URL('.', import.meta.url), { recursive: true });
writeFileSync(new URL('./latest.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log('wrote bench/latest.json');
process.exit(0);
