import { InvalidArgumentError, MsdError } from '@msd/core';

/**
 * Execution providers msd knows how to ask onnxruntime for: onnxruntime-node's (`cpu`, `webgpu`, `cuda`,
 * `tensorrt`, `dml`, `coreml`) and onnxruntime-web's (`wasm`, `webgpu`; `cpu` is its alias of `wasm`).
 */
export type DeviceName = 'cpu' | 'wasm' | 'webgpu' | 'cuda' | 'tensorrt' | 'dml' | 'coreml';

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

/**
 * The first usable device of a preference list, given what this platform offers (`known`): the rules
 * the Node and the browser adapters share. A device must be available; a software WebGPU adapter is
 * passed over for a later usable device unless `allowSoftwareAdapter`; a GPU device must pass `probe`.
 * Throws {@link DeviceUnavailableError} naming why each one failed.
 *
 * @example
 * ```ts
 * import { pickDevice } from '@msd/runtime';
 *
 * const known = new Map([['cpu', { device: 'cpu', available: true }]] as const);
 * await pickDevice(['webgpu', 'cpu'], known, {}, async () => {}); // { device: 'cpu', ... }
 * ```
 */
export async function pickDevice(
  preferences: DeviceName | readonly DeviceName[],
  known: ReadonlyMap<DeviceName, DeviceAvailability>,
  options: ResolveDeviceOptions,
  probe: (device: DeviceName) => Promise<void>,
): Promise<ResolvedDevice> {
  const wanted: DeviceName[] | undefined = typeof preferences === 'string' ? [preferences] : Array.isArray(preferences) ? [...preferences] : undefined;
  if (!wanted || wanted.length === 0 || !wanted.every((device) => typeof device === 'string' && device.length > 0)) {
    throw new InvalidArgumentError({
      argument: 'device',
      message: `device must be an execution provider name or a non-empty list of them, got ${JSON.stringify(preferences) ?? String(preferences)}.`,
      hint: "For example 'cpu', or ['webgpu', 'cpu'] to fall back.",
    });
  }
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
    if (device !== 'cpu' && device !== 'wasm') {
      try {
        await (options.probe ?? probe)(device);
      } catch (cause) {
        skipped.push({
          device,
          available: false,
          reason: `a session cannot be created: ${firstLine(cause)}`,
          ...(entry.install ? { install: entry.install } : {}),
        });
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
