import { describe, expect, it } from 'vitest';
import { ImagePreprocessor, parsePreprocessorConfig } from '@msd/vision';
import { diffStats, ensureFixture, imagePath, llavaConfigPath, readReference } from './fixture';

const manifest = ensureFixture();
const rows: string[] = [];

const cases = Object.keys(manifest.configs).flatMap((configName) =>
  (['auto', 'pil'] as const).map((resampler) => [`${configName}, resampler ${resampler}`, configName, resampler] as const),
);

describe.each(cases)('fidelity vs PIL reference (%s)', (_label, configName, resampler) => {
  const source = manifest.configs[configName]!;
  const load = () =>
    typeof source === 'string'
      ? ImagePreprocessor.load(llavaConfigPath, { resampler })
      : Promise.resolve(new ImagePreprocessor(parsePreprocessorConfig(source), { resampler }));

  it.each(manifest.images.map((image) => [image.name, image] as const))('%s', async (_name, image) => {
    const preprocessor = await load();
    const { data, dims } = await preprocessor.preprocess(imagePath(image));
    expect(dims).toEqual(image.dims[configName]);
    const { max, mean } = diffStats(data, readReference(configName, image));
    rows.push(`| ${configName} | ${resampler} | ${image.file} | ${image.case} | ${image.width}x${image.height} | ${max.toFixed(4)} | ${mean.toFixed(5)} |`);
    console.log(`[fidelity] ${configName}/${resampler} ${image.file}: max ${max.toFixed(4)} mean ${mean.toFixed(5)}`);
    expect(mean).toBeLessThan(0.02);
    // The JavaScript port of Pillow's resize reproduces PIL exactly (same decoders' output, same fixed-point maths).
    if (resampler === 'pil') expect(max).toBeLessThan(1e-5);
  });
});

if (process.env.MSD_FIDELITY_TABLE) {
  const { afterAll } = await import('vitest');
  afterAll(async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.MSD_FIDELITY_TABLE!, `${rows.join('\n')}\n`);
  });
}
