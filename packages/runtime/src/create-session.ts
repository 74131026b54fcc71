import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { InvalidArgumentError } from '@msd/core';
import { ModelFileError } from './errors';
import { DeviceUnavailableError, type DeviceName } from './execution-providers';
import { loadOnnxRuntime } from './load-onnxruntime';
import { checkProcessArguments } from './process-arguments';

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
 * Opens an ONNX file as an onnxruntime-node session, with a typed error for a missing or broken file.
 *
 * @example
 * ```ts
 * import { createSession } from '@msd/runtime';
 *
 * const session = await createSession('model/onnx/decoder_model.onnx', { intraOpNumThreads: 2 });
 * console.log(session.inputNames);
 * ```
 */
export async function createSession(path: string, options: CreateSessionOptions = {}): Promise<InferenceSession> {
  checkProcessArguments();
  checkThreadCount(options.intraOpNumThreads);
  try {
    await access(path);
  } catch (cause) {
    throw new ModelFileError({ file: path, message: 'The file does not exist or cannot be read.', cause });
  }
  const ort = await loadOnnxRuntime();
  try {
    return await ort.InferenceSession.create(path, {
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
    });
  } catch (cause) {
    const message = String((cause as Error)?.message ?? cause);
    const providers = (options.executionProviders ?? ['cpu']).map((provider) => (typeof provider === 'string' ? provider : provider.name));
    if (providers.some((provider) => provider !== 'cpu') && /adapter|webgpu|vulkan|cuda|provider|device/i.test(message)) {
      throw new DeviceUnavailableError(
        providers.map((provider) => ({ device: provider as DeviceName, available: false, reason: message })),
        cause,
      );
    }
    throw new ModelFileError({ file: path, message: `onnxruntime could not load it (${String((cause as Error)?.message ?? cause)}).`, cause });
  }
}

/**
 * The session of the small graph that gathers a KV tensor along its sequence axis on the given device,
 * keeping its output there: how a cache on a GPU is compacted without a round trip to JavaScript.
 *
 * @example
 * ```ts
 * import { createGatherSession, KvCache } from '@msd/runtime';
 *
 * const gather = await createGatherSession('webgpu');
 * const cache = KvCache.empty(ort, layout, { gather });
 * ```
 */
export async function createGatherSession(device: DeviceName): Promise<InferenceSession> {
  const path = fileURLToPath(new URL('../assets/gather_sequence.onnx', import.meta.url));
  return createSession(path, { executionProviders: [device], ...(device === 'cpu' ? {} : { deviceOutputs: ['y'] }) });
}
