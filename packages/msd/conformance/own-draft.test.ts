/**
 * An MSD draft trained for a checkpoint by the toolchain (docs/own-draft.md), end to end.
 *
 * `bash scripts/conformance.sh` trains one for some conformance kinds from a small conversation file
 * (`python -m msd_training.checkpoint_draft all`) and exports it into a copy of the kind's model
 * directory (`export_real --draft-only`). Here it must load as the model's `msd` draft, keep greedy
 * output equal to transformers' on every reference case, and accept more draft tokens than the
 * untrained draft the kind was exported with. Without those files the suite fails; it never skips.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage } from '@msd/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsdPipeline } from '../src/index';

interface ReferenceKind {
  new_tokens: number;
  cases: Array<{ name: string; messages: ChatMessage[]; images: string[]; tokens: number[] }>;
}

interface TrainingReport {
  steps: number;
  agreement_train: Record<string, { top1: number; positions: number }>;
  agreement_train_untrained: Record<string, { top1: number; positions: number }>;
}

const root = process.env.MSD_CONFORMANCE_DIR;
if (!root || !existsSync(join(root, 'own-draft'))) {
  throw new Error(`MSD_CONFORMANCE_DIR (${root ?? 'unset'}) holds no own-draft/: run bash scripts/conformance.sh`);
}
const kinds = readdirSync(join(root, 'own-draft')).filter((kind) => existsSync(join(root, 'own-draft', kind, 'msd', 'manifest.json')));
if (kinds.length === 0) throw new Error(`${root}/own-draft has no exported model: run bash scripts/conformance.sh`);

describe.each(kinds)('draft trained for %s', (kind) => {
  const reference = JSON.parse(readFileSync(join(root, kind, 'cases.json'), 'utf8')) as ReferenceKind;
  const report = JSON.parse(readFileSync(join(root, 'own-draft', kind, 'work', 'draft', 'training.json'), 'utf8')) as TrainingReport;
  let trained: MsdPipeline;
  let untrained: MsdPipeline;

  beforeAll(async () => {
    const session = { intraOpNumThreads: 1 };
    trained = await MsdPipeline.create({ modelDirectory: join(root, 'own-draft', kind, 'msd'), session });
    untrained = await MsdPipeline.create({ modelDirectory: join(root, kind, 'msd'), session });
  });
  afterAll(async () => {
    await trained?.close();
    await untrained?.close();
  });

  it('is the model directory’s msd draft, and training raised its agreement with the target', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'own-draft', kind, 'msd', 'manifest.json'), 'utf8'));
    expect(manifest.defaultDraft).toBe('msd');
    expect(manifest.drafts.msd.curriculum).toMatch(/^two-stage, \d+ steps/);
    for (const group of Object.keys(report.agreement_train)) {
      expect(report.agreement_train[group]?.top1 ?? 0, group).toBeGreaterThan(report.agreement_train_untrained[group]?.top1 ?? 1);
    }
  });

  it('stays lossless and accepts more draft tokens than the untrained draft', async () => {
    const accepted = { trained: 0, untrained: 0 };
    const drafted = { trained: 0, untrained: 0 };
    for (const testCase of reference.cases) {
      const images = testCase.images.map((name) => join(root, 'images', name));
      const request = { messages: testCase.messages, images, maxNewTokens: reference.new_tokens, speculative: true };
      const expected = untilEos(testCase.tokens, trained.target.manifest.eosTokenId);
      const fromTrained = await trained.generate(request);
      expect(fromTrained.tokenIds, `${testCase.name} with the trained draft`).toEqual(expected);
      const fromUntrained = await untrained.generate(request);
      expect(fromUntrained.tokenIds, `${testCase.name} with the untrained draft`).toEqual(expected);
      accepted.trained += fromTrained.stats.acceptedTokens;
      accepted.untrained += fromUntrained.stats.acceptedTokens;
      drafted.trained += fromTrained.stats.draftedTokens;
      drafted.untrained += fromUntrained.stats.draftedTokens;
    }
    console.log(
      `[own-draft] ${kind}: accepted ${accepted.trained} of ${drafted.trained} drafted (untrained draft: ${accepted.untrained} of ${drafted.untrained})`,
    );
    expect(accepted.trained).toBeGreaterThan(accepted.untrained);
  });
});

function untilEos(tokens: readonly number[], eos: number): number[] {
  const end = tokens.indexOf(eos);
  return end === -1 ? [...tokens] : tokens.slice(0, end);
}
