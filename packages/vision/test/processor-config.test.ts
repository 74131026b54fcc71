import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@msd/core';
import { loadPreprocessorConfig, parsePreprocessorConfig } from '@msd/vision';
import { llavaConfigPath } from './fixture';

/** transformers 5 saves the image processor inside processor_config.json, with no preprocessor_config.json. */
describe('processor_config.json', () => {
  const imageProcessor = JSON.parse(readFileSync(llavaConfigPath, 'utf8')) as Record<string, unknown>;

  it('loads the image_processor object when there is no preprocessor_config.json', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'msd-processor-'));
    writeFileSync(join(directory, 'processor_config.json'), JSON.stringify({ image_processor: imageProcessor, patch_size: 14 }));
    expect(await loadPreprocessorConfig(directory)).toEqual(await loadPreprocessorConfig(llavaConfigPath));
  });

  it('prefers preprocessor_config.json when both are there', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'msd-processor-'));
    writeFileSync(join(directory, 'preprocessor_config.json'), JSON.stringify(imageProcessor));
    writeFileSync(join(directory, 'processor_config.json'), JSON.stringify({ image_processor: { ...imageProcessor, crop_size: 7 } }));
    expect((await loadPreprocessorConfig(directory)).cropSize).toEqual({ height: 336, width: 336 });
  });

  it('names a processor_config.json without an image_processor', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'msd-processor-'));
    writeFileSync(join(directory, 'processor_config.json'), JSON.stringify({ patch_size: 14 }));
    const error = await loadPreprocessorConfig(directory).catch((cause: unknown) => cause);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).message).toContain('image_processor');
  });
});

describe('image_processor_type defaults', () => {
  it('SiglipImageProcessor: straight resize to 224x224, no crop, mean and std 0.5 where the config is silent', () => {
    const config = parsePreprocessorConfig({ image_processor_type: 'SiglipImageProcessor', size: { height: 384, width: 384 } });
    expect(config.size).toEqual({ height: 384, width: 384 });
    expect(config.doCenterCrop).toBe(false);
    expect(config.imageMean).toEqual([0.5, 0.5, 0.5]);
    expect(config.imageStd).toEqual([0.5, 0.5, 0.5]);
    expect(parsePreprocessorConfig({ image_processor_type: 'SiglipImageProcessorFast' }).size).toEqual({ height: 224, width: 224 });
  });

  it('CLIP and LLaVA processors keep the CLIP defaults', () => {
    for (const type of ['CLIPImageProcessor', 'CLIPImageProcessorPil', 'LlavaImageProcessor', undefined]) {
      const config = parsePreprocessorConfig({ image_processor_type: type });
      expect(config.size).toEqual({ shortestEdge: 224 });
      expect(config.doCenterCrop).toBe(true);
    }
  });

  it('refuses an image processor it does not implement, naming it', () => {
    expect(() => parsePreprocessorConfig({ image_processor_type: 'Qwen2VLImageProcessor' })).toThrow(ConfigError);
    expect(() => parsePreprocessorConfig({ image_processor_type: 'Qwen2VLImageProcessor' })).toThrow(/image_processor_type.*Qwen2VLImageProcessor/);
  });
});
