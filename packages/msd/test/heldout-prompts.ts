import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyLlavaDirectory } from '@msd/tiny-llava';

/** One held-out prompt of the bundled model's prompt set (written by the toolchain's bundle stage). */
export interface HeldoutPrompt {
  kind: string;
  set: 'multimodal' | 'two-image' | 'text-only' | 'detailed';
  images: string[];
  question: string;
  answer: string;
}

/** The held-out prompts, image paths made absolute. */
export function heldoutPrompts(): HeldoutPrompt[] {
  const directory = join(tinyLlavaDirectory(), '..', 'heldout');
  return readFileSync(join(directory, 'prompts.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as HeldoutPrompt)
    .map((prompt) => ({ ...prompt, images: prompt.images.map((image) => join(directory, image)) }));
}
