#!/usr/bin/env node
/**
 * The `msd` command line. Commands load their native modules (sharp, onnxruntime-node) only when run.
 */
import { parseArgs } from 'node:util';
import { MsdError } from '@msd/core';
import { runPrepare } from './cli-prepare';

const usage = `msd — multimodal speculative decoding for vision-language models

Usage:
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
