// src/protocol is the code a browser page bundles (the verification page, the task board): it must build for
// `platform: 'browser'` with no Node built-in, reach none of the agent's runtime folders, and run where there is
// no Buffer, no process and no require. Each check here fails on the first such import.

import { webcrypto } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { build, type Plugin } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROTOCOL = join(ROOT, 'src/protocol');
const entryPoints = readdirSync(PROTOCOL)
  .filter((name) => name.endsWith('.ts'))
  .map((name) => join(PROTOCOL, name));

const BUILTINS = new Set(builtinModules);

/** Records every import esbuild resolves that names a Node built-in, however it is spelled. */
function nodeBuiltinSpy(found: string[]): Plugin {
  return {
    name: 'node-builtin-spy',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, '');
        if (args.path.startsWith('node:') || BUILTINS.has(bare) || BUILTINS.has(bare.split('/')[0]!)) {
          found.push(`${relative(ROOT, args.importer)} imports ${args.path}`);
        }
        return undefined;
      });
    },
  };
}

async function bundle(format: 'esm' | 'iife') {
  const nodeImports: string[] = [];
  const result = await build({
    entryPoints: format === 'esm' ? entryPoints : [join(PROTOCOL, 'index.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format,
    globalName: format === 'iife' ? 'EscrowProtocol' : undefined,
    outdir: '/tmp/escrow-protocol-bundle',
    metafile: true,
    logLevel: 'silent',
    plugins: [nodeBuiltinSpy(nodeImports)],
  });
  return { result, nodeImports };
}

test('every module of src/protocol bundles for the browser without a Node built-in', async () => {
  const { result, nodeImports } = await bundle('esm');
  assert.equal(result.errors, []);
  assert.equal(nodeImports, [], `Node built-ins reached from src/protocol:\n${nodeImports.join('\n')}`);
});

test('src/protocol reaches no store, agent, engine, handler, relay or Lightning adapter code (only the BOLT11 codec)', async () => {
  const { result } = await bundle('esm');
  const ours = Object.keys(result.metafile.inputs).filter((path) => path.startsWith('src/'));
  const allowed = ['src/protocol/', 'src/domain/', 'src/ldk/bolt11/'];
  const outside = ours.filter((path) => !allowed.some((prefix) => path.startsWith(prefix)));
  assert.equal(outside, []);
});

test('the bundle runs where there is no Buffer, process or require, and verifies a real task history', async () => {
  const { result } = await bundle('iife');
  const code = result.outputFiles[0]!.text;
  // A browser's globals, not Node's: anything the bundle takes from Node fails here.
  const sandbox = createContext({ TextEncoder, TextDecoder, crypto: webcrypto, console });
  runInContext(`${code}\nglobalThis.EscrowProtocol = EscrowProtocol;`, sandbox);
  const protocol = sandbox.EscrowProtocol as typeof import('../../src/protocol/index.ts');
  const examples = join(ROOT, 'docs/examples');
  const read = (file: string) => JSON.parse(readFileSync(join(examples, file), 'utf8'));
  const happy = [
    '05-offered',
    '07-funded',
    '09-claimed',
    '11-submitted',
    '15-settling',
    '16-settled',
    '17-paid',
  ];
  const events = happy.map((name) => read(`${name}.json`));
  const agent = events[0].pubkey as string;
  const taskId = events[0].tags.find((tag: string[]) => tag[3] === 'task')[1] as string;
  // Values made in the sandbox have its own Array and Object: compare them as JSON.
  const report = protocol.verifyTaskHistory({ agentPubkey: agent, taskId, events });
  assert.equal(JSON.stringify(report.problems), '[]');
  assert.ok(report.ok);
  const tampered = events.map((event) => ({ ...event }));
  tampered[3] = { ...tampered[3], content: `${tampered[3].content} ` };
  assert.not.ok(protocol.verifyTaskHistory({ agentPubkey: agent, taskId, events: tampered }).ok);
  const listing = protocol.buildListing({
    d: 'browser',
    title: 'Built in a page',
    amountMsat: 21_000_500n,
    agent,
    content: 'x',
    createdAt: 1_700_000_000,
  });
  assert.equal(JSON.stringify(listing.tags.find((tag) => tag[0] === 'price')), '["price","21000.5","SAT"]');
});

test.run();
