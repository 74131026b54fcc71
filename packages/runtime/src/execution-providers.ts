import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, MsdError } from '@msd/core';
import { loadOnnxRuntime } from './load-onnxruntime';

/** Execution providers msd knows how to ask onnxruntime-node for. */
export type DeviceName = 'cpu' | 'webgpu' | 'cuda' | 'tensorrt' | 'dml' | 'coreml';

/** Whether a device can be used here, and if not, why and how to fix it. */
export interface DeviceAvailability {
  /** The execution provider. */
  device: DeviceName;
  /** True when a session can be created on it. */
  available: boolean;
  /** Why it is unavailable. */
  reason?: string;
  /** What to do to make it available. */
  install?: string;
  /**
   * WebGPU only: true when the only adapter is a software rasteriser (Mesa's lavapipe, SwiftShader) that
   * runs on the CPU, typically 10-50x slower than onnxruntime's CPU provider.
   */
  software?: boolean;
}

const installHints: Record<DeviceName, string> = {
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
  const devices: DeviceName[] = ['cpu', 'webgpu', 'cuda', 'tensorrt', 'dml', 'coreml'];
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

const unavailableMarker = 'msd.error.DeviceUnavailableError';
const unavailableSymbol = Symbol.for(unavailableMarker);

/**
 * None of the requested execution providers can be used here.
 *
 * @example
 * ```ts
 * import { DeviceUnavailableError } from '@msd/runtime';
 *
 * try { await resolveDevice(['cuda']); }
 * catch (error) { if (DeviceUnavailableError.isInstance(error)) console.error(error.tried); }
 * ```
 */
export class DeviceUnavailableError extends MsdError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker isInstance checks across installs
  private readonly [unavailableSymbol] = true;
  /** Each device tried, with why it could not be used. */
  readonly tried: DeviceAvailability[];

  constructor(tried: DeviceAvailability[], cause?: unknown) {
    super({
      code: 'device_unavailable',
      message: `No requested execution provider is usable: ${tried.map((entry) => `${entry.device} (${entry.reason})`).join('; ')}.`,
      hint:
        tried
          .map((entry) => entry.install)
          .filter(Boolean)
          .join(' ') + " Or add 'cpu' as a fallback.",
      cause,
    });
    this.name = 'DeviceUnavailableError';
    this.tried = tried;
  }

  /** True when `error` is a {@link DeviceUnavailableError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is DeviceUnavailableError {
    return MsdError.hasMarker(error, unavailableMarker);
  }
}

/** The device chosen from a preference list. */
export interface ResolvedDevice {
  /** The device in use. */
  device: DeviceName;
  /** Devices earlier in the list that were unavailable, failed their probe, or were passed over. */
  skipped: DeviceAvailability[];
  /** Usable devices later in the list, to fall back to if opening the model on `device` fails. */
  fallbacks: DeviceName[];
  /** Why `device` was chosen when that needs saying (a software adapter asked for explicitly). */
  note?: string;
}

/** Options of {@link resolveDevice}. */
export interface ResolveDeviceOptions {
  /**
   * Use WebGPU on a software adapter even when a later device in the list is usable. Default false: the
   * CPU provider is far faster than a CPU-emulated GPU; a list that names only webgpu still gets it.
   */
  allowSoftwareAdapter?: boolean;
  /**
   * Checks that a session can really be created on a device (default: a one-node graph is opened on it
   * and released). Throwing marks the device unusable; tests pass their own.
   */
  probe?: (device: DeviceName) => Promise<void>;
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
  const wanted: DeviceName[] | undefined = typeof preferences === 'string' ? [preferences] : Array.isArray(preferences) ? [...preferences] : undefined;
  if (!wanted || wanted.length === 0 || !wanted.every((device) => typeof device === 'string' && device.length > 0)) {
    throw new InvalidArgumentError({
      argument: 'device',
      message: `device must be an execution provider name or a non-empty list of them, got ${JSON.stringify(preferences) ?? String(preferences)}.`,
      hint: "For example 'cpu', or ['webgpu', 'cpu'] to fall back.",
    });
  }
  const probe = options.probe ?? probeSession;
  const known = new Map((await listDevices()).map((entry) => [entry.device, entry]));
  const usable = (device: DeviceName) => known.get(device)?.available === true;
  const skipped: DeviceAvailability[] = [];
  for (const [index, device] of wanted.entries()) {
    const entry = known.get(device) ?? {
      device,
      available: false,
      reason: 'unknown execution provider',
      install: `Use one of ${[...known.keys()].join(', ')}.`,
    };
    if (!entry.available) {
      skipped.push(entry);
      continue;
    }
    const later = wanted.slice(index + 1).filter(usable);
    if (entry.software && !options.allowSoftwareAdapter && later.length > 0) {
      skipped.push({ ...entry, reason: `${entry.reason}, slower than the ${later[0]} provider (allowSoftwareAdapter to use it anyway)` });
      continue;
    }
    if (device !== 'cpu') {
      try {
        await probe(device);
      } catch (cause) {
        skipped.push({ device, available: false, reason: `a session cannot be created: ${firstLine(cause)}`, install: installHints[device] });
        continue;
      }
    }
    const note = entry.software ? `${device} runs on a software adapter (${entry.reason}): expect it to be much slower than the CPU provider` : undefined;
    return { device, skipped, fallbacks: later, ...(note ? { note } : {}) };
  }
  throw new DeviceUnavailableError(skipped);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.slice(0, 300);
}
