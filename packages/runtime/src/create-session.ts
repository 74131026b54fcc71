import { access } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelFileError } from './errors';
import { loadOnnxRuntime } from './load-onnxruntime';

/** Session options msd sets; anything else passes through `extra`. */
export interface CreateSessionOptions {
  /** Execution providers in order of preference. Default `['cpu']`. */
  executionProviders?: InferenceSession.ExecutionProviderConfig[];
  /** Threads for one operator; default: onnxruntime's choice (all cores). */
  intraOpNumThreads?: number;
  /** Default `'all'`: the fp16-stored weights' casts are folded when the session loads. */
  graphOptimizationLevel?: InferenceSession.SessionOptions['graphOptimizationLevel'];
  /** Any other onnxruntime session option. */
  extra?: InferenceSession.SessionOptions;
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
      ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      ...options.extra,
    });
  } catch (cause) {
    throw new ModelFileError({ file: path, message: `onnxruntime could not load it (${String((cause as Error)?.message ?? cause)}).`, cause });
  }
}
