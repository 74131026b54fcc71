import { ConfigError } from '@msd/core';
import { describe, expect, it } from 'vitest';
import { checkImageFeatureRows } from '../src/onnx-target-runner';

describe('checkImageFeatureRows', () => {
  it('accepts the manifest count and refuses another one with a ConfigError naming the field', () => {
    expect(() => checkImageFeatureRows([2, 144, 256], 144)).not.toThrow();
    let caught: unknown;
    try {
      checkImageFeatureRows([1, 577, 4096], 576);
    } catch (error) {
      caught = error;
    }
    expect(ConfigError.isInstance(caught)).toBe(true);
    expect((caught as Error).message).toContain('577 positions per image');
    expect((caught as Error).message).toContain('imageTokensPerImage');
  });
});
