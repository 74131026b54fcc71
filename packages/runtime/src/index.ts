/**
 * onnxruntime adapters for msd: sessions on a chosen execution provider, device fallback, model
 * signatures and the KV cache. The only msd package that imports onnxruntime: onnxruntime-node here
 * (loaded on first use), onnxruntime-web in browsers (the `browser` export condition, `./browser.ts`).
 *
 * @module @msd/runtime
 */
export { loadOnnxRuntime } from './load-onnxruntime';
export type { OnnxRuntime } from './load-onnxruntime';
export { createSession, createGatherSession } from './create-session';
export { checkThreadCount, isCpuDevice, primaryDevice, onnxSessionOptions, sessionCreationError } from './session-options';
export type { CreateSessionOptions } from './session-options';
export { gatherSequenceGraph } from './gather-sequence-graph';
export { applyWebRuntimeSettings } from './web-runtime-settings';
export type { WebRuntimeSettings } from './web-runtime-settings';
export { sessionSignature, checkSignature } from './session-signature';
export { checkProcessArguments, MAX_PROCESS_ARGUMENT_BYTES } from './process-arguments';
export type { SessionSignature } from './session-signature';
export { ModelSignatureError, ModelFileError } from './errors';
export { KvCache } from './kv-cache';
export type { KvCacheLayout } from './kv-cache';
export { listDevices, resolveDevice } from './execution-providers';
export { DeviceUnavailableError, pickDevice } from './device';
export type { DeviceName, DeviceAvailability, ResolvedDevice, ResolveDeviceOptions } from './device';
export type { InferenceSession, Tensor } from 'onnxruntime-node';
