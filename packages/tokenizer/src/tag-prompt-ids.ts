import { TokenTypeCode } from '@msd/core';
import type { EncodedPrompt } from './prompt-segment';
import type { Tokenizer } from './tokenizer';

/**
 * Types raw prompt ids (from elsewhere, e.g. a dataset) by id: the image token is an image placeholder,
 * added/special tokens are special, everything else is text. Prefer `tokenizer.encodePrompt`, which types
 * positions by where they came from.
 *
 * @example
 * ```ts
 * import { tagPromptIds, expandImagePlaceholders } from '@msd/tokenizer';
 *
 * const prompt = tagPromptIds(tokenizer, [1, 3000, 450, 2]);
 * const { tags } = expandImagePlaceholders(prompt, { imageTokensPerImage: 16, imageCount: 1 });
 * ```
 */
export function tagPromptIds(tokenizer: Tokenizer, ids: readonly number[]): EncodedPrompt {
  const imageId = tokenizer.imageTokenId;
  const types = new Uint8Array(ids.length);
  ids.forEach((id, position) => {
    types[position] = id === imageId ? TokenTypeCode.image : tokenizer.isSpecialId(id) ? TokenTypeCode.special : TokenTypeCode.text;
  });
  return { ids: [...ids], types };
}
