import { ConfigError } from '@msd/core';

/**
 * The bundled tiny LLaVA's directory, for `MsdPipeline.create`, `msd bench` and `msd tune` given no model
 * directory.
 * `@msd/tiny-llava` is an optional peer of msd: without it, a typed error says what to do.
 */
export async function bundledModelDirectory(): Promise<string> {
  try {
    return (await import('@msd/tiny-llava')).tinyLlavaDirectory();
  } catch (cause) {
    throw new ConfigError({
      code: 'model_not_found',
      message: 'No model directory was given and the bundled model (@msd/tiny-llava) is not installed.',
      hint: 'Pass a model directory (`modelDirectory`, or --model DIR on the CLI; docs/model-format.md), or install @msd/tiny-llava for the bundled tiny LLaVA.',
      cause,
    });
  }
}
