import { InvalidArgumentError, MsdError } from '@msd/core';

/** A numeric command-line option, or `undefined` when absent; a typed error names the flag otherwise. */
export function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  // Number('') and Number('  ') are 0: an empty value must not silently mean greedy or zero threads.
  if (value.trim() === '') throw new InvalidArgumentError({ argument: flag, message: `--${flag} needs a number, got an empty value.` });
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new InvalidArgumentError({ argument: flag, message: `--${flag} must be a number, got '${value}'.` });
  return parsed;
}

/**
 * Joins `--flag -1` into `--flag=-1` for every flag that takes a value: node's parseArgs takes a
 * value that starts with a dash for an option ("argument is ambiguous"), so a negative number would
 * be reported as a usage error instead of as the bad value it is.
 */
export function joinNegativeValues(args: readonly string[], booleanFlags: ReadonlySet<string>): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const argument = args[index]!;
    const next = args[index + 1];
    const takesValue = /^--[^=]+$/.test(argument) && !booleanFlags.has(argument.slice(2));
    if (takesValue && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      joined.push(`${argument}=${next}`);
      index++;
    } else {
      joined.push(argument);
    }
  }
  return joined;
}

/**
 * A bad command line found before any model loads (an unknown value, a missing file): the CLI
 * reports the wrapped error and exits 2, where a failure while running exits 1.
 */
export class CliUsageError extends Error {
  constructor(readonly error: MsdError) {
    super(error.message);
    this.name = 'CliUsageError';
  }
}

/** Runs the checks of a command's options; a typed error they throw becomes a {@link CliUsageError}. */
export async function beforeLoading<T>(checks: () => T | Promise<T>): Promise<T> {
  try {
    return await checks();
  } catch (error) {
    if (MsdError.isInstance(error)) throw new CliUsageError(error);
    throw error;
  }
}

/**
 * Every `--image` must be a readable file before any model or tokenizer loads: a typo should not
 * cost a model load. A typed error names the path and why.
 */
export async function checkImageFiles(images: readonly string[]): Promise<void> {
  const { access, stat } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  for (const image of images) {
    let problem: string | undefined;
    try {
      await access(image, constants.R_OK);
      if (!(await stat(image)).isFile()) problem = 'EISDIR';
    } catch (cause) {
      problem = (cause as NodeJS.ErrnoException).code ?? String(cause);
    }
    if (problem !== undefined) {
      throw new InvalidArgumentError({
        argument: 'image',
        message: `Cannot read image ${image}: ${problem}.`,
        hint: 'Check the path; --image takes a file (PNG, JPEG, WebP, GIF, TIFF, AVIF).',
      });
    }
  }
}
