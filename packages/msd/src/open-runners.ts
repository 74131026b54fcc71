import { checkTreeShape, InvalidArgumentError, type ModelManifest, type TreeShape } from '@msd/core';
import { type CreateSessionOptions, type DeviceName, DeviceUnavailableError, ModelFileError, type ResolvedDevice } from '@msd/runtime';
import type { Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor } from '@msd/vision';
import { type ModelSource, OnnxDraftRunner, OnnxTargetRunner } from '@msd/models';
import { DEFAULT_SAMPLING_TREE, overrideTree } from './tree-defaults';

/** What {@link openRunners} needs to open a model on one device. */
export interface OpenRunnersOptions {
  /** The model directory (a path in Node, a URL or picked files in a browser). */
  directory: ModelSource;
  manifest: ModelManifest;
  draftName: string | undefined;
  draftSpec: ModelManifest['drafts'][string] | undefined;
  device: DeviceName;
  options: {
    session?: Omit<CreateSessionOptions, 'executionProviders'>;
    draftSession?: Omit<CreateSessionOptions, 'executionProviders'>;
    warmUp?: boolean;
  };
  tokenizer: Tokenizer;
  preprocessor: ImagePreprocessor;
  progress: (message: string) => void;
}

/**
 * Opens the target and the draft on one device and warms them up; closes what it opened when any
 * of it fails, so the caller can try the next device.
 *
 * @example
 * ```ts
 * const { target, draft } = await openRunners({ directory, manifest, draftName, draftSpec, device: 'cpu', options: {}, tokenizer, preprocessor, progress: console.error });
 * ```
 */
export async function openRunners(open: OpenRunnersOptions): Promise<{ target: OnnxTargetRunner; draft: OnnxDraftRunner | undefined }> {
  const { directory, manifest, draftName, draftSpec, device, options, progress } = open;
  const session: CreateSessionOptions = { ...options.session, executionProviders: [device] };
  progress('loading target (vision encoder, embeddings, decoder)');
  const target = await OnnxTargetRunner.load(directory, manifest, session);
  let draft: OnnxDraftRunner | undefined;
  try {
    if (draftSpec) {
      progress(`loading draft '${draftName}'`);
      draft = await OnnxDraftRunner.load(directory, draftSpec, manifest.hiddenSize, { ...session, ...options.draftSession });
    }
    if (options.warmUp ?? true) {
      progress('warming up');
      const { warmUp } = await import('./warm-up');
      const { imageTokensPerImage, eosTokenId } = manifest;
      await warmUp({ tokenizer: open.tokenizer, preprocessor: open.preprocessor, target, draft, imageTokensPerImage, eosTokenId });
    }
    return { target, draft };
  } catch (error) {
    await Promise.all([target.close(), draft?.close()]);
    throw error;
  }
}

/**
 * Whether opening the model failed because of the device (worth trying the next one): the provider
 * is unavailable, or a GPU provider could not load or run a graph the CPU provider can.
 *
 * @example
 * ```ts
 * if (deviceFailure(error, 'webgpu')) progress('falling back to cpu');
 * ```
 */
export function deviceFailure(error: unknown, device: DeviceName): boolean {
  if (DeviceUnavailableError.isInstance(error)) return true;
  if (device === 'cpu') return false;
  // onnxruntime's own errors (an operator the provider lacks, a lost device) are plain Errors.
  return ModelFileError.isInstance(error) || !(error instanceof Error && 'code' in error);
}

/**
 * The draft a pipeline loads: `option` (a name, or `false` for none) or the manifest's default, with its
 * spec. A name the manifest lacks is an {@link InvalidArgumentError} listing the drafts it has.
 *
 * @example
 * ```ts
 * const { draftName, draftSpec } = chooseDraft(manifest, options.draft);
 * ```
 */
export function chooseDraft(
  manifest: ModelManifest,
  option: string | false | undefined,
): { draftName: string | undefined; draftSpec: ModelManifest['drafts'][string] | undefined } {
  const draftName = option === false ? undefined : (option ?? manifest.defaultDraft);
  const draftSpec = draftName === undefined ? undefined : manifest.drafts[draftName];
  if (draftName !== undefined && !draftSpec) {
    throw new InvalidArgumentError({
      argument: 'draft',
      message: `The model has no draft named '${draftName}'.`,
      hint: `Available: ${Object.keys(manifest.drafts).join(', ') || 'none'}.`,
    });
  }
  return { draftName, draftSpec };
}

/**
 * The default tree of sampled requests, `option` over {@link DEFAULT_SAMPLING_TREE}, checked against the
 * draft's candidates per node before any session opens.
 *
 * @example
 * ```ts
 * const samplingTree = samplingTreeShape(options.samplingTree, draftSpec?.topK);
 * ```
 */
export function samplingTreeShape(option: Partial<TreeShape> | undefined, maxBranching: number | undefined): TreeShape {
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    throw new InvalidArgumentError({ argument: 'samplingTree', message: 'samplingTree must be an object with depth, branching and totalTokens.' });
  }
  const tree = overrideTree(DEFAULT_SAMPLING_TREE, option, 'samplingTree');
  checkTreeShape(tree, { maxBranching, prefix: 'samplingTree.' });
  return tree;
}

/**
 * Opens the model on the device `resolveDevice` chose, and on its fallbacks in turn when opening fails
 * there for a reason of the device ({@link deviceFailure}): a device can pass its probe and still fail
 * (an operator its provider lacks, a driver that gives out under load). Progress says which device is
 * used and why one was fallen back from.
 *
 * @example
 * ```ts
 * const { target, draft, device } = await openOnFirstDevice(await resolveDevice(['webgpu', 'cpu']), { directory, manifest, draftName, draftSpec, options: {}, tokenizer, preprocessor, progress: console.error });
 * ```
 */
export async function openOnFirstDevice(
  resolved: ResolvedDevice,
  open: Omit<OpenRunnersOptions, 'device'>,
): Promise<{ target: OnnxTargetRunner; draft: OnnxDraftRunner | undefined; device: DeviceName }> {
  const { progress } = open;
  const candidates = [resolved.device, ...resolved.fallbacks];
  for (let index = 0; ; index++) {
    const device = candidates[index]!;
    progress(`using device ${device}`);
    try {
      return { ...(await openRunners({ ...open, device })), device };
    } catch (error) {
      const next = candidates[index + 1];
      if (next === undefined || !deviceFailure(error, device)) throw error;
      progress(`opening the model on ${device} failed (${String((error as Error).message).split('\n')[0]}); falling back to ${next}`);
    }
  }
}
