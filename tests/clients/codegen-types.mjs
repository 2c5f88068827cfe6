// Typed client codegen as a TypeScript project does it, against the live server's URL: runs the
// `graphql-codegen` CLI (codegen-types.config.mjs: the typescript and typescript-operations
// plugins over operations/*.graphql) into a temporary directory, then compiles the generated
// types with each client file (CLIENT_FILES, a JSON list: codegen-usage.ts, codegen-misuse.ts)
// by `tsc --noEmit --strict`, one compilation per client file. Prints the CLI's exit status and
// output, the generated files, and each compilation's exit status and diagnostics.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { graphqlUrl, run } from './lib.mjs';

const CLIENT_FILES = JSON.parse(process.env.CLIENT_FILES || '["codegen-usage.ts"]');
// Explicit, so that the result does not depend on tsc's defaults (which TypeScript 6 and 7
// changed): strict checks, no output, ES modules resolved as a bundler does.
const TSC_OPTIONS = [
  '--noEmit', '--strict', '--pretty', 'false', '--target', 'es2022', '--module', 'esnext',
  '--moduleResolution', 'bundler', '--types', '',
];
const GENERATED = ['schema-types.ts', 'operations.ts'];

function runTool(command, args, options) {
  const started = Date.now();
  const child = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, ...options });
  return {
    status: child.status,
    signal: child.signal,
    error: child.error ? String(child.error) : null,
    stdout: child.stdout.slice(-6000),
    stderr: child.stderr.slice(-3000),
    ms: Date.now() - started,
  };
}

function readOrNull(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

await run(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitrine-codegen-types-'));
  try {
    const codegen = runTool(join('node_modules', '.bin', 'graphql-codegen'),
      ['--config', 'codegen-types.config.mjs'], {
        env: { ...process.env, GRAPHQL_URL: graphqlUrl(), CODEGEN_DIR: dir, NO_COLOR: '1' },
      });
    const generated = Object.fromEntries(GENERATED.map((name) => [name, readOrNull(join(dir, name))]));
    const compilations = {};
    if (codegen.status === 0 && Object.values(generated).every((text) => text !== null)) {
      const tsc = join(process.cwd(), 'node_modules', '.bin', 'tsc');
      for (const file of CLIENT_FILES) {
        copyFileSync(file, join(dir, file));
        // In the temporary directory: no tsconfig.json there or above it to pick up.
        compilations[file] = runTool(tsc, [...TSC_OPTIONS, ...GENERATED, file], { cwd: dir });
      }
    }
    return {
      codegen,
      generated,
      tscVersion: runTool(join('node_modules', '.bin', 'tsc'), ['--version'], {}).stdout.trim(),
      compilations,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
