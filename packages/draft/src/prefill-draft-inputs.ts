import { InvalidArgumentError, TokenTypeCode, type TokenTypeTags } from '@msd/core';
import { causalAttentionMask } from '@msd/core';
import type { DraftStepInput } from './draft-runner';

/**
 * What {@link prefillDraftInputs} needs: the prompt as the target processed it plus the root.
 *
 * @example
 * ```ts
 * import type { PrefillDraftInputsOptions } from '@msd/draft';
 *
 * const options: PrefillDraftInputsOptions = { ids, tags, targetHidden, imageFeatures, hiddenSize: 4096 };
 * ```
 */
export interface PrefillDraftInputsOptions {
  /**
   * Tokens `x_0..x_n` (length `n + 1`): the `n` positions the target has processed (the expanded
   * prompt, image positions holding the image token id) followed by the root `x_n`, the newest token
   * not yet fed to the target (normally the target's first generated token).
   *
   * @example
   * ```ts
   * const ids = [...promptIds, firstToken];
   * ```
   */
  ids: ArrayLike<number>;
  /**
   * Token-type tags of at least positions `0..n-1` (a tag for the root, position `n`, is optional
   * and must not say image). Positions whose tag is `TokenTypeCode.image` (from `@msd/core`) are image patches,
   * located in `imageFeatures` by the tag's `imageIndex` and `patchIndex`.
   *
   * @example
   * ```ts
   * const { tags } = expandImagePlaceholders(ids, { imageTokenId: 32000, tokensPerImage: 576 });
   * ```
   */
  tags: TokenTypeTags;
  /**
   * `[n * hiddenSize]`: the target's last hidden states `f_0..f_{n-1}` (after the final norm).
   *
   * @example
   * ```ts
   * const targetHidden = prefill.lastHiddenState; // Float32Array of n * hiddenSize
   * ```
   */
  targetHidden: Float32Array;
  /**
   * `[numImages * patches * hiddenSize]`: the projector outputs of every image of the request
   * (`vision_encoder`'s `image_features`), where `patches` is the length of an image span. Required
   * when the tags hold image positions; ignored otherwise.
   *
   * @example
   * ```ts
   * const imageFeatures = vision.imageFeatures; // Float32Array [numImages, 576, 4096]
   * ```
   */
  imageFeatures?: Float32Array | undefined;
  /**
   * The feature width `d` (the draft runner's `hiddenSize`).
   *
   * @example
   * ```ts
   * prefillDraftInputs({ ids, tags, targetHidden, imageFeatures, hiddenSize: runner.hiddenSize });
   * ```
   */
  hiddenSize: number;
}

function invalid(argument: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument, message });
}

/** Patches per image and number of images held by `imageFeatures`, checked against the tags. */
function imageLayout(tags: TokenTypeTags, imageFeatures: Float32Array | undefined, hiddenSize: number): { patches: number; images: number } {
  const spans = tags.imageSpans;
  const patches = spans[0]!.length;
  if (spans.some((span) => span.length !== patches)) {
    throw invalid('tags', `Every image span must have the same length; got ${spans.map((span) => span.length).join(', ')}.`);
  }
  if (!imageFeatures) throw invalid('imageFeatures', `The prompt has ${spans.length} image span(s) but no imageFeatures were given.`);
  const rowSize = patches * hiddenSize;
  if (patches < 1 || imageFeatures.length % rowSize !== 0) {
    throw invalid('imageFeatures', `imageFeatures must hold [numImages, ${patches}, ${hiddenSize}] values; got ${imageFeatures.length}.`);
  }
  return { patches, images: imageFeatures.length / rowSize };
}

/**
 * Builds the draft prefill: one row per processed position `i = 0..n-1`, with a causal mask over
 * an empty cache and `positionIds = i`.
 *
 * Row `i` pairs `f_i` with `x_{i+1}`. Where position `i+1` is an image patch (MSD decoupling),
 * `imageEmbeds` row `i` is that patch's projector output (row `(imageIndex, patchIndex)` of
 * `imageFeatures`), `imageMask[i] = 1` and `inputIds[i] = 0`; elsewhere the `imageEmbeds` row and
 * `imageMask` are 0 and `inputIds[i] = x_{i+1}`. `hiddenStates` row `i` is `f_i` on every row.
 * Any number of images at any positions is supported; without image positions `imageEmbeds` and
 * `imageMask` are `undefined`. Running the result leaves the draft cache at length `n`, and its
 * last output row predicts `f_n`, with candidates for `x_{n+1}` (see {@link draftRootFromOutput}).
 *
 * @throws InvalidArgumentError when sizes disagree, an image position has no feature row, or the
 *   root is tagged as an image.
 *
 * @example
 * ```ts
 * import { draftRootFromOutput, prefillDraftInputs } from '@msd/draft';
 *
 * const input = prefillDraftInputs({ ids: [...promptIds, firstToken], tags, targetHidden, imageFeatures, hiddenSize: runner.hiddenSize });
 * const { output, cache } = await runner.run(emptyCache, input);
 * const root = draftRootFromOutput(runner, output, firstToken);
 * ```
 */
export function prefillDraftInputs(options: PrefillDraftInputsOptions): DraftStepInput {
  const { ids, tags, targetHidden, imageFeatures, hiddenSize } = options;
  if (!Number.isInteger(hiddenSize) || hiddenSize < 1) throw invalid('hiddenSize', `hiddenSize must be a positive integer, got ${hiddenSize}.`);
  const n = ids.length - 1;
  if (n < 1) throw invalid('ids', `ids must hold at least one processed position and the root; got ${ids.length} token(s).`);
  if (tags.types.length < n || tags.types.length > n + 1) {
    throw invalid('tags', `tags must cover the ${n} processed positions (optionally the root too); got ${tags.types.length}.`);
  }
  if (tags.types.length === n + 1 && tags.types[n] === TokenTypeCode.image) {
    throw invalid('tags', `The root (position ${n}) is tagged as an image patch; the root must be a token the target has not processed yet.`);
  }
  if (targetHidden.length !== n * hiddenSize) {
    throw invalid('targetHidden', `targetHidden must hold ${n} x ${hiddenSize} values (f_0..f_${n - 1}); got ${targetHidden.length}.`);
  }
  const layout = tags.imageSpans.length > 0 ? imageLayout(tags, imageFeatures, hiddenSize) : undefined;

  const inputIds = new Int32Array(n);
  const positionIds = new Int32Array(n);
  let imageEmbeds: Float32Array | undefined;
  let imageMask: Float32Array | undefined;
  for (let i = 0; i < n; i++) {
    positionIds[i] = i;
    const next = i + 1;
    if (next < tags.types.length && tags.types[next] === TokenTypeCode.image) {
      const image = tags.imageIndex[next]!;
      const patch = tags.patchIndex[next]!;
      if (!layout || image < 0 || image >= layout.images || patch < 0 || patch >= layout.patches) {
        throw invalid('imageFeatures', `Position ${next} is patch ${patch} of image ${image}, which imageFeatures does not hold.`);
      }
      imageEmbeds ??= new Float32Array(n * hiddenSize);
      imageMask ??= new Float32Array(n);
      const from = (image * layout.patches + patch) * hiddenSize;
      imageEmbeds.set(imageFeatures!.subarray(from, from + hiddenSize), i * hiddenSize);
      imageMask[i] = 1;
    } else {
      inputIds[i] = ids[next]!;
    }
  }
  return {
    inputIds,
    hiddenStates: targetHidden.slice(),
    imageEmbeds,
    imageMask,
    positionIds,
    attentionMask: causalAttentionMask(0, n),
    // Only the last row becomes the tree root.
    topkRows: 'last',
  };
}
