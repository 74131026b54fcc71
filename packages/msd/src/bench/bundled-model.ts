import { ConfigError } from '@msd/core';

/**
 * The bundled tiny LLaVA's directory, for `msd bench` and `msd tune` run without `--model`.
 * `@msd/tiny-llava` is an optional peer of msd: without it, a typed error says what to do.
 */
export async function bundledModelDirectory(): Promise<string> {
  try {
    return (await import('@msd/tiny-llava')).tinyLlavaDirectory();
  } catch (cause) {
    throw new ConfigError({
      code: 'model_not_found',
      message: 'No model directory was given and the bundled model (@msd/tiny-llava) is not installed.',
      hint: 'Pass --model DIR (docs/model-format.md), or install @msd/tiny-llava for the bundled tiny LLaVA.',
      cause,
    });
  }
}
