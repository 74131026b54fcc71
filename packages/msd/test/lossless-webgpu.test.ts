import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsdPipeline } from 'msd';
import { heldoutPrompts } from './heldout-prompts';

// CI runs this through Mesa's software Vulkan driver (lavapipe): slow, so answers are cut at 16 tokens,
// but every call goes through the WebGPU execution provider with the KV caches in GPU memory.
let pipeline: MsdPipeline;
beforeAll(async () => {
  pipeline = await MsdPipeline.create({ device: 'webgpu' });
});
afterAll(async () => {
  await pipeline?.close();
});

describe('on the WebGPU execution provider', () => {
  it('greedy MSD equals greedy autoregressive decoding on 50 held-out prompts', { timeout: 900_000 }, async () => {
    expect(pipeline.device).toBe('webgpu');
    const all = heldoutPrompts();
    const prompts = [
      ...all.filter((p) => p.set === 'multimodal').slice(0, 30),
      ...all.filter((p) => p.set === 'two-image').slice(0, 10),
      ...all.filter((p) => p.set === 'text-only').slice(0, 10),
    ];
    expect(prompts.length).toBe(50);
    let identical = 0;
    for (const prompt of prompts) {
      const options = { prompt: prompt.question, images: prompt.images, maxNewTokens: 16 };
      const plain = await pipeline.generate({ ...options, speculative: false });
      const speculative = await pipeline.generate(options);
      expect(speculative.tokenIds, `${prompt.set}: ${prompt.question}`).toEqual(plain.tokenIds);
      identical++;
    }
    console.log(`WebGPU lossless greedy: ${identical}/${prompts.length} identical`);
  });
});
