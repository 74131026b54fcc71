import { describeValue, InvalidArgumentError } from '@msd/core';
import { PromptTooLongError } from './errors';

/**
 * The default `maxCharacters` of `encode`, `encodeTemplate` and `encodePrompt`: 50,000 characters (UTF-16
 * code units) of text. Tokenizing is synchronous, and `encodePrompt` of the slowest 50,000-character prompts
 * measured (random Unicode, one character repeated, text without spaces, near-misses of `<image>`) took
 * 0.3-0.7 s with msd's tokenizers on a 2-core machine, while 100,000 characters took 0.8-1.3 s. 50,000
 * characters are far more than the context of the models msd runs (LLaVA-1.5: 4,096 tokens).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_PROMPT_CHARACTERS } from '@msd/tokenizer';
 *
 * tokenizer.encode(longText, { maxCharacters: 4 * DEFAULT_MAX_PROMPT_CHARACTERS });
 * ```
 */
export const DEFAULT_MAX_PROMPT_CHARACTERS = 50_000;

/**
 * Throws {@link PromptTooLongError} when `length` is over the limit, before the caller tokenizes anything
 * (a hostile 1 MB prompt would otherwise block the event loop for seconds). Internal.
 */
export function checkPromptLength(length: number, maxCharacters: number | undefined): void {
  const limit: unknown = maxCharacters === undefined ? DEFAULT_MAX_PROMPT_CHARACTERS : maxCharacters;
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0 || (!Number.isInteger(limit) && limit !== Infinity)) {
    throw new InvalidArgumentError({
      argument: 'maxCharacters',
      message: `maxCharacters must be a non-negative integer or Infinity, got ${describeValue(limit)}.`,
      hint: `Leave it out for the default (${DEFAULT_MAX_PROMPT_CHARACTERS}), or pass Infinity to turn the check off.`,
    });
  }
  if (length > limit) throw new PromptTooLongError({ length, maxCharacters: limit });
}
