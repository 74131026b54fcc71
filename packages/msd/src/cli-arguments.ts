import { InvalidArgumentError } from '@msd/core';
import { heldoutPromptFile, readBenchmarkPrompts, type BenchmarkPrompt } from './benchmark/benchmark-prompts';

/** A numeric command-line option, or `undefined` when absent; a typed error names the flag otherwise. */
export function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  // Number('') and Number('  ') are 0: an empty value must not silently mean greedy or zero threads.
  if (value.trim() === '') throw new InvalidArgumentError({ argument: flag, message: `--${flag} needs a number, got an empty value.` });
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new InvalidArgumentError({ argument: flag, message: `--${flag} must be a number, got '${value}'.` });
  return parsed;
}

/** Options that pick benchmark or calibration prompts. */
export interface PromptSelection {
  set?: string[];
  prompts?: string[];
  limit?: string;
}

const SETS = ['multimodal', 'two-image', 'text-only'];

/**
 * The held-out prompts of the chosen sets (`--set`, default all three; `--limit` per set) beside the
 * model directory, plus every `--prompts FILE` of the user's own.
 */
export function selectPrompts(selection: PromptSelection, modelDirectory: string): BenchmarkPrompt[] {
  const sets = selection.set?.length ? selection.set.flatMap((set) => (set === 'all' ? SETS : [set])) : selection.prompts?.length ? [] : SETS;
  for (const set of sets) {
    if (!SETS.includes(set)) throw new InvalidArgumentError({ argument: 'set', message: `Unknown prompt set '${set}'.`, hint: `Use ${SETS.join(', ')} or all, or --prompts FILE.` });
  }
  const limit = numberOption(selection.limit, 'limit');
  const prompts: BenchmarkPrompt[] = [];
  if (sets.length) {
    const file = heldoutPromptFile(modelDirectory);
    if (!file) throw new InvalidArgumentError({ argument: 'set', message: `The model directory ${modelDirectory} has no held-out prompts beside it (../heldout/prompts.jsonl).`, hint: 'Pass your own with --prompts FILE.' });
    const all = readBenchmarkPrompts(file);
    for (const set of sets) prompts.push(...all.filter((prompt) => prompt.set === set).slice(0, limit ?? Infinity));
  }
  for (const file of selection.prompts ?? []) prompts.push(...readBenchmarkPrompts(file, 'custom').slice(0, limit ?? Infinity));
  if (!prompts.length) throw new InvalidArgumentError({ argument: 'prompts', message: 'No prompts selected.', hint: 'Check --set, --prompts and --limit.' });
  return prompts;
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
