#!/usr/bin/env node
/**
 * The `msd` command line. Commands load their native modules (sharp, onnxruntime-node) only when run.
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { AbortedError, MsdError } from '@msd/core';
import { MAX_PROCESS_ARGUMENT_BYTES } from '@msd/runtime';
import { CliUsageError, joinNegativeValues } from './cli-arguments';
import { runGenerate } from './cli-generate';
import { CLI_COMMANDS, COMMAND_HELP, type CliCommand, OVERVIEW_HELP } from './cli-help';
import { runPrepare } from './cli-prepare';
import { runServe } from './cli-serve';

/** Ctrl-C: a command in a phase that can stop cleanly (generating) gets the signal; otherwise msd exits now. */
const interrupt = new AbortController();
let interruptible = false;
process.on('SIGINT', () => {
  if (!interruptible || interrupt.signal.aborted) {
    process.stderr.write('\n[msd] interrupted\n');
    process.exit(130);
  }
  interrupt.abort(new AbortedError({ message: 'Interrupted (Ctrl-C).' }));
});

function version(): string {
  // src/cli.ts and dist/cli.js both sit one level below the package's package.json.
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

const promptOptions = {
  set: { type: 'string', multiple: true },
  prompts: { type: 'string', multiple: true },
  limit: { type: 'string' },
  model: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** The flags that take no value; every other flag's value may be a negative number. */
const BOOLEAN_FLAGS = new Set(['json', 'no-speculative', 'no-adaptive', 'tuned', 'quick', 'help']);

async function main(argv: string[]): Promise<number> {
  // onnxruntime-node crashes the process when any argument is about 28,920 bytes or longer; refuse
  // before anything loads.
  const long = argv.find((argument) => Buffer.byteLength(argument) > MAX_PROCESS_ARGUMENT_BYTES);
  if (long !== undefined) {
    process.stderr.write(
      `msd: [argument_too_long] An argument is ${Buffer.byteLength(long)} bytes; arguments over ${MAX_PROCESS_ARGUMENT_BYTES} bytes are refused (onnxruntime-node crashes on them). Pass a long prompt with --prompt-file PATH or --prompt-file - (standard input).\n`,
    );
    return 2;
  }
  const [command, ...given] = argv;
  // `pnpm run bench -- --flags` passes the separator through.
  const rest = joinNegativeValues(given[0] === '--' ? given.slice(1) : given, BOOLEAN_FLAGS);
  if (!command) {
    process.stderr.write(OVERVIEW_HELP);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    const topic = rest[0] as CliCommand | undefined;
    process.stdout.write(topic && topic in COMMAND_HELP ? COMMAND_HELP[topic] : OVERVIEW_HELP);
    return 0;
  }
  if (command === '-v' || command === '--version' || command === 'version') {
    process.stdout.write(`msd ${version()}\n`);
    return 0;
  }
  if (!(CLI_COMMANDS as readonly string[]).includes(command)) {
    process.stderr.write(`msd: unknown command '${command}'. Commands: ${CLI_COMMANDS.join(', ')} (msd --help).\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(COMMAND_HELP[command as CliCommand]);
    return 0;
  }
  if (command === 'generate') {
    const { values } = parseArgs({
      args: rest,
      options: {
        image: { type: 'string', multiple: true, default: [] },
        prompt: { type: 'string' },
        'prompt-file': { type: 'string' },
        model: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'top-k': { type: 'string' },
        seed: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        'no-speculative': { type: 'boolean', default: false },
        'no-adaptive': { type: 'boolean', default: false },
        draft: { type: 'string' },
        resampler: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    return runGenerate(values, {
      signal: interrupt.signal,
      interruptible: (value) => {
        interruptible = value;
      },
    });
  }
  if (command === 'bench') {
    if (rest.some((argument) => argument === '--top-k' || argument.startsWith('--top-k='))) {
      process.stderr.write(`msd: msd bench's --top-k (the tree's children per node) is now --branching K.\n`);
      return 2;
    }
    const { values } = parseArgs({
      args: rest,
      options: {
        ...promptOptions,
        rounds: { type: 'string' },
        'draft-threads': { type: 'string' },
        temperature: { type: 'string', multiple: true },
        drafts: { type: 'string' },
        depth: { type: 'string' },
        branching: { type: 'string' },
        'total-tokens': { type: 'string' },
        'min-confidence': { type: 'string' },
        tuned: { type: 'boolean', default: false },
        'transformers-js': { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
    });
    const { runBench } = await import('./bench/cli-bench');
    return runBench(values, ['msd', command, ...rest].join(' '));
  }
  if (command === 'tune') {
    const { values } = parseArgs({
      args: rest,
      options: { ...promptOptions, draft: { type: 'string' }, repeat: { type: 'string' }, quick: { type: 'boolean', default: false } },
      strict: true,
    });
    const { runTune } = await import('./bench/cli-tune');
    return (await runTune(values)).code;
  }
  if (command === 'serve') {
    const { values } = parseArgs({
      args: rest,
      options: {
        model: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'api-key': { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        'max-queue': { type: 'string' },
        'max-body-mb': { type: 'string' },
        'max-tokens': { type: 'string' },
        'allow-images-from': { type: 'string' },
        draft: { type: 'string' },
      },
      strict: true,
    });
    return runServe(values, {
      signal: interrupt.signal,
      interruptible: (value) => {
        interruptible = value;
      },
    });
  }
  if (command === 'prepare') {
    const { values } = parseArgs({
      args: rest,
      options: {
        image: { type: 'string', multiple: true, default: [] },
        prompt: { type: 'string' },
        tokenizer: { type: 'string' },
        preprocessor: { type: 'string' },
        'image-tokens': { type: 'string' },
        model: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    return runPrepare(values);
  }
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CliUsageError) {
      process.stderr.write(`msd: [${error.error.code}] ${error.error.message}\n`);
      process.exit(2);
    }
    if (MsdError.isInstance(error)) {
      process.stderr.write(`msd: [${error.code}] ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      const command = process.argv[2] as CliCommand;
      process.stderr.write(`msd: ${error.message}\nRun \`msd ${command in COMMAND_HELP ? `${command} ` : ''}--help\` for the options.\n`);
      process.exit(2);
    }
    throw error;
  },
);
