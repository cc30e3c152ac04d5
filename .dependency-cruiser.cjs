// The import rules of the house (docs/design.md, "The map of the house"), checked by `npm test`
// (`npx depcruise src test scripts bench`). Type-only imports count: a layer that needs another's types
// depends on it all the same.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import circle: one of these modules must not know about the other. Move what both need below them.',
      from: { path: '^(src|test|scripts|bench)/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain is the pure core: it imports nothing of ours and no Node built-in.',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/|^node_modules/@noble/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domain-no-node',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'protocol-is-portable',
      severity: 'error',
      comment:
        'src/protocol is bundled into browser pages: only src/domain, the BOLT11 codec (src/ldk/bolt11), zod, nostr-tools (pure modules) and @noble/@scure.',
      from: { path: '^src/protocol/' },
      to: {
        pathNot: [
          '^src/(protocol|domain)/',
          '^src/ldk/bolt11/',
          '^node_modules/(zod|@noble|@scure)/',
          '^node_modules/nostr-tools/lib/(esm|cjs)/(pure|nip19|nip44|index|core|utils|filter|kinds)\\.js$',
        ],
      },
    },
    {
      name: 'web-is-browser-code',
      severity: 'error',
      comment:
        'src/web is the verification page, bundled for the browser: only src/protocol, src/domain and nostr-tools (nip19, filter, core types).',
      from: { path: '^src/web/' },
      to: {
        pathNot: [
          '^src/(web|protocol|domain)/',
          '^node_modules/nostr-tools/lib/(esm|cjs)/(nip19|filter|core)\\.js$',
        ],
      },
    },
    {
      name: 'web-no-node',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'board-is-browser-code',
      severity: 'error',
      comment:
        'src/board is the task board page, bundled for the browser: only src/web (its rendering and relay input), src/protocol, src/domain, the nostr-tools modules it needs (nip19, pure, core, filter, utils, nip04, nip44, nip46), @noble and the qr encoder.',
      from: { path: '^src/board/' },
      to: {
        pathNot: [
          '^src/(board|web|protocol|domain)/',
          '^node_modules/nostr-tools/lib/(esm|cjs)/(nip19|pure|core|filter|utils|nip04|nip44|nip46)\\.js$',
          '^node_modules/@noble/',
          '^node_modules/qr/',
        ],
      },
    },
    {
      name: 'board-no-node',
      severity: 'error',
      from: { path: '^src/board/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'bolt11-is-portable',
      severity: 'error',
      comment:
        'the BOLT11 codec is bundled into browser pages with src/protocol: no Node modules, no other layer.',
      from: { path: '^src/ldk/bolt11/' },
      to: { pathNot: ['^src/ldk/bolt11/', '^node_modules/(@noble|@scure)/'] },
    },
    {
      name: 'protocol-no-node',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'crypto-is-a-leaf',
      severity: 'error',
      comment:
        'src/crypto is the Node-side Schnorr and ECDSA (libsecp256k1 in WebAssembly, tiny-secp256k1): it imports nothing of ours. Browser code (src/protocol, src/web, src/board) never imports it: it keeps the pure-JS default.',
      from: { path: '^src/crypto/' },
      to: { path: '^src/', pathNot: '^src/crypto/' },
    },
    {
      name: 'libsecp256k1-through-src-crypto',
      severity: 'error',
      comment:
        'tiny-secp256k1 is reached through src/crypto only (schnorr.ts for events, ecdsa.ts for invoice signatures: the places that check its inputs).',
      from: { path: '^src/', pathNot: '^src/crypto/' },
      to: { path: '^node_modules/tiny-secp256k1/' },
    },
    {
      name: 'handlers-and-jobs-use-ports',
      severity: 'error',
      comment:
        'Handlers and jobs talk to the node through the port (src/ldk/port.ts) and to relays through the outbox: never an adapter or the embedded relay.',
      from: { path: '^src/(handlers|agent/jobs)/' },
      to: {
        path: '^src/(relay|nostr)/|^src/ldk/(sandbox|sandbox-control|nwc|nwc-service|lnd)/|^node_modules/(lightning|lightningdevkit|ws)/',
      },
    },
    {
      name: 'engine-below-handlers',
      severity: 'error',
      comment: 'src/engine is what the handlers, jobs and intake share: it knows none of them, nor the CLI.',
      from: { path: '^src/engine/' },
      to: {
        path: '^src/(agent|handlers|cli|relay|nostr)/|^src/ldk/(sandbox|sandbox-control|nwc|nwc-service|lnd)/',
      },
    },
    {
      name: 'handlers-below-agent',
      severity: 'error',
      comment: 'The intake and router call the handlers, never the other way round.',
      from: { path: '^src/handlers/' },
      to: { path: '^src/(agent|cli)/' },
    },
    {
      name: 'ops-drive-the-engine',
      severity: 'error',
      comment:
        'src/ops holds the runbook operations, run inside the agent (control socket) and by the CLI: they use the domain, engine, store, handlers, agent jobs and the ports, and reach relays only through what their caller hands in. Never the CLI, the relay client or server, or a Lightning adapter.',
      from: { path: '^src/ops/' },
      to: {
        path: '^src/(cli|relay|nostr|web)/|^src/ldk/(sandbox|sandbox-control|nwc|nwc-service|lnd)/|^node_modules/(lightning|lightningdevkit|ws)/',
      },
    },
    {
      name: 'nostr-is-transport',
      severity: 'error',
      comment: 'src/nostr is the relay client used by the agent and the NWC adapter: it knows neither.',
      from: { path: '^src/nostr/' },
      to: { path: '^src/(agent|engine|handlers|cli|store|ldk|relay|domain)/' },
    },
    {
      name: 'store-knows-no-runtime',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/(agent|engine|handlers|cli|nostr|relay|ldk)/' },
    },
    {
      name: 'lightning-knows-no-agent',
      severity: 'error',
      comment:
        "src/ldk is the Lightning port and its adapters: it knows nothing of the agent, the store or the CLI. The sandbox's own process entries (serve*.ts) may start an embedded relay.",
      from: { path: '^src/ldk/', pathNot: '^src/ldk/[^/]+/serve[^/]*\\.ts$' },
      to: { path: '^src/(agent|engine|handlers|cli|store|relay)/' },
    },
    {
      name: 'embedded-relay-stands-alone',
      severity: 'error',
      from: { path: '^src/relay/' },
      to: { path: '^src/(agent|engine|handlers|cli|store|ldk|nostr)/' },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Only the CLI entry (bin/) imports src/cli; its commands never import cli.ts back.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'commands-below-cli',
      severity: 'error',
      from: { path: '^src/cli/commands/' },
      to: { path: '^src/cli/cli\\.ts$' },
    },
    {
      name: 'src-never-imports-tests',
      severity: 'error',
      comment: 'The product never loads test code (scripts/ and bench/ may use the test fakes).',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'nothing-reads-shared',
      severity: 'error',
      comment: "A user's clone has nothing beside it: copy what you need into the repo (test/fixtures/).",
      from: {},
      to: { path: '(^|/)\\.\\./shared/|^\\.\\./shared/' },
    },
  ],
  options: {
    doNotFollow: { path: '^node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
