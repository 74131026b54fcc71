import type { InferenceSession } from 'onnxruntime-node';
import type { DeviceName } from '../device';
import { gatherSequenceGraph } from '../gather-sequence-graph';
import { checkThreadCount, type CreateSessionOptions, isCpuDevice, onnxSessionOptions, sessionCreationError } from '../session-options';
import { loadOnnxRuntime } from './load-onnxruntime-web';

/**
 * Opens an ONNX model as an onnxruntime-web session, from a URL or the model's bytes (what a model
 * loader with progress and caching fetched), with the same typed errors as in Node.
 *
 * @example
 * ```ts
 * import { createSession } from '@msd/runtime'; // the browser entry in a browser bundle
 *
 * const session = await createSession('/model/onnx/decoder_model.onnx', { executionProviders: ['wasm'] });
 * ```
 */
export async function createSession(source: string | Uint8Array, options: CreateSessionOptions = {}): Promise<InferenceSession> {
  checkThreadCount(options.intraOpNumThreads);
  const ort = await loadOnnxRuntime();
  // Threads are a process-wide setting of onnxruntime-web (env.wasm.numThreads), not a session option.
  const { intraOpNumThreads: _threads, ...rest } = options;
  const settings = onnxSessionOptions({ executionProviders: ['wasm'], ...rest });
  try {
    return typeof source === 'string' ? await ort.InferenceSession.create(source, settings) : await ort.InferenceSession.create(source, settings);
  } catch (cause) {
    throw sessionCreationError(cause, typeof source === 'string' ? source : `<${source.byteLength} bytes>`, options);
  }
}

/**
 * The gather graph's session on `device`, output kept there: compacts a KV cache on the GPU.
 *
 * @example
 * ```ts
 * import { createGatherSession } from '@msd/runtime';
 *
 * const gather = await createGatherSession('webgpu');
 * ```
 */
export async function createGatherSession(device: DeviceName): Promise<InferenceSession> {
  return createSession(gatherSequenceGraph(), { executionProviders: [device], ...(isCpuDevice(device) ? {} : { deviceOutputs: ['y'] }) });
}
