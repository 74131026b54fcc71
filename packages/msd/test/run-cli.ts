import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `msd` CLI from source: node, tsx and the `@msd/source` condition, then `cli.ts`. */
export const CLI_COMMAND: readonly string[] = [
  process.execPath,
  '--import',
  'tsx',
  '--conditions=@msd/source',
  fileURLToPath(new URL('../src/cli.ts', import.meta.url)),
];

/** The msd package's directory, where the CLI runs in tests. */
export const CLI_CWD = fileURLToPath(new URL('..', import.meta.url));

/** Runs `msd ARGS` to the end: standard input, and environment variables over the test's own. */
export function runCli(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(CLI_COMMAND[0]!, [...CLI_COMMAND.slice(1), ...args], {
    encoding: 'utf8',
    cwd: CLI_CWD,
    env: { ...process.env, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

/** Starts `msd ARGS` without waiting (to signal it while it runs). */
export function startCli(args: readonly string[]) {
  return spawn(CLI_COMMAND[0]!, [...CLI_COMMAND.slice(1), ...args], { cwd: CLI_CWD });
}
