import type { OnnxRuntime } from './load-onnxruntime';

/** Where onnxruntime-web finds its WebAssembly files, and how many threads it runs. */
export interface WebRuntimeSettings {
  /**
   * URL prefix of onnxruntime-web's `.wasm` / `.mjs` files (its package's `dist/`, hosted by your app),
   * e.g. `'/ort/'`. Default: next to the bundle, which bundlers that copy assets handle themselves.
   */
  wasmPaths?: string;
  /**
   * WebAssembly threads. More than 1 needs `crossOriginIsolated` (COOP/COEP headers); without it
   * onnxruntime-web runs one thread. Default: onnxruntime-web's choice.
   */
  threads?: number;
}

/**
 * Applies {@link WebRuntimeSettings} to an onnxruntime module's `env.wasm`: what onnxruntime-web reads
 * when it starts (onnxruntime-node ignores them). In both entries, so code shared by Node and browsers
 * can call it with whichever module `loadOnnxRuntime` gave.
 *
 * @example
 * ```ts
 * import { applyWebRuntimeSettings, loadOnnxRuntime } from '@msd/runtime';
 *
 * applyWebRuntimeSettings(await loadOnnxRuntime(), { wasmPaths: '/ort/', threads: 2 });
 * ```
 */
export function applyWebRuntimeSettings(ort: OnnxRuntime, settings: WebRuntimeSettings): void {
  const wasm = ort.env.wasm as { wasmPaths?: string; numThreads?: number };
  if (settings.wasmPaths !== undefined) wasm.wasmPaths = settings.wasmPaths;
  if (settings.threads !== undefined) wasm.numThreads = settings.threads;
}
