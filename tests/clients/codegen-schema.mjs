// Runs the `graphql-codegen` CLI (@graphql-codegen/cli with the schema-ast plugin) as a
// developer would, against the live server's URL (codegen.config.mjs), and prints its exit
// status, output and the SDL it wrote.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { graphqlUrl, run } from './lib.mjs';

await run(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitrine-codegen-'));
  const out = join(dir, 'schema.graphql');
  try {
    const started = Date.now();
    const cli = spawnSync(
      join('node_modules', '.bin', 'graphql-codegen'),
      ['--config', 'codegen.config.mjs'],
      {
        env: { ...process.env, GRAPHQL_URL: graphqlUrl(), CODEGEN_OUT: out, NO_COLOR: '1' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    let sdl = null;
    try {
      sdl = readFileSync(out, 'utf8');
    } catch {
      sdl = null;
    }
    return {
      status: cli.status,
      signal: cli.signal,
      error: cli.error ? String(cli.error) : null,
      stdout: cli.stdout.slice(-3000),
      stderr: cli.stderr.slice(-3000),
      ms: Date.now() - started,
      sdl,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
