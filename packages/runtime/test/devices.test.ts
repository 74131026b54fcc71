import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DeviceUnavailableError, listDevices, resolveDevice } from '@msd/runtime';

describe('execution providers', () => {
  it('lists every device with availability and, when unavailable, why and how to install it', async () => {
    const devices = await listDevices();
    expect(devices.map((entry) => entry.device)).toEqual(['cpu', 'webgpu', 'cuda', 'tensorrt', 'dml', 'coreml']);
    expect(devices.find((entry) => entry.device === 'cpu')?.available).toBe(true);
    for (const entry of devices.filter((device) => !device.available)) {
      expect(entry.reason).toBeTruthy();
      expect(entry.install).toBeTruthy();
    }
    if (process.platform === 'linux') expect(devices.find((entry) => entry.device === 'dml')?.available).toBe(false);
  });

  it('falls back along the preference list and reports what it skipped', async () => {
    const { device, skipped } = await resolveDevice(['dml', 'coreml', 'cpu'].filter((name) => name !== (process.platform === 'win32' ? 'dml' : '')) as never);
    expect(device).toBe(process.platform === 'darwin' ? 'coreml' : 'cpu');
    if (process.platform === 'linux') expect(skipped.map((entry) => entry.device)).toEqual(['dml', 'coreml']);
  });

  it('throws a typed error naming each device when none is usable', async () => {
    const error = await resolveDevice(process.platform === 'win32' ? 'coreml' : 'dml').catch((caught: unknown) => caught);
    expect(DeviceUnavailableError.isInstance(error)).toBe(true);
    expect((error as DeviceUnavailableError).tried[0]?.reason).toMatch(/not built/);
    const unknown = await resolveDevice(['tpu' as never]).catch((caught: unknown) => caught);
    expect(DeviceUnavailableError.isInstance(unknown)).toBe(true);
  });

  // This CI machine has no GPU: Mesa's lavapipe is its only Vulkan (and so WebGPU) adapter.
  const softwareOnly = process.platform === 'linux' && !existsSync('/dev/dri') && !existsSync('/dev/nvidia0') && !existsSync('/dev/dxg');

  it.runIf(softwareOnly)('tells a software WebGPU adapter apart and prefers a later CPU provider over it', async () => {
    const webgpu = (await listDevices()).find((entry) => entry.device === 'webgpu');
    expect(webgpu?.software).toBe(true);
    const resolved = await resolveDevice(['webgpu', 'cpu']);
    expect(resolved.device).toBe('cpu');
    expect(resolved.skipped[0]?.device).toBe('webgpu');
    expect(resolved.skipped[0]?.reason).toMatch(/software adapter.*slower than the cpu provider/);
    // Asked for alone (or with allowSoftwareAdapter), it is used, with a note saying what to expect.
    const alone = await resolveDevice(['webgpu'], { probe: async () => {} });
    expect(alone.device).toBe('webgpu');
    expect(alone.note).toMatch(/software adapter/);
    const allowed = await resolveDevice(['webgpu', 'cpu'], { allowSoftwareAdapter: true, probe: async () => {} });
    expect(allowed).toMatchObject({ device: 'webgpu', fallbacks: ['cpu'] });
  });

  it('probes a GPU device by opening a session on it, and falls back when that fails', async () => {
    const probed: string[] = [];
    const failing = async (device: string) => {
      probed.push(device);
      throw new Error('No supported adapters\n(details)');
    };
    const resolved = await resolveDevice(['webgpu', 'cpu'], { allowSoftwareAdapter: true, probe: failing });
    expect(resolved.device).toBe('cpu');
    expect(probed).toEqual(['webgpu']);
    expect(resolved.skipped[0]?.reason).toBe('a session cannot be created: No supported adapters');
    const error = await resolveDevice(['webgpu'], { probe: failing }).catch((caught: unknown) => caught);
    expect(DeviceUnavailableError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/webgpu \(a session cannot be created: No supported adapters\)/);
  });

  it.runIf(softwareOnly)('the default probe opens a real session on the software adapter', async () => {
    const resolved = await resolveDevice(['webgpu']);
    expect(resolved.device).toBe('webgpu');
  });
});
