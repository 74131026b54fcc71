import { ConfigError, InvalidArgumentError } from '@msd/core';

/**
 * How many positions one image takes in the expanded prompt, from a model's `config.json` (or an explicit
 * number, which is checked and returned).
 *
 * Looks, in order, at `image_seq_length`, `num_image_tokens`, `mm_tokens_per_image`, then computes
 * `(image_size / patch_size)^2` from `vision_config` (plus one for the CLS token when
 * `vision_feature_select_strategy` is `'full'`; LLaVA's `'default'` drops it: 336/14 gives 576).
 * A SigLIP tower (`vision_config.model_type: 'siglip_vision_model'`) has no CLS token: `'full'`
 * keeps the patches, `'default'` drops the first patch, as transformers does; its patch grid is
 * floored (384 px with patch 14 gives 27x27 = 729).
 * Throws a `ConfigError` (`missing_image_tokens_per_image`) when none is there.
 *
 * @example
 * ```ts
 * import { imageTokensPerImage } from '@msd/tokenizer';
 *
 * imageTokensPerImage({ vision_config: { image_size: 336, patch_size: 14 } }); // 576
 * imageTokensPerImage({ image_seq_length: 64 });                                // 64
 * imageTokensPerImage(16);                                                      // 16
 * ```
 */
export function imageTokensPerImage(config: number | Record<string, unknown>, path = 'config.json'): number {
  if (typeof config === 'number') {
    if (!Number.isInteger(config) || config <= 0) {
      throw new InvalidArgumentError({
        argument: 'imageTokensPerImage',
        message: `imageTokensPerImage must be a positive integer, got ${config}.`,
      });
    }
    return config;
  }
  if (config === null || typeof config !== 'object') {
    throw new ConfigError({ path, message: 'expected a JSON object.', code: 'missing_image_tokens_per_image' });
  }
  for (const key of ['image_seq_length', 'num_image_tokens', 'mm_tokens_per_image']) {
    const value = config[key];
    if (value !== undefined) return positive(value, key, path);
  }
  const vision = config.vision_config as Record<string, unknown> | undefined;
  if (vision && vision.image_size !== undefined && vision.patch_size !== undefined) {
    const [height, width] = pair(vision.image_size, 'vision_config.image_size', path);
    const [patchH, patchW] = pair(vision.patch_size, 'vision_config.patch_size', path);
    const siglip = vision.model_type === 'siglip_vision_model';
    // SigLIP's towers floor the patch grid (siglip-so400m: 384 px / patch 14 -> 27x27), as the
    // processor's count does; for CLIP a remainder means a broken config.
    if (!siglip && (height % patchH !== 0 || width % patchW !== 0)) {
      throw new ConfigError({
        path,
        code: 'invalid_image_tokens_per_image',
        message: `vision_config.image_size ${height}x${width} is not a multiple of patch_size ${patchH}x${patchW}.`,
      });
    }
    const patches = Math.floor(height / patchH) * Math.floor(width / patchW);
    const cls = siglip ? 0 : 1;
    return patches + cls - (config.vision_feature_select_strategy === 'full' ? 0 : 1);
  }
  throw new ConfigError({
    path,
    code: 'missing_image_tokens_per_image',
    message: 'no image_seq_length, num_image_tokens or vision_config.image_size/patch_size to size images with.',
    hint: 'Add image_seq_length to config.json or pass imageTokensPerImage as a number.',
  });
}

function positive(value: unknown, key: string, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError({
      path,
      code: 'invalid_image_tokens_per_image',
      message: `${key} must be a positive integer, got ${JSON.stringify(value)}.`,
    });
  }
  return value;
}

function pair(value: unknown, key: string, path: string): [number, number] {
  if (Array.isArray(value) && value.length === 2) return [positive(value[0], key, path), positive(value[1], key, path)];
  const single = positive(value, key, path);
  return [single, single];
}
