import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@msd/core';
import { MsdPipeline, readTuning, writeTuning } from 'msd';
import { costAt, readBenchmarkPrompts, runBenchmark, spread, tuneTree, type BenchmarkPrompt, type TuningSummary } from 'msd/bench';
import { heldoutPrompts } from './heldout-prompts';
import { runCli } from './run-cli';

// A small configuration of `msd tune` and `msd bench`, as CI runs them: what they report must hold
// together; how fast anything is is not tested (benchmarks measure that, not tests).
const prompts: BenchmarkPrompt[] = [
  ...heldoutPrompts()
    .filter((prompt) => prompt.set === 'multimodal')
    .slice(0, 2),
  ...heldoutPrompts()
    .filter((prompt) => prompt.set === 'text-only')
    .slice(0, 1),
].map((prompt) => ({ set: prompt.set, question: prompt.question, images: prompt.images }));

describe('tree tuning', () => {
  let pipeline: MsdPipeline;
  let tuning: TuningSummary;
  const candidates = [
    { depth: 2, branching: 1, totalTokens: 2 },
    { depth: 4, branching: 2, totalTokens: 6 },
  ];
  beforeAll(async () => {
    pipeline = await MsdPipeline.create({ session: { intraOpNumThreads: 2 } });
    tuning = await tuneTree(pipeline, {
      prompts: prompts.slice(0, 2).map((prompt) => ({ prompt: prompt.question, images: prompt.images })),
      maxNewTokens: 12,
      repeat: 3,
      candidates,
    });
  }, 120_000);
  afterAll(() => pipeline.close());

  it('measures both cost curves at every size and picks one of the candidates by predicted speedup', () => {
    expect(tuning.verifyCost.map((point) => point.size)).toEqual([...Array.from({ length: 16 }, (_, i) => i + 1), 20, 24, 32]);
    expect(tuning.draftCost.map((point) => point.size)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const point of [...tuning.verifyCost, ...tuning.draftCost]) expect(point.milliseconds).toBeGreaterThan(0);
    expect(tuning.contextLength).toBeGreaterThan(144);
    expect(tuning.candidates).toHaveLength(2);
    expect(candidates).toContainEqual(tuning.chosen);
    expect(tuning.candidates[0]!.tree).toEqual(tuning.chosen);
    expect(tuning.candidates[0]!.predictedSpeedup).toBeGreaterThanOrEqual(tuning.candidates[1]!.predictedSpeedup);
    // A chain of depth 2 can accept at most 2 drafted tokens per step, plus the bonus.
    const chain = tuning.candidates.find((candidate) => candidate.tree.depth === 2)!;
    expect(chain.predictedTau).toBeGreaterThanOrEqual(1);
    expect(chain.predictedTau).toBeLessThanOrEqual(3);
  });

  it('caches the result per model, device and threads', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'msd-tune-'));
    const key = { manifestText: '{"model": 1}', device: 'cpu', threads: 2 };
    await writeTuning(key, tuning, cache);
    expect((await readTuning(key, cache))?.chosen).toEqual(tuning.chosen);
    expect(await readTuning({ ...key, threads: 1 }, cache)).toBeUndefined();
    expect(await readTuning({ ...key, manifestText: '{"model": 2}' }, cache)).toBeUndefined();
  });

  it('reads a cached result without its cost curves as no tuning (the report could not draw it)', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'msd-tune-'));
    const key = { manifestText: '{"model": 3}', device: 'cpu', threads: 2 };
    const { verifyCost: _verify, draftCost: _draft, ...withoutCurves } = tuning;
    await writeTuning(key, withoutCurves as typeof tuning, cache);
    expect(await readTuning(key, cache)).toBeUndefined();
  });
});

describe('costAt', () => {
  it('interpolates between measured sizes and extends the last segment', () => {
    const curve = [
      { size: 1, milliseconds: 2 },
      { size: 5, milliseconds: 4 },
      { size: 9, milliseconds: 8 },
    ];
    expect(costAt(curve, 1)).toBe(2);
    expect(costAt(curve, 3)).toBe(3);
    expect(costAt(curve, 7)).toBe(6);
    expect(costAt(curve, 13)).toBe(12);
  });
});

describe('runBenchmark', () => {
  it('times every method on the same prompts, per set and temperature, and checks greedy outputs agree', async () => {
    const report = await runBenchmark({ prompts, rounds: 1, maxNewTokens: 12, temperatures: [0, 1], drafts: ['msd'] });
    const methods = ['msd autoregressive', 'msd + msd draft'];
    for (const temperature of [0, 1]) {
      for (const set of ['multimodal', 'text-only']) {
        const rows = report.results.filter((result) => result.temperature === temperature && result.set === set);
        expect(rows.map((row) => row.method)).toEqual(methods);
        expect(rows.every((row) => row.generations === (set === 'multimodal' ? 2 : 1))).toBe(true);
      }
    }
    for (const result of report.results.filter((row) => row.temperature === 0 && row.kind === 'speculative')) {
      expect(result.identicalToReference).toEqual({ identical: result.generations, total: result.generations });
      expect(result.tau.median).toBeGreaterThanOrEqual(1);
      expect(result.acceptanceByDepth.every((share, depth) => share >= 0 && share <= 1 && (depth === 0 || share <= result.acceptanceByDepth[depth - 1]!))).toBe(
        true,
      );
    }
    const reference = report.results.find((row) => row.method === 'msd autoregressive' && row.temperature === 0 && row.set === 'multimodal')!;
    expect(reference.ratioToFastestAutoregressive).toBe(1);
    expect(reference.tau.median).toBe(1);
    expect(report.settings.prompts).toBe(3);
    expect(report.machine.cores).toBeGreaterThan(0);
  }, 120_000);

  it('summarises a sample by median and nearest-rank percentiles', () => {
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, p10: 1, p90: 4, mean: 2.5, count: 4 });
    expect(spread([]).count).toBe(0);
  });
});

describe('benchmark prompts', () => {
  it('reads a prompt file with image paths relative to it, and rejects a broken one with a typed error', () => {
    const directory = mkdtempSync(join(tmpdir(), 'msd-prompts-'));
    const file = join(directory, 'prompts.jsonl');
    writeFileSync(file, '{"question": "What is this?", "images": ["a.png"]}\n{"question": "Hi"}\n');
    expect(readBenchmarkPrompts(file)).toEqual([
      { set: 'custom', question: 'What is this?', images: [join(directory, 'a.png')] },
      { set: 'custom', question: 'Hi', images: [] },
    ]);
    writeFileSync(file, '{"images": []}\n');
    expect(() => readBenchmarkPrompts(file)).toThrow(ConfigError);
    expect(() => readBenchmarkPrompts(join(directory, 'missing.jsonl'))).toThrow(ConfigError);
  });
});

describe('msd bench and msd tune (CLI)', () => {
  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

  it('tune --quick caches a shape; bench --tuned uses it and writes the report folder', () => {
    const cache = mkdtempSync(join(tmpdir(), 'msd-cache-'));
    const tune = run(['tune', '--quick', '--set', 'multimodal', '--limit', '1', '--max-new-tokens', '8', '--repeat', '2', '--threads', '2', '--json'], {
      XDG_CACHE_HOME: cache,
    });
    expect(tune.status, tune.stderr).toBe(0);
    const tuned = JSON.parse(tune.stdout);
    expect(existsSync(tuned.cachePath)).toBe(true);
    const out = join(mkdtempSync(join(tmpdir(), 'msd-bench-')), 'report');
    const bench = run(
      [
        'bench',
        '--set',
        'multimodal',
        '--limit',
        '1',
        '--rounds',
        '1',
        '--max-new-tokens',
        '8',
        '--temperature',
        '0',
        '--drafts',
        'msd',
        '--tuned',
        '--threads',
        '2',
        '--out',
        out,
      ],
      { XDG_CACHE_HOME: cache },
    );
    expect(bench.status, bench.stderr).toBe(0);
    expect(bench.stdout).toMatch(/msd \+ msd draft, tuned tree/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.tuning.chosen).toEqual(tuned.chosen);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  }, 180_000);

  it('bench --branching sets the tree of the speculative methods; the old --top-k is refused', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'msd-bench-')), 'report');
    const bench = run([
      'bench',
      '--set',
      'text-only',
      '--limit',
      '1',
      '--rounds',
      '1',
      '--max-new-tokens',
      '8',
      '--temperature',
      '0',
      '--drafts',
      'msd',
      '--depth',
      '3',
      '--branching',
      '2',
      '--total-tokens',
      '4',
      '--threads',
      '2',
      '--out',
      out,
    ]);
    expect(bench.status, bench.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const speculative = results.results.filter((result: { kind: string }) => result.kind === 'speculative');
    expect(speculative.length).toBeGreaterThan(0);
    for (const result of speculative) expect(result.tree).toEqual({ depth: 3, branching: 2, totalTokens: 4 });
    const old = run(['bench', '--top-k', '2']);
    expect(old.status).toBe(2);
    expect(old.stderr).toMatch(/--top-k/);
  }, 180_000);

  it('rejects an unknown prompt set with a typed error', () => {
    const bench = run(['bench', '--set', 'pictures']);
    expect(bench.status).toBe(1);
    expect(bench.stderr).toMatch(/\[invalid_argument\] Unknown prompt set 'pictures'/);
    const baseline = run(['bench', '--set', 'multimodal', '--transformers-js', '/nonexistent/model-transformersjs']);
    expect(baseline.status).toBe(1);
    expect(baseline.stderr).toMatch(/\[model_not_found\].*transformers\.js model directory is incomplete/);
  });
});
