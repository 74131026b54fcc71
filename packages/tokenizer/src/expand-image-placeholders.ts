import { InvalidArgumentError, TokenTypeCode, type ImageSpan, type TokenTypeTags } from '@msd/core';
import { ImageCountMismatchError } from './errors';
import type { EncodedPrompt } from './prompt-segment';

/**
 * Options of {@link expandImagePlaceholders}.
 *
 * @example
 * ```ts
 * expandImagePlaceholders(prompt, { imageTokensPerImage: imageTokensPerImage(modelConfig), imageCount: images.length });
 * ```
 */
export interface ExpandImageOptions {
  /** Positions per image (see `imageTokensPerImage`), e.g. 576 for LLaVA-1.5. */
  imageTokensPerImage: number;
  /** How many images come with the prompt; must equal the number of placeholders. */
  imageCount: number;
  /** Id to fill image positions with. Default: the placeholder's own id (as llava-hf does). */
  imageTokenId?: number;
}

/**
 * A prompt after image expansion: the ids the model sees and the tags of every position.
 *
 * @example
 * ```ts
 * import type { ExpandedPrompt } from '@msd/tokenizer';
 *
 * const { ids, tags }: ExpandedPrompt = expandImagePlaceholders(prompt, { imageTokensPerImage: 576, imageCount: 1 });
 * ```
 */
export interface ExpandedPrompt {
  /** Token ids, each image placeholder expanded to `imageTokensPerImage` positions (placeholder id, or `imageTokenId` when given). */
  ids: number[];
  /** Type, image index and patch index of every position of `ids`, plus the image spans. */
  tags: TokenTypeTags;
}

/**
 * Expands every image placeholder of an encoded prompt into `imageTokensPerImage` image positions and tags
 * every position (text / image / special, image index, patch index, image spans). This tagging is the
 * single source of truth for which positions are image patches.
 *
 * Throws {@link ImageCountMismatchError} when `imageCount` differs from the placeholders in the prompt.
 *
 * @example
 * ```ts
 * import { buildLlavaPrompt, expandImagePlaceholders } from '@msd/tokenizer';
 *
 * const prompt = tokenizer.encodePrompt(buildLlavaPrompt([
 *   { role: 'user', content: [{ type: 'image' }, { type: 'image' }, { type: 'text', text: 'Compare them.' }] },
 * ]));
 * const { ids, tags } = expandImagePlaceholders(prompt, { imageTokensPerImage: 576, imageCount: 2 });
 * tags.imageSpans; // [{ start: 5, length: 576, imageIndex: 0 }, { start: 583, length: 576, imageIndex: 1 }]
 * ```
 */
export function expandImagePlaceholders(prompt: EncodedPrompt, options: ExpandImageOptions): ExpandedPrompt {
  const perImage = options.imageTokensPerImage;
  if (!Number.isInteger(perImage) || perImage <= 0) {
    throw new InvalidArgumentError({
      argument: 'imageTokensPerImage',
      message: `imageTokensPerImage must be a positive integer, got ${perImage}.`,
    });
  }
  if (prompt.ids.length !== prompt.types.length) {
    throw new InvalidArgumentError({
      argument: 'prompt',
      message: `prompt.ids has ${prompt.ids.length} entries but prompt.types has ${prompt.types.length}.`,
    });
  }
  let placeholders = 0;
  for (const type of prompt.types) if (type === TokenTypeCode.image) placeholders++;
  if (!Number.isInteger(options.imageCount) || options.imageCount !== placeholders) {
    throw new ImageCountMismatchError({ placeholders, images: options.imageCount });
  }
  const length = prompt.ids.length + placeholders * (perImage - 1);
  const ids = new Array<number>(length);
  const types = new Uint8Array(length);
  const imageIndex = new Int32Array(length).fill(-1);
  const patchIndex = new Int32Array(length).fill(-1);
  const imageSpans: ImageSpan[] = [];
  let position = 0;
  for (let source = 0; source < prompt.ids.length; source++) {
    const id = prompt.ids[source] as number;
    const type = prompt.types[source] as number;
    if (type !== TokenTypeCode.image) {
      ids[position] = id;
      types[position] = type;
      position++;
      continue;
    }
    const image = imageSpans.length;
    imageSpans.push({ start: position, length: perImage, imageIndex: image });
    const fill = options.imageTokenId ?? id;
    for (let patch = 0; patch < perImage; patch++, position++) {
      ids[position] = fill;
      types[position] = TokenTypeCode.image;
      imageIndex[position] = image;
      patchIndex[position] = patch;
    }
  }
  return { ids, tags: { types, imageIndex, patchIndex, imageSpans } };
}
