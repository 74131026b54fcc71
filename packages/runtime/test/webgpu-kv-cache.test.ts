import { describe, expect, it } from 'vitest';
import { createGatherSession, createSession, KvCache, loadOnnxRuntime } from '@msd/runtime';

// CI runs this on a GPU-less machine through Mesa's software Vulkan driver (scripts/install-system-deps.sh
// installs it); a failure here on a developer machine means that driver is missing.
describe('KV cache on the WebGPU execution provider', () => {
  it('stays in GPU memory and is compacted there, with the same values as on the CPU', async () => {
    const ort = await loadOnnxRuntime();
    const layout = { layers: 1, heads: 2, headDim: 3 };
    const values = Float32Array.from({ length: 2 * 6 * 3 }, (_, i) => i * 0.5);
    // A "run" that produced 6 positions: use the gather graph itself to put them on the device.
    const gather = await createGatherSession('webgpu');
    const onDevice = await gather.run({
      x: new ort.Tensor('float32', values, [1, 2, 6, 3]),
      indices: new ort.Tensor('int64', BigInt64Array.from([0n, 1n, 2n, 3n, 4n, 5n]), [6]),
    });
    expect(onDevice.y!.location).toBe('gpu-buffer');
    const cache = KvCache.empty(ort, layout, { gather }).fromOutputs({ 'present.0.key': onDevice.y!, 'present.0.value': onDevice.y! });
    expect(cache.location).toBe('gpu-buffer');
    const compacted = await cache.compact([0, 2, 3, 5]);
    expect(compacted.location).toBe('gpu-buffer');
    expect(compacted.length).toBe(4);
    // Read back through a session whose output is on the CPU (getData on GPU tensors is not relied on).
    const reader = await createSession(new URL('../assets/gather_sequence.onnx', import.meta.url).pathname, { executionProviders: ['webgpu'] });
    const back = await reader.run({
      x: compacted.feeds()['past_key_values.0.key']!,
      indices: new ort.Tensor('int64', BigInt64Array.from([0n, 1n, 2n, 3n]), [4]),
    });
    const cpu = KvCache.empty(ort, layout).fromOutputs({
      'present.0.key': new ort.Tensor('float32', values, [1, 2, 6, 3]),
      'present.0.value': new ort.Tensor('float32', values, [1, 2, 6, 3]),
    });
    const expected = (await cpu.compact([0, 2, 3, 5])).feeds()['past_key_values.0.key']!.data as Float32Array;
    expect(Array.from(back.y!.data as Float32Array)).toEqual(Array.from(expected));
    compacted.dispose();
    await Promise.all([gather.release(), reader.release()]);
  });
});
