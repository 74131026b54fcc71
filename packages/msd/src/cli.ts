#!/usr/bin/env node
/**
 * The `msd` command line. Commands load their native modules (sharp, onnxruntime-node) only when run.
 */
import { parseArgs } from 'node:util';
import { MsdError } from '@msd/core';
import { runGenerate } from './cli-generate';
import { runPrepare } from './cli-prepare';

const usage = `msd — multimodal speculative decoding for vision-language models

Usage:
  msd generate --prompt TEXT [--image PATH]... [--model DIR] [--device cpu|webgpu|cuda|...]
               [--temperature T] [--top-p P] [--top-k K] [--seed N] [--max-new-tokens N]
               [--no-speculative] [--draft NAME] [--threads N] [--json]
      Stream the answer of the model (default: the bundled tiny LLaVA) and print statistics.

  msd prepare --image PATH --prompt TEXT --tokenizer DIR --preprocessor PATH
              [--image-tokens N] [--json]
      Build the LLaVA prompt, expand and tag image positions, preprocess the images,
      and print what a model would receive.

Options:
  -h, --help   show this help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
        model: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'top-k': { type: 'string' },
        seed: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        'no-speculative': { type: 'boolean', default: false },
        draft: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    return runGenerate(values);
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
