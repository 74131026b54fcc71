import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, validateModelManifest } from '@msd/core';

const manifestPath = fileURLToPath(new URL('../../tiny-llava/model/manifest.json', import.meta.url));
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;

describe('manifest bosTokenId', () => {
  it('accepts null for a model whose tokenizer adds no BOS (Qwen2)', () => {
    expect(validateModelManifest({ ...manifest, bosTokenId: null }, manifestPath).bosTokenId).toBeNull();
  });

  it('still refuses a missing or out-of-range id', () => {
    const { bosTokenId: _dropped, ...withoutBos } = manifest;
    expect(() => validateModelManifest(withoutBos, manifestPath)).toThrow(ConfigError);
    expect(() => validateModelManifest({ ...manifest, bosTokenId: 1e9 }, manifestPath)).toThrow(ConfigError);
  });
});
