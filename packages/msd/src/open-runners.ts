import type { ModelManifest } from '@msd/core';
import { type CreateSessionOptions, type DeviceName, DeviceUnavailableError, ModelFileError } from '@msd/runtime';
import type { Tokenizer } from '@msd/tokenizer';
import type { ImagePreprocessor } from '@msd/vision';
import { type ModelSource, OnnxDraftRunner, OnnxTargetRunner } from '@msd/models';

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
