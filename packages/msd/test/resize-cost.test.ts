import { describe, expect, it } from 'vitest';
import { markdownReport, measureResizeCost, type BenchmarkReport } from '../src/bench';
import { bundledModelDirectory } from '../src/bundled-model';
import { heldoutPrompts } from './heldout-prompts';

describe('measureResizeCost', () => {
  it('times exact and libvips resizing on real images and measures how far apart their pixels are', async () => {
    const images = [...new Set(heldoutPrompts().flatMap((prompt) => prompt.images))].slice(0, 3);
    const cost = await measureResizeCost(await bundledModelDirectory(), images, 2);
    expect(cost.images).toBe(3);
    expect(cost.rounds).toBe(2);
    expect(cost.exactMs).toBeGreaterThan(0);
    expect(cost.fastMs).toBeGreaterThan(0);
    // The held-out scenes are downscaled (176-256 px to 96 px), where libvips differs from Pillow.
    expect(cost.maxDifference).toBeGreaterThan(0);
    const report: BenchmarkReport = {
      createdAt: '',
      command: 'msd bench',
      machine: { cpu: 'cpu', cores: 2, platform: 'linux-x64', node: 'v20', onnxruntime: '1.30.0', device: 'cpu' },
      settings: { model: '', sets: [], rounds: 2, maxNewTokens: 8, temperatures: [0], threads: 2, prompts: 0 },
      results: [],
      resizing: cost,
      notes: [],
    };
    const section = markdownReport(report, { tokensPerSecond: 'tokens.svg', tau: 'tau.svg' });
    expect(section).toContain('## Image resizing');
  });
});
