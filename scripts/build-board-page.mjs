#!/usr/bin/env node
// Builds the task board page: src/board/board-page.ts (with the src/protocol code it imports) bundled by esbuild
// for the browser and inlined, with the styles, into ONE self-contained file, dist/board.html (`npm run build`
// runs this; `--out <file>` writes elsewhere). Open it from disk (file://) or from the agent's HTTP server at
// /board.html. How the page is bundled, and its Content-Security-Policy (this script and style by hash, ws:/wss:
// connections only): scripts/build-page.mjs.
import { join } from 'node:path';
import { buildPage, outPath, root } from './build-page.mjs';

await buildPage({
  entry: 'src/board/board-page.ts',
  template: 'src/board/board-page.html',
  out: outPath(join(root, 'dist', 'board.html')),
});
