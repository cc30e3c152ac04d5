// The relay list: relays.json or NOSTR_RELAYS, checked at start-up, with every problem naming the file and the entry.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  loadRelayList,
  normalizeRelayUrl,
  parseRelayFile,
  parseRelayUrls,
  RelayListError,
  relayFileSchema,
} from '../../src/agent/relay-list.ts';

const directory = mkdtempSync(join(tmpdir(), 'escrow-relays-'));
const FILE = 'relays.json';

function problemsOf(parse: () => unknown): string[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof RelayListError) return error.problems;
    throw error;
  }
  return [];
}

const fileProblems = (value: unknown) => problemsOf(() => parseRelayFile(JSON.stringify(value), FILE));

test('the relays.json shipped at the project root is valid: one local relay, read and write', () => {
  const path = fileURLToPath(new URL('../../relays.json', import.meta.url));
  const relays = parseRelayFile(readFileSync(path, 'utf8'), path);
  assert.ok(relays.length >= 1);
  assert.ok(relays.some((relay) => relay.read) && relays.some((relay) => relay.write));
  assert.ok(relayFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8'))).success);
});

test('a relay file is read with its flags; missing flags mean read and write; URLs are normalised', () => {
  const relays = parseRelayFile(
    JSON.stringify({
      relays: [
        { url: 'WSS://Relay.Example.COM:443/', read: true, write: false },
        { url: 'ws://127.0.0.1:7777', read: false },
        { url: ' wss://nos.example/inbox/ ' },
      ],
    }),
    FILE,
  );
  assert.equal(relays, [
    { url: 'wss://relay.example.com', read: true, write: false },
    { url: 'ws://127.0.0.1:7777', read: false, write: true },
    { url: 'wss://nos.example/inbox', read: true, write: true },
  ]);
});

const normalised: Array<[string, string]> = [
  ['ws://127.0.0.1:7777', 'ws://127.0.0.1:7777'],
  ['ws://127.0.0.1:7777/', 'ws://127.0.0.1:7777'],
  ['ws://relay.example:80', 'ws://relay.example'],
  ['wss://relay.example:443/', 'wss://relay.example'],
  ['wss://relay.example:444', 'wss://relay.example:444'],
  ['WSS://RELAY.example/Path//', 'wss://relay.example/Path'],
  ['wss://relay.example/?b=1#fragment', 'wss://relay.example?b=1'],
  ['ws://[::1]:7777', 'ws://[::1]:7777'],
];
for (const [input, output] of normalised) {
  test(`normalizeRelayUrl: ${input} is ${output}`, () => {
    assert.is(normalizeRelayUrl(input), output);
  });
}

const badFiles: Array<[string, unknown, RegExp]> = [
  [
    'a URL that is not ws:// or wss://',
    { relays: [{ url: 'https://relay.example' }] },
    /^relays\.json: relays\[0\]\.url: "https:\/\/relay\.example" must be a ws:\/\/ or wss:\/\/ URL$/,
  ],
  [
    'text that is not a URL',
    { relays: [{ url: 'relay.example' }] },
    /^relays\.json: relays\[0\]\.url: "relay\.example" is not a URL$/,
  ],
  [
    'a URL with a password',
    { relays: [{ url: 'wss://me:secret@relay.example' }] },
    /relays\[0\]\.url: .* must not contain a user name or password/,
  ],
  [
    'a flag that is not a boolean',
    { relays: [{ url: 'wss://a.example', read: 'yes' }] },
    /^relays\.json: relays\[0\]\.read: must be true or false$/,
  ],
  [
    'an unknown key in an entry',
    { relays: [{ url: 'wss://a.example', wirte: true }] },
    /^relays\.json: relays\[0\]: unknown key\(s\) wirte/,
  ],
  [
    'an unknown top-level key',
    { relays: [{ url: 'wss://a.example' }], extra: 1 },
    /^relays\.json: \(top level\): unknown key\(s\) extra/,
  ],
  ['no relays key', {}, /^relays\.json: relays: must be a list of relays$/],
  ['an empty list', { relays: [] }, /^relays\.json: lists no relay; add at least one$/],
  [
    'the same relay twice in two spellings',
    { relays: [{ url: 'wss://a.example' }, { url: 'WSS://a.example:443/' }] },
    /^relays\.json: relays\[1\] wss:\/\/a\.example is the same relay as relays\[0\]$/,
  ],
  [
    'no read relay',
    { relays: [{ url: 'wss://a.example', read: false }] },
    /^relays\.json: no relay has "read": true/,
  ],
  [
    'no write relay',
    { relays: [{ url: 'wss://a.example', write: false }] },
    /^relays\.json: no relay has "write": true/,
  ],
  [
    'a relay neither read nor write',
    { relays: [{ url: 'wss://a.example' }, { url: 'wss://b.example', read: false, write: false }] },
    /^relays\.json: relays\[1\] wss:\/\/b\.example is neither read nor write; remove it$/,
  ],
];
for (const [what, value, expected] of badFiles) {
  test(`a relay file with ${what} is refused, naming the file and the entry`, () => {
    const problems = fileProblems(value);
    assert.ok(
      problems.some((problem) => expected.test(problem)),
      `expected ${expected} in ${JSON.stringify(problems)}`,
    );
  });
}

test('a relay file that is not JSON is refused, naming the file', () => {
  assert.match(
    problemsOf(() => parseRelayFile('{ "relays": [', FILE)).join('\n'),
    /^relays\.json: not valid JSON/,
  );
});

test('every bad entry is reported at once, not only the first', () => {
  const problems = fileProblems({
    relays: [{ url: 'http://a.example' }, { url: 'wss://b.example', read: 1 }],
  });
  assert.is(problems.length, 2);
});

test('NOSTR_RELAYS: comma-separated URLs, each read and write, blanks ignored', () => {
  assert.equal(parseRelayUrls(' wss://a.example , ws://127.0.0.1:7777/,, ', 'NOSTR_RELAYS'), [
    { url: 'wss://a.example', read: true, write: true },
    { url: 'ws://127.0.0.1:7777', read: true, write: true },
  ]);
});

test('NOSTR_RELAYS: a bad entry, a duplicate or an empty list is refused, naming the variable and the entry', () => {
  assert.equal(
    problemsOf(() => parseRelayUrls('wss://a.example,http://b.example', 'NOSTR_RELAYS')),
    ['NOSTR_RELAYS: entry 2 "http://b.example" must be a ws:// or wss:// URL'],
  );
  assert.equal(
    problemsOf(() => parseRelayUrls('wss://a.example,wss://A.example/', 'NOSTR_RELAYS')),
    ['NOSTR_RELAYS: entry 2 wss://a.example is the same relay as entry 1'],
  );
  assert.equal(
    problemsOf(() => parseRelayUrls(' , ', 'NOSTR_RELAYS')),
    ['NOSTR_RELAYS: lists no relay; add at least one'],
  );
});

test('loadRelayList: NOSTR_RELAYS wins over the config URLs, which win over the file', () => {
  const file = join(directory, 'relays.json');
  writeFileSync(
    file,
    JSON.stringify({ relays: [{ url: 'wss://file.example', write: false }, { url: 'wss://w.example' }] }),
  );
  assert.equal(loadRelayList({ file, env: {} }), {
    source: file,
    relays: [
      { url: 'wss://file.example', read: true, write: false },
      { url: 'wss://w.example', read: true, write: true },
    ],
  });
  assert.equal(loadRelayList({ file, env: {}, urls: ['wss://config.example'] }), {
    source: 'nostr.relays',
    relays: [{ url: 'wss://config.example', read: true, write: true }],
  });
  assert.equal(
    loadRelayList({ file, env: { NOSTR_RELAYS: 'wss://env.example' }, urls: ['wss://config.example'] }),
    {
      source: 'NOSTR_RELAYS',
      relays: [{ url: 'wss://env.example', read: true, write: true }],
    },
  );
  assert.is(
    loadRelayList({ file, env: { NOSTR_RELAYS: ' ' } }).source,
    file,
    'a blank variable counts as unset',
  );
});

test('loadRelayList: a missing file is refused with its path and what to do', () => {
  const file = join(directory, 'missing.json');
  const problems = problemsOf(() => loadRelayList({ file, env: {} }));
  assert.equal(problems, [`${file}: cannot read the relay list (ENOENT); create it or set NOSTR_RELAYS`]);
});

test('loadRelayList: problems in the file name the file by its path', () => {
  const file = join(directory, 'bad.json');
  writeFileSync(file, JSON.stringify({ relays: [{ url: 'ftp://x.example' }] }));
  const error = (() => {
    try {
      loadRelayList({ file, env: {} });
    } catch (caught) {
      return caught as Error;
    }
    return undefined;
  })();
  assert.instance(error, RelayListError);
  assert.match(
    error?.message ?? '',
    `${file}: relays[0].url: "ftp://x.example" must be a ws:// or wss:// URL`,
  );
});

test.run();
