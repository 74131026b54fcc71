import { access } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { ModelFileError } from './errors';
import type { DeviceName } from './device';
import { gatherSequenceGraph } from './gather-sequence-graph';
import { loadOnnxRuntime } from './load-onnxruntime';
import { checkProcessArguments } from './process-arguments';
import { checkThreadCount, type CreateSessionOptions, isCpuDevice, onnxSessionOptions, sessionCreationError } from './session-options';

/**
 * Opens an ONNX model as an onnxruntime-node session, from a file path or the model's bytes, with a
 * typed error for a missing or broken file.
 *
 * @example
 * ```ts
 * import { createSession } from '@msd/runtime';
 *
 * const session = await createSession('model/onnx/decoder_model.onnx', { intraOpNumThreads: 2 });
 * console.log(session.inputNames);
 * ```
 */
export async function createSession(source: string | Uint8Array, options: CreateSessionOptions = {}): Promise<InferenceSession> {
  checkProcessArguments();
  checkThreadCount(options.intraOpNumThreads);
  const label = typeof source === 'string' ? source : `<${source.byteLength} bytes>`;
  if (typeof source === 'string') {
    try {
      await access(source);
    } catch (cause) {
      throw new ModelFileError({ file: source, message: 'The file does not exist or cannot be read.', cause });
    }
  }
  const ort = await loadOnnxRuntime();
  try {
    return typeof source === 'string'
      ? await ort.InferenceSession.create(source, onnxSessionOptions(options))
      : await ort.InferenceSession.create(source, onnxSessionOptions(options));
  } catch (cause) {
    throw sessionCreationError(cause, label, options);
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
  return createSession(gatherSequenceGraph(), { executionProviders: [device], ...(isCpuDevice(device) ? {} : { deviceOutputs: ['y'] }) });
}
