/**
 * onnxruntime-node adapters for msd. The only msd package that imports onnxruntime-node, and it loads
 * it on first use.
 *
 * @module @msd/runtime
 */
export { loadOnnxRuntime } from './load-onnxruntime';
export type { OnnxRuntime } from './load-onnxruntime';
export { checkThreadCount, createSession, createGatherSession, primaryDevice } from './create-session';
export type { CreateSessionOptions } from './create-session';
export { sessionSignature, checkSignature } from './session-signature';
export { checkProcessArguments, MAX_PROCESS_ARGUMENT_BYTES } from './process-arguments';
export type { SessionSignature } from './session-signature';
export { ModelSignatureError, ModelFileError } from './errors';
export { KvCache } from './kv-cache';
export type { KvCacheLayout } from './kv-cache';
export { listDevices, resolveDevice, DeviceUnavailableError } from './execution-providers';
export type { DeviceName, DeviceAvailability, ResolvedDevice, ResolveDeviceOptions } from './execution-providers';
export type { InferenceSession, Tensor } from 'onnxruntime-node';
