import { DeviceUnavailableError, listDevices, ModelFileError } from '@msd/runtime';
import { describe, expect, it } from 'vitest';
import { deviceFailure } from '../src/open-runners';
import { runCli } from './run-cli';

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env });
// This CI machine has no GPU: Mesa's lavapipe is its only Vulkan (and so WebGPU) adapter
// (runtime/test/devices.test.ts checks that @msd/runtime tells it apart).
const softwareOnly = (await listDevices()).find((entry) => entry.device === 'webgpu')?.software === true;

describe('device fallback (the msd README example: webgpu, then cpu)', () => {
  it.runIf(softwareOnly)('passes over a software WebGPU adapter for the CPU provider and says why', () => {
    const result = run(['generate', '--device', 'webgpu,cpu', '--prompt', 'Hi', '--max-new-tokens', '2', '--threads', '1']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/device webgpu not used: .*software adapter.*slower than the cpu provider/);
    expect(result.stderr).toMatch(/using device cpu/);
  });

  it('falls back when no session can be created on the GPU provider (no Vulkan driver)', () => {
    // No Vulkan driver at all: the loader finds no ICD, WebGPU has no adapter.
    const noDriver = { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const alone = run(['generate', '--device', 'webgpu', '--prompt', 'Hi', '--max-new-tokens', '2'], noDriver);
    expect(alone.status).toBe(1);
    expect(alone.stderr).toMatch(/\[device_unavailable\] .*webgpu/);
    const withCpu = run(['generate', '--device', 'webgpu,cpu', '--prompt', 'Hi', '--max-new-tokens', '2', '--threads', '1'], noDriver);
    expect(withCpu.status, withCpu.stderr).toBe(0);
    expect(withCpu.stderr).toMatch(/device webgpu not used/);
    expect(withCpu.stderr).toMatch(/using device cpu/);
  });

  it('retries the next device only for failures of the device', () => {
    expect(deviceFailure(new DeviceUnavailableError([{ device: 'webgpu', available: false, reason: 'x' }]), 'webgpu')).toBe(true);
    expect(deviceFailure(new ModelFileError({ file: 'a.onnx', message: 'unsupported operator' }), 'webgpu')).toBe(true);
    expect(deviceFailure(new ModelFileError({ file: 'a.onnx', message: 'missing' }), 'cpu')).toBe(false);
    expect(deviceFailure(new Error('onnxruntime: device lost'), 'webgpu')).toBe(true);
  });
});
