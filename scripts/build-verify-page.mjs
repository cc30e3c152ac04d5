#!/usr/bin/env node
// Builds the verification page: src/web/verify-page.ts (with the src/protocol code it imports) bundled by esbuild
// for the browser and inlined, with the styles, into ONE self-contained file, dist/verify.html (`npm run build`
// runs this; `--out <file>` writes elsewhere). Open it from disk (file://): it needs no server; the agent's HTTP
// server also serves it at /verify.html. How the page is bundled, and its Content-Security-Policy (this script and
// style by hash, ws:/wss: connections only): scripts/build-page.mjs.
import { join } from 'node:path';
import { buildPage, outPath, root } from './build-page.mjs';

await buildPage({
  entry: 'src/web/verify-page.ts',
  template: 'src/web/verify-page.html',
  out: outPath(join(root, 'dist', 'verify.html')),
});
