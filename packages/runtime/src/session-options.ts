import type { InferenceSession } from 'onnxruntime-node';
import { InvalidArgumentError } from '@msd/core';
import { DeviceUnavailableError, type DeviceName } from './device';
import { ModelFileError } from './errors';

/** Session options msd sets; anything else passes through `extra`. */
export interface CreateSessionOptions {
  /** Execution providers in order of preference. Default `['cpu']`. */
  executionProviders?: InferenceSession.ExecutionProviderConfig[];
  /** Threads for one operator; default: onnxruntime's choice (all cores). */
  intraOpNumThreads?: number;
  /** Default `'all'`: the fp16-stored weights' casts are folded when the session loads. */
  graphOptimizationLevel?: InferenceSession.SessionOptions['graphOptimizationLevel'];
  /** Outputs to keep on the device (`gpu-buffer`) instead of copying them to JavaScript (WebGPU only). */
  deviceOutputs?: readonly string[];
  /** Any other onnxruntime session option. */
  extra?: InferenceSession.SessionOptions;
}

/**
 * The execution provider a session with these options runs on first (`cpu` when none is named):
 * what decides where its outputs and caches live.
 *
 * @example
 * ```ts
 * import { primaryDevice } from '@msd/runtime';
 *
 * primaryDevice({ executionProviders: ['webgpu', 'cpu'] }); // 'webgpu'
 * ```
 */
export function primaryDevice(options: CreateSessionOptions): DeviceName {
  const first = options.executionProviders?.[0] ?? 'cpu';
  return (typeof first === 'string' ? first : first.name) as DeviceName;
}

/**
 * Whether a device computes in main memory (onnxruntime-node's `cpu`, onnxruntime-web's `wasm`): its
 * outputs and caches are plain arrays, with nothing to keep on a GPU.
 *
 * @example
 * ```ts
 * import { isCpuDevice } from '@msd/runtime';
 *
 * isCpuDevice('wasm'); // true
 * ```
 */
export function isCpuDevice(device: DeviceName): boolean {
  return device === 'cpu' || device === 'wasm';
}

/**
 * Checks an onnxruntime thread count (`intraOpNumThreads`): absent, or a non-negative integer (0:
 * onnxruntime's choice). onnxruntime's own message for -1 or 1.5 blames the model file.
 *
 * @param argument - The option's name in the caller's terms, for the error.
 *
 * @example
 * ```ts
 * import { checkThreadCount } from '@msd/runtime';
 *
 * checkThreadCount(options.session?.intraOpNumThreads, 'session.intraOpNumThreads');
 * ```
 */
export function checkThreadCount(threads: unknown, argument = 'intraOpNumThreads'): void {
  if (threads === undefined) return;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 0) {
    throw new InvalidArgumentError({ argument, message: `${argument} must be a non-negative integer (0: onnxruntime's choice), got ${String(threads)}.` });
  }
}

/**
 * The onnxruntime session options for msd's options: the same on onnxruntime-node and -web.
 *
 * @example
 * ```ts
 * import { onnxSessionOptions } from '@msd/runtime';
 *
 * onnxSessionOptions({ intraOpNumThreads: 2 }).executionProviders; // ['cpu']
 * ```
 */
export function onnxSessionOptions(options: CreateSessionOptions): InferenceSession.SessionOptions {
  return {
    executionProviders: options.executionProviders ?? ['cpu'],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    // onnxruntime warns about CPU-assigned shape ops on every GPU session; keep errors only.
    logSeverityLevel: 3,
    ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    // Several sessions take turns in one decoding step (target, draft, embeddings); spinning worker
    // threads of an idle session would steal the cores from the one running (measured: draft calls
    // 1 ms alone, 15 ms interleaved with target calls).
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    ...(options.deviceOutputs?.length
      ? { preferredOutputLocation: Object.fromEntries(options.deviceOutputs.map((name) => [name, 'gpu-buffer' as const])) }
      : {}),
    ...options.extra,
  };
}

/**
 * The typed error for a session onnxruntime could not create: {@link DeviceUnavailableError} when a GPU
 * provider is what failed, else {@link ModelFileError} naming the file.
 *
 * @example
 * ```ts
 * import { sessionCreationError } from '@msd/runtime';
 *
 * throw sessionCreationError(new Error('bad protobuf'), 'decoder.onnx', {});
 * ```
 */
export function sessionCreationError(cause: unknown, file: string, options: CreateSessionOptions): Error {
  const message = String((cause as Error)?.message ?? cause);
  const providers = (options.executionProviders ?? ['cpu']).map((provider) => (typeof provider === 'string' ? provider : provider.name));
  if (providers.some((provider) => provider !== 'cpu' && provider !== 'wasm') && /adapter|webgpu|vulkan|cuda|provider|device/i.test(message)) {
    return new DeviceUnavailableError(
      providers.map((provider) => ({ device: provider as DeviceName, available: false, reason: message })),
      cause,
    );
  }
  return new ModelFileError({ file, message: `onnxruntime could not load it (${message}).`, cause });
}
