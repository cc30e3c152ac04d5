// CPU profiles of bench phases (`npm run bench -- --profile`): V8's sampling profiler through node:inspector, around
// one phase, summarised into the report (where the phase's CPU went, by package or src/ folder, and the functions
// with the most self time) and written whole to bench/profiles/<name>.cpuprofile (git-ignored; open it in Chrome's
// DevTools or speedscope). A profiled phase runs a little slower: its figures are not the ones to compare.
//
// Native and WebAssembly frames (better-sqlite3's C++, libsecp256k1, LDK) have no JavaScript file of their own:
// their time is put on the nearest caller that has one, so `lightningdevkit` holds LDK's WebAssembly and
// `better-sqlite3` its native calls.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';

export const profiling = process.argv.includes('--profile');

export interface ProfileSummary {
  sampledMs: number;
  /** Self time by package (node_modules), src/ folder, Node internals, or V8's own (gc, program, idle), in ms. */
  byArea: Record<string, number>;
  /** The functions with the most self time. */
  top: Array<{ fn: string; where: string; ms: number; share: number }>;
  file: string;
}

function areaOf(url: string): string | null {
  if (url === '') return null;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const src = url.match(/\/(src|bench|test)\/([^/]+)\//);
  if (src) return `${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith('wasm:')) return null;
  return url.replace(/^file:\/\/.*\//, '');
}

function whereOf(frame: Profiler.ProfileNode['callFrame']): string {
  const url = frame.url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, '$1/');
  return url === '' ? '(native)' : `${url}:${frame.lineNumber + 1}`;
}

export function summarise(profile: Profiler.Profile, file: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const areaCache = new Map<number, string>();
  const areaOfNode = (id: number): string => {
    const cached = areaCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    const name = node?.callFrame.functionName ?? '';
    let area: string;
    if (name === '(garbage collector)') area = 'gc';
    else if (name === '(idle)') area = 'idle';
    else if (name === '(program)') area = 'program (V8, native)';
    else {
      const own = node ? areaOf(node.callFrame.url) : null;
      const parent = parentOf.get(id);
      area = own ?? (parent === undefined ? '(root)' : areaOfNode(parent));
    }
    areaCache.set(id, area);
    return area;
  };
  const selfMs = new Map<number, number>();
  const { samples = [], timeDeltas = [] } = profile;
  for (let index = 0; index < samples.length; index++) {
    const id = samples[index]!;
    selfMs.set(id, (selfMs.get(id) ?? 0) + (timeDeltas[index] ?? 0) / 1000);
  }
  const byArea: Record<string, number> = {};
  const byFunction = new Map<string, { fn: string; where: string; ms: number }>();
  let sampledMs = 0;
  for (const [id, ms] of selfMs) {
    sampledMs += ms;
    const area = areaOfNode(id);
    byArea[area] = (byArea[area] ?? 0) + ms;
    const frame = byId.get(id)!.callFrame;
    const where = whereOf(frame);
    const key = `${frame.functionName}@${where}`;
    const entry = byFunction.get(key) ?? { fn: frame.functionName || '(anonymous)', where, ms: 0 };
    entry.ms += ms;
    byFunction.set(key, entry);
  }
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    sampledMs: round(sampledMs),
    byArea: Object.fromEntries(
      Object.entries(byArea)
        .sort((a, b) => b[1] - a[1])
        .map(([area, ms]) => [area, round(ms)]),
    ),
    top: [...byFunction.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 15)
      .map((entry) => ({ ...entry, ms: round(entry.ms), share: round((entry.ms / sampledMs) * 100) / 100 })),
    file,
  };
}

/** Runs `run` under the CPU profiler when the bench was given --profile; otherwise just runs it. */
export async function maybeProfiled<T>(
  name: string,
  run: () => Promise<T>,
): Promise<{ result: T; profile?: ProfileSummary }> {
  if (!profiling) return { result: await run() };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  let result: T;
  try {
    result = await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const folder = new URL('./profiles/', import.meta.url);
    mkdirSync(folder, { recursive: true });
    const file = new URL(`${name}.cpuprofile`, folder);
    writeFileSync(file, JSON.stringify(profile));
    profiled.set(name, summarise(profile, `bench/profiles/${name}.cpuprofile`));
  }
  return { result, profile: profiled.get(name) };
}

const profiled = new Map<string, ProfileSummary>();
