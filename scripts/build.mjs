#!/usr/bin/env node
/**
 * `npm run build`: the TypeScript sources as plain JavaScript under dist/ (same
 * layout: dist/src/..., dist/schema/...), so production runs `node
 * dist/src/runtime/node.js` without compiling at start-up. Each file is
 * transpiled on its own by esbuild (no bundling: node_modules stay external and
 * paths relative to a module, such as the migrations folder, keep working);
 * non-TypeScript files (SQL migrations, their journal, assets) are copied.
 * Type-checking is `npm run typecheck`'s job. `--outdir DIR` builds elsewhere.
 */
import { build } from 'esbuild';
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--outdir');
const outdir = resolve(at >= 0 ? process.argv[at + 1] : join(root, 'dist'));
const folders = ['src', 'schema'];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

rmSync(outdir, { recursive: true, force: true });
const files = folders.flatMap((folder) => walk(join(root, folder)));
const sources = files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'));
await build({
  entryPoints: sources,
  outdir,
  outbase: root,
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
for (const file of files.filter((f) => !/\.ts$/.test(f))) {
  const target = join(outdir, relative(root, file));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}
for (const bin of ['src/runtime/node.js', 'src/ops/backup-cli.js']) chmodSync(join(outdir, bin), 0o755);
console.log(`built ${sources.length} modules into ${relative(process.cwd(), outdir) || '.'}; run: node ${relative(process.cwd(), join(outdir, 'src/runtime/node.js'))}`);
