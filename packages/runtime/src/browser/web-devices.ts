import { type DeviceAvailability, type DeviceName, pickDevice, type ResolveDeviceOptions, type ResolvedDevice } from '../device';

/** The parts of WebGPU's adapter this module reads (typed here: the DOM typings may lack WebGPU). */
interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
}

/** `navigator.gpu`, when the browser has WebGPU. */
function webGpu(): { requestAdapter(): Promise<GpuAdapterLike | null> } | undefined {
  return (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } }).navigator?.gpu;
}

async function webGpuAdapter(): Promise<GpuAdapterLike | null> {
  const gpu = webGpu();
  if (!gpu) return null;
  try {
    return await gpu.requestAdapter();
  } catch {
    return null;
  }
}

/**
 * A software adapter (SwiftShader, lavapipe, llvmpipe) runs WebGPU on the CPU, far slower than
 * onnxruntime-web's WebAssembly provider; browsers flag it as a fallback adapter, or name it.
 */
function isSoftware(adapter: GpuAdapterLike): boolean {
  if (adapter.isFallbackAdapter || adapter.info?.isFallbackAdapter) return true;
  const { vendor = '', architecture = '', description = '' } = adapter.info ?? {};
  return /swiftshader|lavapipe|llvmpipe|software/i.test(`${vendor} ${architecture} ${description}`);
}

/**
 * Which execution providers this browser can use: `wasm` (and its alias `cpu`) always, `webgpu` when
 * the browser gives an adapter (marked `software` for a CPU-emulated one).
 *
 * @example
 * ```ts
 * import { listDevices } from '@msd/runtime'; // the browser entry in a browser bundle
 *
 * for (const device of await listDevices()) console.log(device.device, device.available, device.software ?? false);
 * ```
 */
export async function listDevices(): Promise<DeviceAvailability[]> {
  return devicesAvailable(true);
}

/** The devices; WebGPU is asked for an adapter only when `askWebGpu` (asking logs a warning when there is none). */
async function devicesAvailable(askWebGpu: boolean): Promise<DeviceAvailability[]> {
  const adapter = askWebGpu ? await webGpuAdapter() : null;
  const webgpu: DeviceAvailability = !adapter
    ? {
        device: 'webgpu',
        available: false,
        reason: webGpu() ? 'the browser gave no WebGPU adapter' : 'this browser has no WebGPU (navigator.gpu)',
        install: 'Use a browser with WebGPU enabled (Chrome/Edge 113+, or a flag), on a machine with a GPU driver.',
      }
    : isSoftware(adapter)
      ? {
          device: 'webgpu',
          available: true,
          software: true,
          reason: `the only adapter is a software one (${adapter.info?.architecture || adapter.info?.vendor || 'fallback adapter'})`,
        }
      : { device: 'webgpu', available: true };
  const others = ['cuda', 'tensorrt', 'dml', 'coreml'] as const;
  return [
    { device: 'wasm', available: true },
    { device: 'cpu', available: true },
    webgpu,
    ...others.map((device) => ({ device, available: false, reason: 'not available in a browser (onnxruntime-web has wasm and webgpu)' })),
  ];
}

async function probeSession(device: DeviceName): Promise<void> {
  const { createGatherSession } = await import('./create-web-session');
  const session = await createGatherSession(device);
  await session.release();
}

/**
 * Picks the first usable device of a preference list with the same rules as in Node: a WebGPU
 * adapter must exist and open a session, a software adapter is passed over for a later usable device
 * (`wasm`) unless `allowSoftwareAdapter`; otherwise {@link DeviceUnavailableError}.
 *
 * @example
 * ```ts
 * import { resolveDevice } from '@msd/runtime'; // the browser entry in a browser bundle
 *
 * const { device } = await resolveDevice(['webgpu', 'wasm']);
 * ```
 */
export async function resolveDevice(preferences: DeviceName | readonly DeviceName[], options: ResolveDeviceOptions = {}): Promise<ResolvedDevice> {
  const askWebGpu = preferences === 'webgpu' || (Array.isArray(preferences) && preferences.includes('webgpu'));
  const known = new Map<DeviceName, DeviceAvailability>((await devicesAvailable(askWebGpu)).map((entry) => [entry.device, entry]));
  return pickDevice(preferences, known, options, probeSession);
}
