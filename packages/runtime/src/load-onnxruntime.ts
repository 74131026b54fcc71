import { MsdError } from '@msd/core';

/** The onnxruntime-node module. */
export type OnnxRuntime = typeof import('onnxruntime-node');

let loading: Promise<OnnxRuntime> | undefined;

/**
 * Loads onnxruntime-node on first use, so importing msd packages never loads the native binding.
 *
 * @example
 * ```ts
 * import { loadOnnxRuntime } from '@msd/runtime';
 *
 * const ort = await loadOnnxRuntime();
 * console.log(ort.listSupportedBackends());
 * ```
 */
export function loadOnnxRuntime(): Promise<OnnxRuntime> {
  loading ??= import('onnxruntime-node').catch((cause: unknown) => {
    loading = undefined;
    throw new MsdError({
      code: 'runtime_unavailable',
      message: 'onnxruntime-node could not be loaded.',
      hint: 'Install it (`pnpm add onnxruntime-node`) on a platform it ships binaries for (linux/macOS/windows, x64/arm64).',
      cause,
    });
  });
  return loading;
}
