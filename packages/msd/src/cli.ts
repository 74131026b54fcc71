#!/usr/bin/env node
/**
 * The `msd` command line. Commands load their native modules (sharp, onnxruntime-node) only when run.
 */
import { parseArgs } from 'node:util';
import { MsdError } from '@msd/core';
import { MAX_PROCESS_ARGUMENT_BYTES } from '@msd/runtime';
import { joinNegativeValues } from './cli-arguments';
import { runGenerate } from './cli-generate';
import { runPrepare } from './cli-prepare';

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

const usage = `msd — multimodal speculative decoding for vision-language models

Usage:
  msd generate --prompt TEXT | --prompt-file PATH|- [--image PATH]... [--model DIR] [--device cpu|webgpu|cuda|...]
               [--temperature T] [--top-p P] [--top-k K] [--seed N] [--max-new-tokens N]
               [--no-speculative] [--no-adaptive] [--draft NAME] [--threads N] [--resampler pil|auto|sharp] [--json]
      Stream the answer of the model (default: the bundled tiny LLaVA) and print statistics.
      Long prompts go through --prompt-file (- reads standard input): arguments over 24 KiB are refused.

  msd bench [--set multimodal|two-image|text-only|detailed|all]... [--prompts FILE]... [--limit N]
            [--rounds R] [--max-new-tokens N] [--temperature T]... [--drafts a,b] [--tuned]
            [--depth D --branching K --total-tokens N --min-confidence P] [--transformers-js DIR] [--model DIR]
            [--device D] [--threads N] [--draft-threads N] [--out DIR] [--json]
      Time msd's autoregressive loop, msd with each draft (and the tuned tree), and
      transformers.js side by side on the same prompts; write a report folder.

  msd tune [--set ...]... [--prompts FILE]... [--limit N] [--quick] [--model DIR]
           [--device D] [--threads N] [--json]
      Measure verification and draft costs on this machine and choose the tree shape
      with the best predicted speed; cached for --tuned and tree: 'tuned'.

  msd prepare --image PATH --prompt TEXT --tokenizer DIR --preprocessor PATH
              [--image-tokens N] [--json]
      Build the LLaVA prompt, expand and tag image positions, preprocess the images,
      and print what a model would receive.

Options:
  -h, --help   show this help
`;

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
  if (!command || command === '-h' || command === '--help') {
    process.stdout.write(usage);
    return command ? 0 : 1;
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
    return runGenerate(values);
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
  if (command === 'prepare') {
    const { values } = parseArgs({
      args: rest,
      options: {
        image: { type: 'string', multiple: true, default: [] },
        prompt: { type: 'string' },
        tokenizer: { type: 'string' },
        preprocessor: { type: 'string' },
        'image-tokens': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    return runPrepare(values);
  }
  process.stderr.write(`msd: unknown command '${command}'.\n\n${usage}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (MsdError.isInstance(error)) {
      process.stderr.write(`msd: [${error.code}] ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`msd: ${error.message}\n\n${usage}`);
      process.exit(2);
    }
    throw error;
  },
);
