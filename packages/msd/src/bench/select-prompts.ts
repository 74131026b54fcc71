import { InvalidArgumentError } from '@msd/core';
import { numberOption } from '../cli-arguments';
import { heldoutPromptFile, readBenchmarkPrompts, type BenchmarkPrompt } from './benchmark/benchmark-prompts';

/** Options that pick benchmark or calibration prompts. */
export interface PromptSelection {
  set?: string[];
  prompts?: string[];
  limit?: string;
}

const SETS = ['multimodal', 'two-image', 'text-only', 'detailed'];

/**
 * The held-out prompts of the chosen sets (`--set`, default all three; `--limit` per set) beside the
 * model directory, plus every `--prompts FILE` of the user's own.
 */
export function selectPrompts(selection: PromptSelection, modelDirectory: string): BenchmarkPrompt[] {
  const sets = selection.set?.length ? selection.set.flatMap((set) => (set === 'all' ? SETS : [set])) : selection.prompts?.length ? [] : SETS;
  for (const set of sets) {
    if (!SETS.includes(set))
      throw new InvalidArgumentError({ argument: 'set', message: `Unknown prompt set '${set}'.`, hint: `Use ${SETS.join(', ')} or all, or --prompts FILE.` });
  }
  const limit = numberOption(selection.limit, 'limit');
  const prompts: BenchmarkPrompt[] = [];
  if (sets.length) {
    const file = heldoutPromptFile(modelDirectory);
    if (!file)
      throw new InvalidArgumentError({
        argument: 'set',
        message: `The model directory ${modelDirectory} has no held-out prompts beside it (../heldout/prompts.jsonl).`,
        hint: 'Pass your own with --prompts FILE.',
      });
    const all = readBenchmarkPrompts(file);
    for (const set of sets) prompts.push(...all.filter((prompt) => prompt.set === set).slice(0, limit ?? Infinity));
  }
  for (const file of selection.prompts ?? []) prompts.push(...readBenchmarkPrompts(file, 'custom').slice(0, limit ?? Infinity));
  if (!prompts.length) throw new InvalidArgumentError({ argument: 'prompts', message: 'No prompts selected.', hint: 'Check --set, --prompts and --limit.' });
  return prompts;
}
