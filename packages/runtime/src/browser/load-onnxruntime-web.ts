import { MsdError } from '@msd/core';
import type { OnnxRuntime } from '../load-onnxruntime';
import { applyWebRuntimeSettings, type WebRuntimeSettings } from '../web-runtime-settings';

let loading: Promise<OnnxRuntime> | undefined;

/**
 * Loads onnxruntime-web on first use: the browser counterpart of `loadOnnxRuntime` (same API, from
 * onnxruntime-common), typed as the Node module so every adapter of this package serves both.
 *
 * @example
 * ```ts
 * import { loadOnnxRuntime } from '@msd/runtime'; // the browser entry in a browser bundle
 *
 * const ort = await loadOnnxRuntime();
 * ```
 */
export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  loading ??= import('onnxruntime-web')
    .then((module) => ((module as { default?: unknown }).default ?? module) as unknown as OnnxRuntime)
    .catch((cause: unknown) => {
      loading = undefined;
      throw new MsdError({
        code: 'runtime_unavailable',
        message: 'onnxruntime-web could not be loaded.',
        hint: 'Install it beside @msd/runtime and let your bundler resolve it (see docs/browser.md).',
        cause,
      });
    });
  return loading;
}

/**
 * Sets onnxruntime-web's WebAssembly paths and threads. Call it before the first session is created.
 *
 * @example
 * ```ts
 * import { configureWebRuntime } from '@msd/runtime'; // the browser entry in a browser bundle
 *
 * await configureWebRuntime({ wasmPaths: '/ort/', threads: 2 });
 * ```
 */
export async function configureWebRuntime(settings: WebRuntimeSettings): Promise<void> {
  applyWebRuntimeSettings(await loadOnnxRuntime(), settings);
}
