/**
 * msd against Hugging Face transformers on random llava-hf checkpoints (issue 14's conformance suite).
 *
 * `bash scripts/conformance.sh` builds the reference side (training/msd_training/conformance.py in a
 * virtual environment with transformers), exports each checkpoint with `msd_training.export_real`, then
 * runs this file with MSD_CONFORMANCE_DIR pointing at the result. Every case is checked with msd's
 * default settings: pixel values, prompt ids, logits along transformers' greedy tokens, greedy tokens
 * autoregressively and speculatively. Without the reference files this suite fails; it never skips.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockedAttention } from '@msd/core';
import { prepareInputs } from '@msd/models';
import type { ChatMessage } from '@msd/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsdPipeline } from '../src/index';

interface ReferenceCase {
  name: string;
  messages: ChatMessage[];
  images: string[];
  prompt: string;
  input_ids: number[];
  tokens: number[];
  min_margin: number | null;
}

interface ReferenceKind {
  kind: string;
  new_tokens: number;
  versions: Record<string, string>;
  cases: ReferenceCase[];
}

interface CaseResult {
  kind: string;
  name: string;
  pixelDifference: number | null;
  idsEqual: boolean;
  logitDifference: number;
  greedyEqual: boolean;
  speculativeEqual: boolean;
}

const PIXEL_TOLERANCE = 1e-5;
const LOGIT_TOLERANCE = 1e-4;

const root = process.env.MSD_CONFORMANCE_DIR;
if (!root || !existsSync(root)) {
  throw new Error(`MSD_CONFORMANCE_DIR (${root ?? 'unset'}) holds no reference files: run bash scripts/conformance.sh`);
}
const kinds = readdirSync(root).filter((entry) => existsSync(join(root, entry, 'cases.json')));
if (kinds.length === 0) throw new Error(`${root} has no <kind>/cases.json: run bash scripts/conformance.sh`);
const results: CaseResult[] = [];

afterAll(() => {
  // The per-kind table the closing note quotes.
  writeFileSync(join(root, 'msd-results.json'), JSON.stringify(results, null, 1));
});

describe.each(kinds)('%s', (kind) => {
  const reference = JSON.parse(readFileSync(join(root, kind, 'cases.json'), 'utf8')) as ReferenceKind;
  let pipeline: MsdPipeline;

  beforeAll(async () => {
    // msd's defaults: only the model directory and a thread count for a small CI machine.
    pipeline = await MsdPipeline.create({ modelDirectory: join(root, kind, 'msd'), session: { intraOpNumThreads: 1 } });
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  it('has at least 20 cases', () => {
    expect(reference.cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(reference.cases)('$name', async (testCase) => {
    const images = testCase.images.map((name) => join(root, 'images', name));
    const inputs = await prepareInputs({
      tokenizer: pipeline.tokenizer,
      preprocessor: pipeline.preprocessor,
      imageTokensPerImage: pipeline.target.manifest.imageTokensPerImage,
      messages: testCase.messages,
      images,
    });
    const result: CaseResult = {
      kind,
      name: testCase.name,
      pixelDifference: null,
      idsEqual: false,
      logitDifference: Number.NaN,
      greedyEqual: false,
      speculativeEqual: false,
    };
    results.push(result);

    result.idsEqual = sameIds(Array.from(inputs.ids), testCase.input_ids);
    expect(Array.from(inputs.ids), 'prompt ids').toEqual(testCase.input_ids);
    if (testCase.images.length > 0) {
      const expected = readNpy(join(root, kind, `${testCase.name}.pixels.npy`));
      expect(inputs.pixelValues?.dims, 'pixel dims').toEqual(expected.shape);
      result.pixelDifference = maxDifference(inputs.pixelValues?.data ?? new Float32Array(), expected.data);
      expect(result.pixelDifference, 'pixel values').toBeLessThanOrEqual(PIXEL_TOLERANCE);
    }

    const logits = await logitsAlong(pipeline, inputs, testCase.tokens);
    const expectedLogits = readNpy(join(root, kind, `${testCase.name}.logits.npy`));
    result.logitDifference = maxDifference(logits, expectedLogits.data);
    expect(result.logitDifference, 'logits along the reference tokens').toBeLessThanOrEqual(LOGIT_TOLERANCE);

    // The model's own EOS (generation_config.json's, as transformers' generate stops on it).
    const expectedTokens = untilEos(testCase.tokens, pipeline.target.manifest.eosTokenId);
    const request = { messages: testCase.messages, images, maxNewTokens: reference.new_tokens };
    const greedy = await pipeline.generate({ ...request, speculative: false });
    result.greedyEqual = sameIds(greedy.tokenIds, expectedTokens);
    expect(greedy.tokenIds, 'greedy tokens').toEqual(expectedTokens);
    const speculative = await pipeline.generate({ ...request, speculative: true });
    result.speculativeEqual = sameIds(speculative.tokenIds, expectedTokens);
    expect(speculative.tokenIds, 'speculative tokens').toEqual(expectedTokens);
  });
});

/** Logits of the target at each reference token's position: the prompt's last row, then the chain. */
async function logitsAlong(pipeline: MsdPipeline, inputs: Awaited<ReturnType<typeof prepareInputs>>, tokens: readonly number[]): Promise<Float32Array> {
  const { target } = pipeline;
  const features = inputs.pixelValues ? await target.encodeImages(inputs.pixelValues.data, inputs.pixelValues.dims) : undefined;
  const prefill = await target.prefill(inputs.ids, inputs.tags, features);
  const vocab = target.vocabSize;
  const out = new Float32Array(tokens.length * vocab);
  out.set(prefill.logits.subarray(prefill.logits.length - vocab));
  const chain = tokens.slice(0, -1);
  if (chain.length > 0) {
    const past = target.cacheLength(prefill.cache);
    const width = past + chain.length;
    const mask = new Float32Array(chain.length * width);
    for (let row = 0; row < chain.length; row++) {
      for (let column = past + row + 1; column < width; column++) mask[row * width + column] = blockedAttention;
    }
    const positions = chain.map((_, index) => past + index);
    const step = await target.forward(prefill.cache, chain, positions, mask);
    out.set(step.logits, vocab);
    target.disposeCache(step.cache);
  }
  target.disposeCache(prefill.cache);
  return out;
}

function untilEos(tokens: readonly number[], eos: number): number[] {
  const end = tokens.indexOf(eos);
  return end === -1 ? [...tokens] : tokens.slice(0, end);
}

function sameIds(actual: readonly number[], expected: readonly number[]): boolean {
  return actual.length === expected.length && actual.every((value, index) => value === expected[index]);
}

function maxDifference(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let index = 0; index < actual.length; index++) max = Math.max(max, Math.abs((actual[index] ?? 0) - (expected[index] ?? 0)));
  return max;
}

/** A little-endian float32 .npy file (what numpy.save writes for the reference arrays). */
function readNpy(path: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: expected a C-order float32 array`);
  const shape = (header.match(/'shape': \(([^)]*)\)/)?.[1] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map(Number);
  const start = 10 + headerLength;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return { shape, data };
}
