import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@msd/core';
import { loadPreprocessorConfig } from '@msd/vision';
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
