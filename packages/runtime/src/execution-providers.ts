import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type DeviceAvailability, type DeviceName, pickDevice, type ResolveDeviceOptions, type ResolvedDevice } from './device';
import { loadOnnxRuntime } from './load-onnxruntime';

const installHints: Record<Exclude<DeviceName, 'wasm'>, string> = {
  cpu: 'The CPU provider ships with onnxruntime-node.',
  webgpu:
    'Needs a Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver. On a GPU-less Debian machine: Mesa >= 25 from bookworm-backports (mesa-vulkan-drivers, libvulkan1).',
  cuda: 'Install onnxruntime-node with its CUDA provider libraries (allow its postinstall: ONNXRUNTIME_NODE_INSTALL_CUDA=v12) on a machine with an NVIDIA driver.',
  tensorrt: 'Install the CUDA provider libraries (see cuda) and TensorRT.',
  dml: 'DirectML is available on Windows only.',
  coreml: 'CoreML is available on macOS only.',
};

const platformOf: Partial<Record<DeviceName, NodeJS.Platform>> = { dml: 'win32', coreml: 'darwin' };

function providerLibraryPresent(device: 'cuda' | 'tensorrt'): boolean {
  // The CUDA/TensorRT provider libraries sit next to onnxruntime-node's binding when installed.
  const require = createRequire(import.meta.url);
  const packageDirectory = dirname(require.resolve('onnxruntime-node/package.json'));
  const folder = join(packageDirectory, 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(folder, `libonnxruntime_providers_${device}.so`)) || existsSync(join(folder, `onnxruntime_providers_${device}.dll`));
}

/**
 * Whether this machine has a GPU a Vulkan, Metal or D3D12 driver can drive. On Linux a GPU shows as a DRM
 * render node (/dev/dri/renderD*), an NVIDIA device node, or WSL's /dev/dxg; without one, any Vulkan
 * adapter (and so WebGPU's) is a software rasteriser. Other platforms always have a hardware adapter.
 */
function hasHardwareGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const renderNodes = existsSync('/dev/dri') && readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  return renderNodes || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

/**
 * Which execution providers this platform and installation can use.
 *
 * @example
 * ```ts
 * import { listDevices } from '@msd/runtime';
 *
 * for (const device of await listDevices()) console.log(device.device, device.available, device.reason ?? '');
 * ```
 */
export async function listDevices(): Promise<DeviceAvailability[]> {
  const ort = await loadOnnxRuntime();
  const backends = new Map(ort.listSupportedBackends().map((backend) => [backend.name, backend]));
  const devices = ['cpu', 'webgpu', 'cuda', 'tensorrt', 'dml', 'coreml'] as const;
  return devices.map((device) => {
    const platform = platformOf[device];
    if (platform && platform !== process.platform)
      return { device, available: false, reason: `not built for ${process.platform}`, install: installHints[device] };
    const backend = backends.get(device);
    if (!backend)
      return {
        device,
        available: false,
        reason: `onnxruntime-node ${ort.env.versions.common} has no ${device} backend on ${process.platform}-${process.arch}`,
        install: installHints[device],
      };
    if (!backend.bundled && (device === 'cuda' || device === 'tensorrt') && !providerLibraryPresent(device)) {
      return { device, available: false, reason: `the ${device} provider library is not installed next to the binding`, install: installHints[device] };
    }
    if (device === 'webgpu' && !hasHardwareGpu()) {
      return { device, available: true, software: true, reason: 'no GPU on this machine (no /dev/dri render node): only a software adapter' };
    }
    return { device, available: true };
  });
}

async function probeSession(device: DeviceName): Promise<void> {
  const { createGatherSession } = await import('./create-session');
  const session = await createGatherSession(device);
  await session.release();
}

/**
 * Picks the first usable device from a preference list (fallback order), or throws
 * {@link DeviceUnavailableError} naming why each one failed and how to install it. A GPU device is
 * usable when onnxruntime has its backend and a session can be created on it (probed with a one-node
 * graph, so a missing driver is found here, not while the model loads); WebGPU on a software adapter
 * is passed over for a later device unless `allowSoftwareAdapter` is set.
 *
 * @example
 * ```ts
 * import { resolveDevice } from '@msd/runtime';
 *
 * const { device, skipped, fallbacks } = await resolveDevice(['cuda', 'webgpu', 'cpu']);
 * ```
 */
export async function resolveDevice(preferences: DeviceName | readonly DeviceName[], options: ResolveDeviceOptions = {}): Promise<ResolvedDevice> {
  const known = new Map<DeviceName, DeviceAvailability>((await listDevices()).map((entry) => [entry.device, entry]));
  // onnxruntime-web's name for its CPU provider is not one of onnxruntime-node's.
  known.set('wasm', { device: 'wasm', available: false, reason: "wasm is onnxruntime-web's provider (browsers); in Node use cpu" });
  return pickDevice(preferences, known, options, probeSession);
}
