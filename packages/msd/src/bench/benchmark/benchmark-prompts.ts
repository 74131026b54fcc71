import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from '@msd/core';

/** One prompt of a benchmark set. */
export interface BenchmarkPrompt {
  /** `multimodal`, `two-image`, `text-only`, or `custom` for prompts the user added. */
  set: string;
  /** The question, passed as the `prompt` of each generation (images go before it). */
  question: string;
  /** Absolute image paths. */
  images: string[];
}

/**
 * Reads a prompt file: one JSON object per line, `{ "question": ..., "images": [...], "set"?: ... }`,
 * image paths relative to the file. The bundled model's held-out prompts use this format
 * (`@msd/tiny-llava/heldout/prompts.jsonl`), and so can a user's own.
 *
 * @example
 * ```ts
 * import { readBenchmarkPrompts } from 'msd/bench';
 *
 * const prompts = readBenchmarkPrompts('my-prompts.jsonl', 'custom');
 * ```
 */
export function readBenchmarkPrompts(file: string, defaultSet = 'custom'): BenchmarkPrompt[] {
  if (!existsSync(file)) {
    throw new ConfigError({
      code: 'prompts_not_found',
      path: file,
      message: 'The prompt file does not exist.',
      hint: 'Pass a JSON-lines file of { "question", "images" } objects.',
    });
  }
  const directory = dirname(file);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line, index) => {
      let parsed: { question?: unknown; images?: unknown; set?: unknown };
      try {
        parsed = JSON.parse(line);
      } catch (cause) {
        throw new ConfigError({ code: 'prompts_invalid', path: file, message: `Line ${index + 1} is not JSON.`, cause });
      }
      if (typeof parsed.question !== 'string' || !parsed.question.trim()) {
        throw new ConfigError({ code: 'prompts_invalid', path: file, message: `Line ${index + 1} has no "question" string.` });
      }
      const images = Array.isArray(parsed.images) ? parsed.images.map(String) : [];
      return {
        set: typeof parsed.set === 'string' ? parsed.set : defaultSet,
        question: parsed.question,
        images: images.map((image) => (isAbsolute(image) ? image : join(directory, image))),
      };
    });
}

/**
 * The held-out prompt sets shipped beside a model directory (`<model>/../heldout/prompts.jsonl`, as
 * the toolchain's bundle stage writes them), or `undefined` when there are none.
 *
 * @example
 * ```ts
 * import { heldoutPromptFile } from 'msd/bench';
 *
 * heldoutPromptFile(tinyLlavaDirectory()); // .../@msd/tiny-llava/heldout/prompts.jsonl
 * ```
 */
export function heldoutPromptFile(modelDirectory: string): string | undefined {
  const file = join(modelDirectory, '..', 'heldout', 'prompts.jsonl');
  return existsSync(file) ? file : undefined;
}
