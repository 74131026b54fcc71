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
});
