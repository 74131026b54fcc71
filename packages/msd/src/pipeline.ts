import { join } from 'node:path';
import { checkTreeShape, InvalidArgumentError, type TreeShape } from '@msd/core';
import { resolveDevice, type CreateSessionOptions, type DeviceName } from '@msd/runtime';
import { Tokenizer } from '@msd/tokenizer';
import type { Resampler } from '@msd/vision';
import { readModelDirectory } from '@msd/models';
import { bundledModelDirectory } from './bundled-model';
import { checkThreads, resolvePipelineLimits, type PipelineLimits } from './pipeline-limits';
import { chooseDraft, openOnFirstDevice, samplingTreeShape } from './open-runners';
import { checkTokenIds, PipelineCore } from './pipeline-core';
import { DEFAULT_TREE, overrideTree } from './tree-defaults';

/** Options of {@link MsdPipeline.create}. */
export interface PipelineOptions {
  /** Model directory (docs/model-format.md). Default: the bundled tiny LLaVA (`@msd/tiny-llava`). */
  modelDirectory?: string;
  /** Which draft of the manifest to use; `false` loads none (autoregressive only). Default: the manifest's default draft. */
  draft?: string | false;
  /**
   * Execution provider, or a fallback list tried in order. Default `'cpu'`. A GPU provider is used when a
   * session can really be created on it, and the model is opened on the next device of the list when
   * opening it on one fails; progress says what was chosen and why.
   */
  device?: DeviceName | DeviceName[];
  /**
   * Use WebGPU on a software adapter (a CPU-emulated GPU, e.g. Mesa's lavapipe on a machine without a GPU)
   * even when a later device of the list is usable. Default false: the CPU provider is far faster there.
   */
  allowSoftwareAdapter?: boolean;
  /** Other onnxruntime session options (threads, optimisation level). */
  session?: Omit<CreateSessionOptions, 'executionProviders'>;
  /**
   * Session options for the draft only, over `session` (e.g. `{ intraOpNumThreads: 1 }`: a draft call
   * is a handful of small operators, where waking a second thread can cost more than it saves).
   */
  draftSession?: Omit<CreateSessionOptions, 'executionProviders'>;
  /**
   * Default tree shape per step, or `'tuned'`: the shape `msd tune` measured for this model, device
   * and thread count (falls back to {@link DEFAULT_TREE}, with a progress message, when none is cached).
   */
  tree?: Partial<TreeShape> | 'tuned';
  /**
   * Default tree shape of sampled requests (temperature > 0): see {@link DEFAULT_SAMPLING_TREE}. A
   * request's own `tree` overrides both defaults.
   */
  samplingTree?: Partial<TreeShape>;
  /** Called while models load, for progress output. */
  onProgress?: (message: string) => void;
  /**
   * Runs one short image request at load (default true), so the first user request is not slower
   * than the next ones (onnxruntime does its first-run work then). Costs one short generation.
   */
  warmUp?: boolean;
  /**
   * How images are resized (`@msd/vision`'s `Resampler`). Default `'pil'`: pixel values equal Hugging
   * Face's `CLIPImageProcessor`, so greedy answers equal transformers'. `'auto'` / `'sharp'` use libvips,
   * faster on large photos, within a few grey levels of it.
   */
  resampler?: Resampler;
  /** Safety limits, checked before any expensive work (see {@link PipelineLimits} for the defaults). */
  limits?: Partial<PipelineLimits>;
}

export { DEFAULT_SAMPLING_TREE, DEFAULT_TREE } from './tree-defaults';

/**
 * Multimodal speculative decoding of a vision-language model: tokenizer, image preprocessing, the
 * target and its MSD draft, loaded from one model directory.
 *
 * @example
 * ```ts
 * import { MsdPipeline } from 'msd';
 *
 * const pipeline = await MsdPipeline.create();
 * const { text, stats } = await pipeline.generate({ prompt: 'What colour is the circle?', images: ['scene.png'] });
 * console.log(text, stats.tau);
 * ```
 */
export class MsdPipeline extends PipelineCore {
  /**
   * Loads the model directory: tokenizer, preprocessor, target graphs and the draft, each checked
   * against the manifest. Options, limits and the manifest are checked before any session opens.
   *
   * @example
   * ```ts
   * const pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 }, onProgress: console.error });
   * ```
   */
  static async create(options: PipelineOptions = {}): Promise<MsdPipeline> {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError({
        argument: 'options',
        message: `MsdPipeline.create takes an options object, got ${options === null ? 'null' : typeof options}.`,
      });
    }
    const progress = options.onProgress ?? (() => {});
    const limits = resolvePipelineLimits(options.limits);
    checkThreads(options.session?.intraOpNumThreads, 'session.intraOpNumThreads', limits);
    checkThreads(options.draftSession?.intraOpNumThreads, 'draftSession.intraOpNumThreads', limits);
    const directory = options.modelDirectory ?? (await bundledModelDirectory());
    const { manifest } = readModelDirectory(directory);
    const resolved = await resolveDevice(options.device ?? 'cpu', { allowSoftwareAdapter: options.allowSoftwareAdapter ?? false });
    for (const entry of resolved.skipped) progress(`device ${entry.device} not used: ${entry.reason}`);
    if (resolved.note) progress(resolved.note);
    progress(`loading tokenizer and preprocessor from ${directory}`);
    const tokenizer = await Tokenizer.fromDirectory(directory);
    checkTokenIds(tokenizer, manifest, join(directory, 'manifest.json'));
    const { ImagePreprocessor } = await import('@msd/vision');
    const preprocessor = await ImagePreprocessor.load(directory, {
      limits: { maxBytes: limits.maxImageBytes, maxPixels: limits.maxImagePixels },
      ...(options.resampler ? { resampler: options.resampler } : {}),
    });
    const { draftName, draftSpec } = chooseDraft(manifest, options.draft);
    // A bad default tree fails before any session opens, not at the first generate.
    if (options.tree !== 'tuned') checkTreeShape(overrideTree(DEFAULT_TREE, options.tree), { maxBranching: draftSpec?.topK, prefix: 'tree.' });
    const samplingTree = samplingTreeShape(options.samplingTree, draftSpec?.topK);
    const { target, draft, device } = await openOnFirstDevice(resolved, {
      directory,
      manifest,
      draftName,
      draftSpec,
      options,
      tokenizer,
      preprocessor,
      progress,
    });
    const tree =
      options.tree === 'tuned'
        ? await tunedTree(directory, device, options.session?.intraOpNumThreads ?? 0, progress)
        : overrideTree(DEFAULT_TREE, options.tree);
    progress('ready');
    return new MsdPipeline({ tokenizer, preprocessor, target, draft, treeShape: tree, samplingTreeShape: samplingTree, device, limits });
  }
}

async function tunedTree(directory: string, device: DeviceName, threads: number, progress: (message: string) => void): Promise<TreeShape> {
  const { readTuning, tuningKeyFor } = await import('./tuning-cache');
  const tuning = await readTuning(await tuningKeyFor(directory, device, threads));
  if (!tuning) {
    progress(`no tuned tree for this model on ${device} with ${threads || 'default'} threads; using the default (run \`msd tune\`)`);
    return DEFAULT_TREE;
  }
  const confidence = tuning.chosen.minConfidence ? `, min confidence ${tuning.chosen.minConfidence}` : '';
  progress(`tuned tree: depth ${tuning.chosen.depth}, branching ${tuning.chosen.branching}, ${tuning.chosen.totalTokens} nodes${confidence}`);
  return tuning.chosen;
}
