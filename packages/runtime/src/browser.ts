/**
 * The browser entry of `@msd/runtime` (the `browser` export condition): the same adapters as in Node
 * on onnxruntime-web (WebAssembly and WebGPU providers), sessions from URLs or bytes, and the same
 * device fallback rules. No Node module is imported on this path.
 *
 * @module @msd/runtime/browser
 */
export { loadOnnxRuntime, configureWebRuntime } from './browser/load-onnxruntime-web';
export type { OnnxRuntime } from './load-onnxruntime';
export { createSession, createGatherSession } from './browser/create-web-session';
export { checkThreadCount, isCpuDevice, primaryDevice, onnxSessionOptions, sessionCreationError } from './session-options';
export type { CreateSessionOptions } from './session-options';
export { gatherSequenceGraph } from './gather-sequence-graph';
export { applyWebRuntimeSettings } from './web-runtime-settings';
export type { WebRuntimeSettings } from './web-runtime-settings';
export { sessionSignature, checkSignature } from './session-signature';
export type { SessionSignature } from './session-signature';
export { ModelSignatureError, ModelFileError } from './errors';
export { KvCache } from './kv-cache';
export type { KvCacheLayout } from './kv-cache';
export { listDevices, resolveDevice } from './browser/web-devices';
export { DeviceUnavailableError, pickDevice } from './device';
export type { DeviceName, DeviceAvailability, ResolvedDevice, ResolveDeviceOptions } from './device';
export type { InferenceSession, Tensor } from 'onnxruntime-node';

/** Process arguments do not exist in a browser: nothing to check (the Node entry's guard against an onnxruntime-node crash). */
export function checkProcessArguments(): void {}

/** The Node entry's argument limit, kept so code written for both entries compiles. */
export const MAX_PROCESS_ARGUMENT_BYTES = 24 * 1024;
