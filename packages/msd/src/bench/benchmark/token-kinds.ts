/**
 * Words whose choice depends on the image in the bundled model's answers (and in most answers about
 * pictures): colours, shapes, sizes, places and counts. Acceptance on these tokens is where MSD's
 * decoupled image inputs matter; the template words around them ("The image shows", "is at the")
 * any text model predicts.
 *
 * @example
 * ```ts
 * import { IMAGE_DEPENDENT_WORDS } from 'msd/bench';
 *
 * IMAGE_DEPENDENT_WORDS.has('triangle'); // true
 * ```
 */
export const IMAGE_DEPENDENT_WORDS: ReadonlySet<string> = new Set([
  // colours, backgrounds
  'red',
  'green',
  'blue',
  'yellow',
  'purple',
  'orange',
  'white',
  'black',
  'grey',
  'gray',
  'beige',
  'light',
  'dark',
  // shapes
  'circle',
  'circles',
  'square',
  'squares',
  'triangle',
  'triangles',
  'diamond',
  'diamonds',
  // sizes and comparisons
  'small',
  'large',
  'larger',
  'higher',
  'same',
  'different',
  'more',
  // places and relations
  'left',
  'right',
  'top',
  'bottom',
  'centre',
  'center',
  'middle',
  'above',
  'below',
  // counts and answers
  'no',
  'yes',
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
]);

/**
 * Which generated tokens belong to an image-dependent word: every token that overlaps such a word in
 * the decoded text (a word may span several tokens, a token several words).
 *
 * @example
 * ```ts
 * import { imageDependentTokens } from 'msd/bench';
 *
 * const flags = imageDependentTokens(result.tokenIds, (ids) => pipeline.tokenizer.decode(ids));
 * ```
 */
export function imageDependentTokens(
  tokenIds: readonly number[],
  decode: (ids: number[]) => string,
  words: ReadonlySet<string> = IMAGE_DEPENDENT_WORDS,
): boolean[] {
  // ends[i]: characters of the text decoded from the first i + 1 tokens.
  const ends = tokenIds.map((_, index) => decode(tokenIds.slice(0, index + 1)).length);
  const text = decode([...tokenIds]);
  const flags = tokenIds.map(() => false);
  for (const match of text.matchAll(/[A-Za-z]+/g)) {
    if (!words.has(match[0].toLowerCase())) continue;
    const start = match.index;
    const end = start + match[0].length;
    for (let index = 0; index < tokenIds.length; index++) {
      const tokenStart = index === 0 ? 0 : ends[index - 1]!;
      if (tokenStart < end && ends[index]! > start) flags[index] = true;
    }
  }
  return flags;
}

/**
 * Tokens of each kind and how many of them were drafted tokens the target accepted.
 *
 * @example
 * ```ts
 * const kinds: AcceptanceByKind = { image: { tokens: 40, fromDraft: 30 }, other: { tokens: 160, fromDraft: 144 } };
 * ```
 */
export interface AcceptanceByKind {
  /** Tokens of image-dependent words. */
  image: {
    /** Generated tokens of image-dependent words. */
    tokens: number;
    /** Of those, drafted tokens the target accepted. */
    fromDraft: number;
  };
  /** All other tokens. */
  other: {
    /** Generated tokens of all other words. */
    tokens: number;
    /** Of those, drafted tokens the target accepted. */
    fromDraft: number;
  };
}

/**
 * Counts, per kind, the tokens and those that came from the draft (`stats.tokenSources` of a generation).
 *
 * @example
 * ```ts
 * import { acceptanceByKind, imageDependentTokens } from 'msd/bench';
 *
 * const kinds = acceptanceByKind(imageDependentTokens(result.tokenIds, decode), result.stats.tokenSources);
 * console.log(kinds.image.fromDraft / kinds.image.tokens);
 * ```
 */
export function acceptanceByKind(imageFlags: readonly boolean[], sources: ReadonlyArray<'draft' | 'target'>): AcceptanceByKind {
  const counts: AcceptanceByKind = { image: { tokens: 0, fromDraft: 0 }, other: { tokens: 0, fromDraft: 0 } };
  imageFlags.forEach((isImage, index) => {
    const bucket = isImage ? counts.image : counts.other;
    bucket.tokens++;
    if (sources[index] === 'draft') bucket.fromDraft++;
  });
  return counts;
}
