// Bundles one browser page into ONE self-contained HTML file: its entry (with the src/protocol code it imports)
// bundled by esbuild for the browser and inlined, with the template's styles, into the template's
// <script>__SCRIPT__</script> slot. Used by build-verify-page.mjs (dist/verify.html) and build-board-page.mjs
// (dist/board.html).
//
// The page's Content-Security-Policy allows exactly this script and this style (by their sha256) and connections
// to ws:/wss: URLs only, so the page can reach nothing but the relays its reader names, and no markup a relay
// might smuggle into it could run.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** `--out <file>` from the command line, else the default. */
export function outPath(defaultPath) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  return outIndex >= 0 && args[outIndex + 1] ? resolve(args[outIndex + 1]) : defaultPath;
}

/**
 * zod's `z.locales` namespace carries every language's error messages (about half the page). The page never
 * switches language (zod's default English messages are imported on their own), so the namespace is left empty.
 * If zod moves the file, nothing matches and the page is only larger.
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: 'zod-locales', namespace: 'empty' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({
      contents: 'export {};',
      loader: 'js',
    }));
  },
};

/**
 * Builds `entry` (relative to the repository) into `template`'s script slot and writes `out`.
 * Returns the HTML written.
 */
export async function buildPage({ entry, template: templatePath, out }) {
  const bundled = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [withoutZodLocales],
  });
  if (bundled.errors.length > 0) throw new Error(bundled.errors.map((error) => error.text).join('\n'));
  const script = bundled.outputFiles[0].text.trim();
  const name = relative(root, join(root, templatePath));

  // Inside <script>, these sequences would end the element early or change how the HTML parser reads it.
  for (const sequence of ['</script', '<!--', '<script']) {
    if (script.toLowerCase().includes(sequence)) {
      throw new Error(`the bundled script contains "${sequence}": it cannot be inlined into ${name}`);
    }
  }

  const template = readFileSync(join(root, templatePath), 'utf8');
  const style = template.match(/<style>([\s\S]*?)<\/style>/)?.[1];
  if (style === undefined) throw new Error(`${name} has no <style> element`);
  const scriptSlot = /<script>\s*__SCRIPT__\s*<\/script>/;
  if (!scriptSlot.test(template)) throw new Error(`${name} has no <script>__SCRIPT__</script> slot`);

  const hash = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  const policy = [
    "default-src 'none'",
    `script-src ${hash(script)}`,
    `style-src ${hash(style)}`,
    'connect-src ws: wss:',
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');

  // Replacement functions, not strings: the bundle may contain `$&` and other replacement patterns.
  const html = template
    .replace('__CONTENT_SECURITY_POLICY__', () => policy)
    .replace(scriptSlot, () => `<script>${script}</script>`);

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  console.log(
    `built ${relative(process.cwd(), out) || out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)`,
  );
  return html;
}
