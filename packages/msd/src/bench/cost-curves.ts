import { causalAttentionMask, InvalidArgumentError } from '@msd/core';
import { prefillDraftInputs, type DraftStepInput } from '@msd/draft';
import type { ImageInput } from '@msd/vision';
import type { CostPoint } from './benchmark/benchmark-report';
import { spread } from './benchmark/spread';
import type { MsdPipeline } from '../pipeline';
import { prepareInputs } from '@msd/models';

/** Measured cost of target and draft calls on the pipeline's device. */
export interface CostCurves {
  /** Cached positions the calls ran on top of (the calibration prompt's length). */
  contextLength: number;
  /** Median milliseconds of one target call over N new positions; N = 1 is an autoregressive step. */
  verifyCost: CostPoint[];
  /** Median milliseconds of one draft call over N rows. */
  draftCost: CostPoint[];
}

/** Options of {@link measureCostCurves}. */
export interface MeasureCostOptions {
  /** Calibration prompt; its length sets the context the calls run on. Default: a one-image question. */
  prompt: string;
  /** Its images. */
  images: readonly ImageInput[];
  /** Tree sizes (new target positions) to time. Default 1..16 and 20, 24, 32. */
  nodeCounts?: readonly number[];
  /** Draft row counts to time. Default 1..8. */
  rowCounts?: readonly number[];
  /** Timed calls per size (after warm-up), interleaved across sizes. Default 30. */
  repeat?: number;
}

/**
 * Times the calls a decoding step is made of, on the pipeline's own device and threads: the target
 * over N new positions (what verifying an N-node tree costs) and the draft over N rows (one tree
 * round). Sizes are interleaved round by round, so a burst of machine noise hits every size alike.
 *
 * @example
 * ```ts
 * import { MsdPipeline } from 'msd';
 * import { measureCostCurves } from 'msd/bench';
 *
 * const pipeline = await MsdPipeline.create();
 * const curves = await measureCostCurves(pipeline, { prompt: 'Describe the image.', images: ['scene.png'] });
 * console.log(curves.verifyCost); // [{ size: 1, milliseconds: 2.7 }, { size: 2, milliseconds: 2.8 }, ...]
 * ```
 */
export async function measureCostCurves(pipeline: MsdPipeline, options: MeasureCostOptions): Promise<CostCurves> {
  const { target, draft } = pipeline;
  if (!draft)
    throw new InvalidArgumentError({
      argument: 'pipeline',
      message: 'Measuring draft costs needs a pipeline with a draft.',
      hint: 'Create the pipeline without `draft: false`.',
    });
  const nodeCounts = options.nodeCounts ?? [...Array.from({ length: 16 }, (_, i) => i + 1), 20, 24, 32];
  const rowCounts = options.rowCounts ?? Array.from({ length: 8 }, (_, i) => i + 1);
  const repeat = options.repeat ?? 30;
  const { manifest } = target;
  const hiddenSize = manifest.hiddenSize;
  const messages = [
    { role: 'user' as const, content: [...options.images.map(() => ({ type: 'image' as const })), { type: 'text' as const, text: options.prompt }] },
  ];
  const inputs = await prepareInputs({
    tokenizer: pipeline.tokenizer,
    preprocessor: pipeline.preprocessor,
    imageTokensPerImage: manifest.imageTokensPerImage,
    messages,
    images: options.images,
  });
  const length = inputs.ids.length;
  const features = inputs.pixelValues ? await target.encodeImages(inputs.pixelValues.data, inputs.pixelValues.dims) : undefined;
  const prefill = await target.prefill(inputs.ids, inputs.tags, features);
  const draftPrefill = await draft.run(
    draft.emptyCache(),
    prefillDraftInputs({
      ids: [...inputs.ids, manifest.bosTokenId ?? manifest.eosTokenId],
      tags: inputs.tags,
      targetHidden: prefill.hidden,
      imageFeatures: features,
      hiddenSize,
    }),
  );
  const token = inputs.ids[inputs.ids.length - 1]!;
  const verify = async (count: number): Promise<void> => {
    const step = await target.forward(
      prefill.cache,
      new Array<number>(count).fill(token),
      Array.from({ length: count }, (_, i) => length + i),
      causalAttentionMask(length, count),
    );
    target.disposeCache(step.cache);
  };
  const draftPast = draft.cacheLength(draftPrefill.cache);
  const draftStep = async (rows: number): Promise<void> => {
    const input: DraftStepInput = {
      inputIds: new Int32Array(rows).fill(token),
      hiddenStates: repeatRow(prefill.hidden.subarray((length - 1) * hiddenSize, length * hiddenSize), rows),
      imageEmbeds: undefined,
      imageMask: undefined,
      positionIds: new Int32Array(rows).fill(draftPast),
      attentionMask: causalAttentionMask(draftPast, rows),
    };
    draft.disposeCache((await draft.run(draftPrefill.cache, input)).cache);
  };
  try {
    const verifyTimes = await timeInterleaved(nodeCounts, verify, repeat);
    const draftTimes = await timeInterleaved(rowCounts, draftStep, repeat);
    return {
      contextLength: length,
      verifyCost: nodeCounts.map((size, i) => ({ size, milliseconds: spread(verifyTimes[i]!).median })),
      draftCost: rowCounts.map((size, i) => ({ size, milliseconds: spread(draftTimes[i]!).median })),
    };
  } finally {
    target.disposeCache(prefill.cache);
    draft.disposeCache(draftPrefill.cache);
  }
}

function repeatRow(row: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows * row.length);
  for (let i = 0; i < rows; i++) out.set(row, i * row.length);
  return out;
}

async function timeInterleaved(sizes: readonly number[], call: (size: number) => Promise<void>, repeat: number): Promise<number[][]> {
  for (const size of sizes) for (let i = 0; i < 3; i++) await call(size);
  const times = sizes.map(() => [] as number[]);
  for (let round = 0; round < repeat; round++) {
    for (const [index, size] of sizes.entries()) {
      const started = performance.now();
      await call(size);
      times[index]!.push(performance.now() - started);
    }
  }
  return times;
}

/**
 * Milliseconds at `size` on a measured curve: linear between measured points, extended along the
 * last segment beyond them.
 *
 * @example
 * ```ts
 * import { costAt } from 'msd/bench';
 *
 * costAt([{ size: 1, milliseconds: 2 }, { size: 9, milliseconds: 4 }], 5); // 3
 * ```
 */
export function costAt(curve: readonly CostPoint[], size: number): number {
  if (curve.length === 0) throw new InvalidArgumentError({ argument: 'curve', message: 'The cost curve has no points.' });
  const points = [...curve].sort((a, b) => a.size - b.size);
  if (points.length === 1) return points[0]!.milliseconds;
  let index = points.findIndex((point) => point.size >= size);
  if (index === -1) index = points.length - 1;
  if (index === 0) index = 1;
  const low = points[index - 1]!;
  const high = points[index]!;
  return low.milliseconds + ((high.milliseconds - low.milliseconds) * (size - low.size)) / (high.size - low.size);
}
