/**
 * The kind of a position in a prompt after image placeholders were expanded.
 * MSD's drafter treats text and image positions differently, so every package
 * reads this one tagging instead of guessing from token ids.
 */
export type TokenType = 'text' | 'image' | 'special';

/**
 * Numeric codes of {@link TokenType}, as stored in {@link TokenTypeTags.types}.
 *
 * @example
 * ```ts
 * import { TokenTypeCode } from '@msd/core';
 *
 * const isImage = tags.types[position] === TokenTypeCode.image;
 * ```
 */
export const TokenTypeCode = {
  /** A position of ordinary prompt or generated text. */
  text: 0,
  /** One image patch: a position holding the image token, filled with vision-encoder features. */
  image: 1,
  /** A special token of the tokenizer, such as BOS (`<s>`) or EOS. */
  special: 2,
} as const satisfies Record<TokenType, number>;

/** A run of consecutive image positions that belong to one image. */
export interface ImageSpan {
  /** First position of the span in the expanded sequence. */
  start: number;
  /** Number of positions (image tokens per image, e.g. 576 for LLaVA-1.5). */
  length: number;
  /** Which image of the request (0-based, in prompt order). */
  imageIndex: number;
}

/**
 * Per-position tags of an expanded sequence: the single source of truth for
 * which positions are text, image patches, or special tokens.
 */
export interface TokenTypeTags {
  /** {@link TokenTypeCode} per position. */
  types: Uint8Array;
  /** Image index per position, -1 at non-image positions. */
  imageIndex: Int32Array;
  /** Patch index within its image per position, -1 at non-image positions. */
  patchIndex: Int32Array;
  /** The image spans, in order of position. */
  imageSpans: ImageSpan[];
}

/**
 * The type name of a position.
 *
 * @example
 * ```ts
 * import { tokenTypeAt } from '@msd/core';
 *
 * tokenTypeAt(tags, 0); // 'special' for a leading <s>
 * ```
 */
export function tokenTypeAt(tags: TokenTypeTags, position: number): TokenType {
  const code = tags.types[position];
  if (code === TokenTypeCode.image) return 'image';
  if (code === TokenTypeCode.special) return 'special';
  return 'text';
}

/**
 * Counts positions per type.
 *
 * @example
 * ```ts
 * import { countTokenTypes } from '@msd/core';
 *
 * countTokenTypes(tags); // { text: 9, image: 576, special: 1 }
 * ```
 */
export function countTokenTypes(tags: TokenTypeTags): Record<TokenType, number> {
  const counts = { text: 0, image: 0, special: 0 };
  for (let position = 0; position < tags.types.length; position++) {
    counts[tokenTypeAt(tags, position)]++;
  }
  return counts;
}
