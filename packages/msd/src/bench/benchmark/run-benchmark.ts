import { cpus } from 'node:os';
import { InvalidArgumentError, MsdError } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import type { TreeShape } from '@msd/core';
import type { GenerationStats } from '../../generation-stats';
import { readModelDirectory } from '@msd/models';
import { MsdPipeline } from '../../pipeline';
import type { BenchmarkReport, MethodResult, PhaseTimes, TuningSummary } from './benchmark-report';
import type { BenchmarkPrompt } from './benchmark-prompts';
import { spread } from './spread';
import { acceptanceByKind, imageDependentTokens, type AcceptanceByKind } from './token-kinds';
import { bundledModelDirectory } from '../../bundled-model';
import { measureResizeCost } from './resize-cost';

/** A decoder the benchmark can time: msd itself, or another library behind the same small interface. */
export interface BenchmarkBaseline {
  /** Display name, e.g. `transformers.js`. */
  name: string;
  /**
   * Greedy generation of at most `maxNewTokens` tokens; ids exclude EOS. `decodeTokensPerSecond` counts
   * as msd does: tokens after the first (EOS included) over the time after the first token.
   */
  generate(prompt: BenchmarkPrompt, maxNewTokens: number): Promise<{ tokenIds: number[]; decodeTokensPerSecond: number; totalMilliseconds: number }>;
  /** Releases what it loaded. */
  dispose(): Promise<void>;
}

/** Options of {@link runBenchmark}. */
export interface BenchmarkOptions {
  /** Model directory. Default: the bundled tiny LLaVA. */
  modelDirectory?: string;
  /** The prompts, each tagged with its set. */
  prompts: readonly BenchmarkPrompt[];
  /** Passes over all prompts. Default 3. */
  rounds?: number;
  /** Tokens per generation. Default 200: long enough for the `detailed` set's answers (40-150 tokens). */
  maxNewTokens?: number;
  /** Temperatures to run; 0 checks that every method produced the same tokens. Default [0, 1]. */
  temperatures?: readonly number[];
  /** Execution provider. Default `cpu`. */
  device?: DeviceName;
  /** Intra-op threads. Default 2. */
  threads?: number;
  /** Intra-op threads of the draft sessions. Default: `threads`. */
  draftThreads?: number;
  /** Drafts of the manifest to run. Default: all of them. */
  drafts?: readonly string[];
  /** Fixed tree shape of the speculative methods. Default: the pipeline's default. */
  tree?: Partial<TreeShape>;
  /** A tuning result: adds the default draft with the tuned tree as one more method. */
  tuning?: TuningSummary;
  /** Other decoders to time beside msd (greedy runs only). */
  baselines?: readonly BenchmarkBaseline[];
  /** The command line, for the report. */
  command?: string;
  /** Progress lines. */
  onProgress?: (message: string) => void;
}

/** Thrown when methods disagree at temperature 0: a speculative decoder that changes the output is broken. */
export class BenchmarkMismatchError extends MsdError {
  constructor(
    message: string,
    /** The report measured so far, with the mismatch counts in it. */
    readonly report: BenchmarkReport,
  ) {
    super({ code: 'benchmark_mismatch', message, hint: 'Greedy speculative decoding must reproduce the target token for token; this is a bug.' });
  }
}

interface Method {
  name: string;
  kind: MethodResult['kind'];
  draft?: string;
  tree?: TreeShape;
  /** The tree of sampled runs, when it differs from `tree`. */
  samplingTree?: TreeShape;
  run(prompt: BenchmarkPrompt, temperature: number, seed: number): Promise<Sample>;
}

interface Sample {
  tokenIds: number[];
  tokensPerSecond: number;
  endToEndTokensPerSecond: number;
  tau: number;
  histogram: number[];
  drafted: number;
  accepted: number;
  /** Target steps after the prefill, and those the speculation policy took without drafting. */
  steps: number;
  plainSteps: number;
  timings: PhaseTimes;
  /** Milliseconds to the first token (NaN for a baseline timed as a black box). */
  timeToFirstTokenMs: number;
  /** Tokens per kind, and those the draft supplied (undefined for non-msd methods). */
  kinds?: AcceptanceByKind;
}

const REFERENCE = 'msd autoregressive';

/**
 * Times decoders side by side on the same prompts, interleaved (every prompt runs every method before
 * the next prompt, in an order that rotates) so machine noise hits all of them alike: msd's
 * autoregressive loop, msd with each draft of the model (and with a tuned tree), and any baselines.
 * Reports decode tokens per second (median and spread), the median per-prompt ratio to the fastest
 * autoregressive decoder, the same end to end (prompt processing included), tau, acceptance by tree depth, the time split and peak memory.
 *
 * @throws BenchmarkMismatchError when, at temperature 0, a method's tokens differ from msd's
 * autoregressive decoding (the report is attached).
 *
 * @example
 * ```ts
 * import { readBenchmarkPrompts, runBenchmark } from 'msd/bench';
 *
 * const report = await runBenchmark({ prompts: readBenchmarkPrompts('prompts.jsonl'), rounds: 3 });
 * console.log(report.results.map((result) => `${result.method}: ${result.ratioToFastestAutoregressive.toFixed(2)}x`));
 * ```
 */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  if (options.prompts.length === 0) throw new InvalidArgumentError({ argument: 'prompts', message: 'The benchmark has no prompts.' });
  const progress = options.onProgress ?? (() => {});
  const rounds = options.rounds ?? 3;
  const maxNewTokens = options.maxNewTokens ?? 200;
  const temperatures = options.temperatures ?? [0, 1];
  const threads = options.threads ?? 2;
  const modelDirectory = options.modelDirectory ?? (await bundledModelDirectory());
  const { manifest } = readModelDirectory(modelDirectory);
  const drafts = options.drafts ?? Object.keys(manifest.drafts);
  const session = { intraOpNumThreads: threads };
  const createdAt = new Date().toISOString();
  const notes: string[] = [];

  progress(`loading ${drafts.length} pipeline(s) from ${modelDirectory}`);
  const pipelines = new Map<string, MsdPipeline>();
  const draftSession = options.draftThreads ? { intraOpNumThreads: options.draftThreads } : {};
  for (const draft of drafts)
    pipelines.set(draft, await MsdPipeline.create({ modelDirectory, device: options.device ?? 'cpu', session, draftSession, draft, tree: options.tree ?? {} }));
  const first = pipelines.values().next().value ?? (await MsdPipeline.create({ modelDirectory, device: options.device ?? 'cpu', session, draft: false }));
  if (!pipelines.size) pipelines.set('', first);
  const methods = msdMethods(first, pipelines, manifest.defaultDraft, options.tuning, maxNewTokens);
  const baselines = options.baselines ?? [];
  for (const baseline of baselines) methods.push(baselineMethod(baseline, maxNewTokens));

  try {
    const prompt = options.prompts[0]!;
    progress('warming up every method once');
    for (const method of methods) await method.run(prompt, 0, 0);
    const results: MethodResult[] = [];
    for (const temperature of temperatures) {
      const runnable = temperature === 0 ? methods : methods.filter((method) => method.kind !== 'baseline');
      const samples = await measure(runnable, options.prompts, rounds, temperature, progress);
      results.push(...summarize(runnable, samples, temperature));
    }
    const images = [...new Set(options.prompts.flatMap((entry) => entry.images))];
    if (images.length > 0) progress(`timing exact against fast resizing on ${images.length} image(s)`);
    const resizing = images.length > 0 ? await measureResizeCost(modelDirectory, images, rounds) : undefined;
    const report: BenchmarkReport = {
      createdAt,
      command: options.command ?? 'runBenchmark()',
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        platform: `${process.platform}-${process.arch}`,
        node: process.version,
        onnxruntime: await onnxruntimeVersion(),
        device: first.device,
      },
      settings: {
        model: modelDirectory,
        sets: [...new Set(options.prompts.map((entry) => entry.set))],
        rounds,
        maxNewTokens,
        temperatures: [...temperatures],
        threads,
        prompts: options.prompts.length,
      },
      results,
      ...(options.tuning ? { tuning: options.tuning } : {}),
      ...(resizing ? { resizing } : {}),
      notes,
    };
    const broken = results.filter((result) => result.identicalToReference && result.identicalToReference.identical < result.identicalToReference.total);
    if (broken.length) {
      throw new BenchmarkMismatchError(
        `At temperature 0, ${broken.map((result) => `${result.method} (${result.set}: ${result.identicalToReference!.identical}/${result.identicalToReference!.total})`).join(', ')} did not reproduce msd's autoregressive tokens.`,
        report,
      );
    }
    return report;
  } finally {
    for (const pipeline of new Set([...pipelines.values(), first])) await pipeline.close();
    for (const baseline of baselines) await baseline.dispose();
  }
}

function msdMethods(
  first: MsdPipeline,
  pipelines: Map<string, MsdPipeline>,
  defaultDraft: string | undefined,
  tuning: TuningSummary | undefined,
  maxNewTokens: number,
): Method[] {
  const decodeText = (ids: number[]) => first.tokenizer.decode(ids, { skipSpecialTokens: true });
  const fromStats = (tokenIds: number[], stats: GenerationStats, speculative: boolean): Sample => ({
    tokenIds,
    timeToFirstTokenMs: stats.timeToFirstTokenMs,
    ...(speculative ? { kinds: acceptanceByKind(imageDependentTokens(tokenIds, decodeText), stats.tokenSources) } : {}),
    tokensPerSecond: stats.decodeTokensPerSecond,
    endToEndTokensPerSecond: stats.tokensPerSecond,
    tau: stats.tau,
    histogram: stats.acceptedLengthHistogram,
    drafted: stats.draftedTokens,
    accepted: stats.acceptedTokens,
    steps: stats.steps,
    plainSteps: speculative ? stats.autoregressiveSteps : 0,
    timings: { ...stats.timings },
  });
  const generate = (pipeline: MsdPipeline, speculative: boolean, tree?: TreeShape) => async (prompt: BenchmarkPrompt, temperature: number, seed: number) => {
    const result = await pipeline.generate({
      prompt: prompt.question,
      images: prompt.images,
      maxNewTokens,
      temperature,
      seed,
      speculative,
      ...(tree ? { tree } : {}),
    });
    return fromStats(result.tokenIds, result.stats, speculative);
  };
  const methods: Method[] = [{ name: REFERENCE, kind: 'autoregressive', run: generate(first, false) }];
  for (const [draft, pipeline] of pipelines) {
    if (!draft) continue;
    methods.push({
      name: `msd + ${draft} draft`,
      kind: 'speculative',
      draft,
      tree: pipeline.treeShape,
      samplingTree: pipeline.samplingTreeShape,
      run: generate(pipeline, true),
    });
  }
  const tuned = tuning && pipelines.get(defaultDraft ?? '');
  if (tuning && tuned) {
    methods.push({
      name: `msd + ${defaultDraft} draft, tuned tree`,
      kind: 'speculative',
      draft: defaultDraft!,
      tree: tuning.chosen,
      run: generate(tuned, true, tuning.chosen),
    });
  }
  return methods;
}

function baselineMethod(baseline: BenchmarkBaseline, maxNewTokens: number): Method {
  return {
    name: baseline.name,
    kind: 'baseline',
    async run(prompt) {
      const { tokenIds, decodeTokensPerSecond, totalMilliseconds } = await baseline.generate(prompt, maxNewTokens);
      const empty = { vision: 0, prefill: 0, draftPrefill: 0, draft: 0, verify: 0, overhead: 0 };
      // EOS counts as a generated token, as msd counts it.
      const endToEnd = totalMilliseconds > 0 ? ((tokenIds.length + 1) * 1000) / totalMilliseconds : 0;
      return {
        tokenIds,
        tokensPerSecond: decodeTokensPerSecond,
        endToEndTokensPerSecond: endToEnd,
        tau: 1,
        histogram: [],
        drafted: 0,
        accepted: 0,
        steps: tokenIds.length,
        plainSteps: 0,
        timings: { ...empty, total: totalMilliseconds },
        timeToFirstTokenMs: Number.NaN,
      };
    },
  };
}

/** samples[method][prompt * rounds + round], plus the peak RSS seen per method. */
interface Measured {
  samples: Sample[][];
  peakRss: number[];
  sets: string[];
}

async function measure(
  methods: Method[],
  prompts: readonly BenchmarkPrompt[],
  rounds: number,
  temperature: number,
  progress: (message: string) => void,
): Promise<Measured> {
  const samples = methods.map(() => [] as Sample[]);
  const peakRss = methods.map(() => 0);
  const sets: string[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [index, prompt] of prompts.entries()) {
      // Rotate the order so no method always runs first (on a colder cache) or last, neither over the
      // prompts nor over the rounds of one prompt: with an even number of prompts, an offset counted
      // over all runs gave each prompt the same order in every round, and its per-prompt ratio a bias.
      const offset = (round + index) % methods.length;
      for (let k = 0; k < methods.length; k++) {
        const m = (k + offset) % methods.length;
        samples[m]![round * prompts.length + index] = await methods[m]!.run(prompt, temperature, round * prompts.length + index);
        peakRss[m] = Math.max(peakRss[m]!, process.memoryUsage().rss);
      }
      sets[round * prompts.length + index] = prompt.set;
    }
    progress(`temperature ${temperature}: round ${round + 1}/${rounds} done`);
  }
  return { samples, peakRss, sets };
}

function summarize(methods: Method[], measured: Measured, temperature: number): MethodResult[] {
  const results: MethodResult[] = [];
  for (const set of [...new Set(measured.sets)]) {
    const indices = measured.sets.flatMap((name, index) => (name === set ? [index] : []));
    const speeds = methods.map((_, m) => indices.map((index) => measured.samples[m]![index]!.tokensPerSecond));
    // The fastest autoregressive decoder (msd's own loop or a baseline) by median over this set.
    const autoregressive = methods.flatMap((method, m) => (method.kind === 'speculative' ? [] : [m]));
    const fastest = autoregressive.reduce((best, m) => (spread(speeds[m]!).median > spread(speeds[best]!).median ? m : best), autoregressive[0]!);
    const reference = methods.findIndex((method) => method.name === REFERENCE);
    for (const [m, method] of methods.entries()) {
      const mine = indices.map((index) => measured.samples[m]![index]!);
      const ratios = indices.map((index, i) => speeds[m]![i]! / Math.max(1e-9, measured.samples[fastest]![index]!.tokensPerSecond));
      const endToEnd = mine.map((sample) => sample.endToEndTokensPerSecond);
      const endToEndRatios = indices.map((index, i) => endToEnd[i]! / Math.max(1e-9, measured.samples[fastest]![index]!.endToEndTokensPerSecond));
      const steps = mine.reduce((total, sample) => total + sample.histogram.reduce((a, b) => a + (b ?? 0), 0), 0);
      const depth = Math.max(0, ...mine.map((sample) => sample.histogram.length - 1));
      const acceptanceByDepth = Array.from({ length: depth }, (_, d) => {
        const reached = mine.reduce((total, sample) => total + sample.histogram.slice(d + 1).reduce((a, b) => a + (b ?? 0), 0), 0);
        return steps ? reached / steps : 0;
      });
      const identical =
        temperature === 0 && m !== reference
          ? indices.filter((index) => sameTokens(measured.samples[m]![index]!.tokenIds, measured.samples[reference]![index]!.tokenIds)).length
          : undefined;
      results.push({
        method: method.name,
        kind: method.kind,
        ...(method.draft ? { draft: method.draft } : {}),
        ...(method.tree ? { tree: temperature > 0 ? (method.samplingTree ?? method.tree) : method.tree } : {}),
        set,
        temperature,
        generations: mine.length,
        tokensPerSecond: spread(speeds[m]!),
        ratioToFastestAutoregressive: spread(ratios).median,
        endToEndTokensPerSecond: spread(endToEnd),
        endToEndRatio: spread(endToEndRatios).median,
        tau: spread(mine.map((sample) => sample.tau)),
        tauSamples: mine.map((sample) => sample.tau),
        acceptanceByDepth,
        drafted: mine.reduce((total, sample) => total + sample.drafted, 0),
        accepted: mine.reduce((total, sample) => total + sample.accepted, 0),
        steps: mine.reduce((total, sample) => total + sample.steps, 0),
        stepsWithoutDrafting: mine.reduce((total, sample) => total + sample.plainSteps, 0),
        timings: meanTimings(mine.map((sample) => sample.timings)),
        timeToFirstTokenMs: spread(mine.map((sample) => sample.timeToFirstTokenMs).filter(Number.isFinite)),
        answerTokens: mine.reduce((total, sample) => total + sample.tokenIds.length, 0) / Math.max(1, mine.length),
        ...(method.kind === 'speculative' ? { acceptanceByTokenKind: sumKinds(mine) } : {}),
        peakRssMiB: measured.peakRss[m]! / 2 ** 20,
        ...(identical !== undefined ? { identicalToReference: { identical, total: indices.length } } : {}),
      });
    }
  }
  return results;
}

function sumKinds(samples: readonly Sample[]): AcceptanceByKind {
  const total: AcceptanceByKind = { image: { tokens: 0, fromDraft: 0 }, other: { tokens: 0, fromDraft: 0 } };
  for (const kinds of samples.map((sample) => sample.kinds)) {
    if (!kinds) continue;
    for (const key of ['image', 'other'] as const) {
      total[key].tokens += kinds[key].tokens;
      total[key].fromDraft += kinds[key].fromDraft;
    }
  }
  return total;
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((token, i) => token === b[i]);
}

function meanTimings(all: PhaseTimes[]): PhaseTimes {
  const keys = ['vision', 'prefill', 'draftPrefill', 'draft', 'verify', 'overhead', 'total'] as const;
  return Object.fromEntries(
    keys.map((key) => [key, all.reduce((total, timings) => total + timings[key], 0) / Math.max(1, all.length)]),
  ) as unknown as PhaseTimes;
}

async function onnxruntimeVersion(): Promise<string> {
  const { loadOnnxRuntime } = await import('@msd/runtime');
  const ort = (await loadOnnxRuntime()) as unknown as { env?: { versions?: { common?: string } } };
  return ort.env?.versions?.common ?? 'unknown';
}
