import { cpSync, mkdtempSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, MsdError } from '@msd/core';
import { DeviceUnavailableError, ModelSignatureError } from '@msd/runtime';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { ImageCountMismatchError } from '@msd/tokenizer';
import { MsdPipeline } from 'msd';
import { heldoutPrompts } from './heldout-prompts';

const scratch = mkdtempSync(join(tmpdir(), 'msd-robustness-'));
function brokenCopy(name: string, breakIt: (directory: string) => void): string {
  const directory = join(scratch, name);
  cpSync(tinyLlavaDirectory(), directory, { recursive: true });
  breakIt(directory);
  return directory;
}

let pipeline: MsdPipeline;
const image = () => heldoutPrompts().find((prompt) => prompt.set === 'multimodal')!.images[0]!;
beforeAll(async () => {
  pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
});
afterAll(async () => {
  await pipeline?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('bad models and devices give typed errors', () => {
  it('a missing model file', async () => {
    const directory = brokenCopy('missing', (dir) => rmSync(join(dir, 'onnx', 'draft_msd.onnx')));
    const error = await MsdPipeline.create({ modelDirectory: directory }).catch((caught: unknown) => caught);
    expect(ConfigError.isInstance(error) && error.code).toBe('model_file_missing');
  });

  it('a model file that does not match the manifest', async () => {
    const directory = brokenCopy('mismatch', (dir) => copyFileSync(join(dir, 'onnx', 'vision_encoder.onnx'), join(dir, 'onnx', 'embed_tokens.onnx')));
    const error = await MsdPipeline.create({ modelDirectory: directory }).catch((caught: unknown) => caught);
    expect(ModelSignatureError.isInstance(error)).toBe(true);
    expect((error as ModelSignatureError).file).toBe('onnx/embed_tokens.onnx');
  });

  it('an execution provider that is not available here', async () => {
    const unavailable = process.platform === 'win32' ? 'coreml' : 'dml';
    const error = await MsdPipeline.create({ device: unavailable }).catch((caught: unknown) => caught);
    expect(DeviceUnavailableError.isInstance(error)).toBe(true);
  });
});

describe('bad requests give typed errors and leave the pipeline usable', () => {
  it('an image without a placeholder', async () => {
    const error = await pipeline.generate({ messages: [{ role: 'user', content: 'No image here.' }], images: [image()] }).catch((caught: unknown) => caught);
    expect(ImageCountMismatchError.isInstance(error)).toBe(true);
  });

  it('a prompt longer than the context', async () => {
    const images = Array.from({ length: 8 }, image);
    const error = await pipeline.generate({ prompt: 'Compare them.', images }).catch((caught: unknown) => caught);
    expect(MsdError.isInstance(error) && error.code).toBe('context_too_long');
  });

  it('bad options', async () => {
    for (const options of [{ maxNewTokens: 0 }, { temperature: -1 }, { topP: 1.5 }, { prompt: '   ' }]) {
      const error = await pipeline.generate({ prompt: 'Hi', ...options }).catch((caught: unknown) => caught);
      expect(MsdError.isInstance(error), JSON.stringify(options)).toBe(true);
    }
  });

  it('an aborted generation stops cleanly, and the next request works', async () => {
    const controller = new AbortController();
    const stream = pipeline.stream({ prompt: 'Describe the image.', images: [image()], maxNewTokens: 40, signal: controller.signal });
    const error = await (async () => {
      try {
        for await (const _ of stream) controller.abort();
      } catch (caught) {
        return caught;
      }
    })();
    expect(MsdError.isInstance(error) && error.code).toBe('aborted');
    const after = await pipeline.generate({ prompt: 'Describe the image.', images: [image()], maxNewTokens: 8 });
    expect(after.tokenIds.length).toBeGreaterThan(0);
  });

  it('100 generations in a row leave memory flat', async () => {
    const prompt = { prompt: 'What colour is the background?', images: [image()], maxNewTokens: 8 };
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 10; i++) await pipeline.generate({ ...prompt, speculative: i % 2 === 0 });
    gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) await pipeline.generate({ ...prompt, speculative: i % 2 === 0 });
    gc?.();
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    console.log(`RSS growth over 100 generations: ${grown.toFixed(1)} MiB`);
    expect(grown).toBeLessThan(40);
  });
});
