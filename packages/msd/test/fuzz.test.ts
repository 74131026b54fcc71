/**
 * The fuzz suite (issue 11): seeded, bounded, every case in a child process under a time limit and a
 * memory cap (fuzz/harness.ts). Property: every failure is an MsdError with a code; nothing hangs,
 * crashes or blows up; no user string yields a special or image token; the pipeline answers a fixed
 * request identically after every case. `MSD_FUZZ_SCALE=4` runs four times the cases.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { loadSharp } from '@msd/vision';
import { createCases, imageCases, manifestCases, optionCases, unicodeCases, type FuzzCase } from './fuzz/cases';
import { runCases, summarise } from './fuzz/harness';
import { heldoutPrompts } from './heldout-prompts';

const scale = Number(process.env.MSD_FUZZ_SCALE ?? 1);
const seed = Number(process.env.MSD_FUZZ_SEED ?? 20261203);
const scratch = mkdtempSync(join(tmpdir(), 'msd-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function fuzz(kind: string, cases: FuzzCase[], caseTimeoutMs = 30_000): Promise<void> {
  const outcomes = await runCases({ kind, cases, scratch, caseTimeoutMs, memoryCapBytes: 2 * 1024 ** 3 });
  console.log(summarise(kind, outcomes));
  const failures = outcomes.filter((entry) => entry.outcome !== 'ok' && entry.outcome !== 'typed');
  for (const failure of failures.slice(0, 10))
    console.log(`  case ${failure.id} (${JSON.stringify(cases[failure.id]).slice(0, 200)}): ${failure.outcome} ${failure.detail}`);
  expect(outcomes.length).toBe(cases.length);
  expect(failures).toEqual([]);
}

const image = () => heldoutPrompts().find((prompt) => prompt.set === 'multimodal')!.images[0]!;

describe.concurrent('fuzz', () => {
  it('mutated images, hostile paths and header bombs', async () => {
    const sharp = await loadSharp();
    const png = readFileSync(image());
    const formats: Record<string, Buffer> = {
      png,
      jpeg: await sharp(png).jpeg().toBuffer(),
      webp: await sharp(png).webp().toBuffer(),
      gif: await sharp(png).gif().toBuffer(),
      tiff: await sharp(png).tiff().toBuffer(),
    };
    await fuzz('images', imageCases(seed, 600 * scale, formats));
  });

  it('random Unicode through encode, LLaVA prompts, chat templates and generate', async () => {
    const template = JSON.parse(readFileSync(join(tinyLlavaDirectory(), 'tokenizer_config.json'), 'utf8')).chat_template as string;
    await fuzz('unicode', unicodeCases(seed + 1, 3000 * scale, template));
    // About a minute alone on 2 cores; a loaded machine needs more.
  }, 360_000);

  it('generate() options', async () => {
    await fuzz('options', optionCases(seed + 2, 500 * scale, image()));
  });

  it('MsdPipeline.create() options', async () => {
    await fuzz('create', createCases(seed + 3, 40 * scale));
  });

  it('manifest mutations', async () => {
    const manifest = JSON.parse(readFileSync(join(tinyLlavaDirectory(), 'manifest.json'), 'utf8'));
    await fuzz('manifest', manifestCases(seed + 4, 200 * scale, manifest));
  });
});
