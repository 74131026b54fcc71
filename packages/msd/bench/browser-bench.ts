/**
 * Speculative decoding against autoregressive decoding in the browser: the example page
 * (examples/browser) in headless Chromium, msd's BrowserPipeline on onnxruntime-web, the bundled model,
 * held-out prompts decoded with speculation off and on, interleaved, for R rounds. Prints, per set, the
 * median decode and end-to-end tokens per second of each, the median per-prompt ratios (MSD /
 * autoregressive) and tau, as the Node bench (`msd bench`) reports them.
 *
 *   pnpm exec tsx --conditions=@msd/source packages/msd/bench/browser-bench.ts --set detailed --limit 10 --rounds 2
 *
 * Options: --set NAME (repeatable, or `all`; default detailed), --limit N per set (10), --rounds R (2),
 * --max-new-tokens N (200), --threads N (WASM threads, 2), --device wasm|webgpu (wasm; webgpu uses a
 * software adapter when that is all there is), --temperature T (0), --json (machine output on stdout).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tinyLlavaDirectory } from '@msd/tiny-llava';
import { launchChromium } from './headless-chromium';
import { buildBrowserExample } from '../../../examples/browser/build';
import { startExampleServer } from '../../../examples/browser/serve';
import { heldoutPrompts, type HeldoutPrompt } from '../test/heldout-prompts';

const SETS: HeldoutPrompt['set'][] = ['multimodal', 'two-image', 'text-only', 'detailed'];

/** Options of {@link runBrowserBench}. */
export interface BrowserBenchOptions {
  sets: HeldoutPrompt['set'][];
  limit: number;
  rounds: number;
  maxNewTokens: number;
  threads: number;
  device: 'wasm' | 'webgpu';
  temperature: number;
  onProgress?: (line: string) => void;
}

/** One generation's figures, as the page's `msdTest.run` returns them. */
interface RunFigures {
  tokenIds: number[];
  stats: { tokens: number; tau: number; decodeTokensPerSecond: number; tokensPerSecond: number; timeToFirstTokenMs: number };
}

/** A set's figures. */
export interface BrowserBenchSet {
  set: string;
  prompts: number;
  /** Mean answer tokens (MSD). */
  answerTokens: number;
  /** Median decode tokens/s over every run: autoregressive, MSD. */
  decodeTokensPerSecond: { autoregressive: number; msd: number };
  /** Median end-to-end tokens/s over every run. */
  tokensPerSecond: { autoregressive: number; msd: number };
  /** Median over prompts of the per-prompt ratio MSD / autoregressive (each prompt's medians over rounds). */
  decodeRatio: number;
  endToEndRatio: number;
  /** Median time to first token, ms. */
  timeToFirstTokenMs: { autoregressive: number; msd: number };
  /** Tau of the MSD runs: median and mean. */
  tau: { median: number; mean: number };
  /** Greedy prompts whose MSD tokens differed from the autoregressive ones (0 expected at temperature 0). */
  mismatches: number;
}

/** The whole report. */
export interface BrowserBenchReport {
  browser: string;
  /** The pipeline's device (`wasm`, `webgpu`). */
  device: string;
  /** The page's device line: device, threads, whether cross-origin isolated. */
  deviceLine: string;
  threads: number;
  crossOriginIsolated: boolean;
  rounds: number;
  maxNewTokens: number;
  temperature: number;
  loadSeconds: number;
  scriptBytes: number;
  scriptGzipBytes: number;
  sets: BrowserBenchSet[];
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function mean(values: number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : Number.NaN;
}

/**
 * Builds and serves the example, opens it in Chromium and decodes every selected prompt with speculation
 * off and on (the order alternating by round), `rounds` times.
 */
export async function runBrowserBench(options: BrowserBenchOptions): Promise<BrowserBenchReport> {
  const progress = options.onProgress ?? (() => {});
  const heldout = join(tinyLlavaDirectory(), '..', 'heldout');
  const prompts = options.sets.flatMap((set) =>
    heldoutPrompts()
      .filter((prompt) => prompt.set === set)
      .slice(0, options.limit),
  );
  const outDirectory = await mkdtemp(join(tmpdir(), 'msd-browser-bench-'));
  const built = await buildBrowserExample({ outDirectory });
  const server = await startExampleServer({ port: 0, root: outDirectory });
  const browser = await launchChromium({ webgpu: options.device === 'webgpu' });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => progress(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') progress(`page console: ${message.text()}`);
    });
    const loadStarted = performance.now();
    await page.goto(`${server.url}/?device=${options.device}&threads=${options.threads}&software=1`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 600_000 });
    if ((await page.locator('body').getAttribute('data-state')) !== 'ready') {
      throw new Error(`the page did not load: ${await page.locator('#error').textContent()}`);
    }
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const deviceLine = (await page.locator('#device').textContent()) ?? options.device;
    const device = await page.evaluate(() => (globalThis as unknown as { msdTest: { pipeline: { device: string } } }).msdTest.pipeline.device);
    const isolated = await page.evaluate(() => (globalThis as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated);
    progress(`page ready in ${loadSeconds.toFixed(1)} s on ${deviceLine}; ${prompts.length} prompts x ${options.rounds} rounds x 2 methods`);

    const run = (prompt: HeldoutPrompt, speculative: boolean) =>
      page.evaluate(
        (given) => (globalThis as unknown as { msdTest: { run(options: unknown): Promise<RunFigures> } }).msdTest.run(given) as Promise<RunFigures>,
        {
          prompt: prompt.question,
          images: prompt.images.map((image) => `/heldout/${relative(heldout, image).split('\\').join('/')}`),
          maxNewTokens: options.maxNewTokens,
          temperature: options.temperature,
          seed: 0,
          speculative,
        },
      );
    // The first generations after the load are slower (onnxruntime-web's first runs at new sizes): one
    // unmeasured run of each method first.
    for (const speculative of [false, true]) await run(prompts[0]!, speculative);
    // runs[prompt][method] = figures of each round
    const runs = prompts.map(() => ({ autoregressive: [] as RunFigures[], msd: [] as RunFigures[] }));
    for (let round = 0; round < options.rounds; round++) {
      for (const [index, prompt] of prompts.entries()) {
        const order = (round + index) % 2 === 0 ? [false, true] : [true, false];
        for (const speculative of order) runs[index]![speculative ? 'msd' : 'autoregressive'].push(await run(prompt, speculative));
      }
      progress(`round ${round + 1}/${options.rounds} done`);
    }

    const sets = options.sets.map((set): BrowserBenchSet => {
      const indices = prompts.flatMap((prompt, index) => (prompt.set === set ? [index] : []));
      const all = (method: 'autoregressive' | 'msd', figure: (run: RunFigures) => number) => indices.flatMap((index) => runs[index]![method].map(figure));
      const perPrompt = (figure: (run: RunFigures) => number) =>
        indices.map((index) => median(runs[index]!.msd.map(figure)) / median(runs[index]!.autoregressive.map(figure)));
      const taus = all('msd', (run) => run.stats.tau);
      return {
        set,
        prompts: indices.length,
        answerTokens: mean(all('msd', (run) => run.stats.tokens)),
        decodeTokensPerSecond: {
          autoregressive: median(all('autoregressive', (run) => run.stats.decodeTokensPerSecond)),
          msd: median(all('msd', (run) => run.stats.decodeTokensPerSecond)),
        },
        tokensPerSecond: {
          autoregressive: median(all('autoregressive', (run) => run.stats.tokensPerSecond)),
          msd: median(all('msd', (run) => run.stats.tokensPerSecond)),
        },
        decodeRatio: median(perPrompt((run) => run.stats.decodeTokensPerSecond)),
        endToEndRatio: median(perPrompt((run) => run.stats.tokensPerSecond)),
        timeToFirstTokenMs: {
          autoregressive: median(all('autoregressive', (run) => run.stats.timeToFirstTokenMs)),
          msd: median(all('msd', (run) => run.stats.timeToFirstTokenMs)),
        },
        tau: { median: median(taus), mean: mean(taus) },
        mismatches:
          options.temperature === 0
            ? indices.filter((index) => {
                const { autoregressive, msd } = runs[index]!;
                return msd.some((run, round) => JSON.stringify(run.tokenIds) !== JSON.stringify(autoregressive[round]!.tokenIds));
              }).length
            : 0,
      };
    });
    return {
      browser: browser.version(),
      device,
      deviceLine,
      threads: options.threads,
      crossOriginIsolated: isolated,
      rounds: options.rounds,
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      loadSeconds,
      scriptBytes: built.script.bytes,
      scriptGzipBytes: built.script.gzipBytes,
      sets,
    };
  } finally {
    await browser.close();
    await server.close();
    await rm(outDirectory, { recursive: true, force: true });
  }
}

/** The report as a Markdown table, with the setup above it. */
export function formatBrowserBench(report: BrowserBenchReport): string {
  const lines = [
    `Chromium ${report.browser}, ${report.deviceLine}, ` +
      `temperature ${report.temperature}, at most ${report.maxNewTokens} new tokens, ${report.rounds} rounds; ` +
      `page loaded in ${report.loadSeconds.toFixed(1)} s; main.js ${(report.scriptBytes / 1024).toFixed(0)} KiB (gzip ${(report.scriptGzipBytes / 1024).toFixed(0)} KiB)`,
    '',
    '| set | prompts | answer tokens | decode tok/s (AR / MSD) | decode ratio | end-to-end tok/s (AR / MSD) | end-to-end ratio | time to first token ms (AR / MSD) | tau median (mean) | greedy mismatches |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const set of report.sets) {
    lines.push(
      `| ${set.set} | ${set.prompts} | ${set.answerTokens.toFixed(1)} | ${set.decodeTokensPerSecond.autoregressive.toFixed(1)} / ${set.decodeTokensPerSecond.msd.toFixed(1)} | ` +
        `**${set.decodeRatio.toFixed(2)}x** | ${set.tokensPerSecond.autoregressive.toFixed(1)} / ${set.tokensPerSecond.msd.toFixed(1)} | **${set.endToEndRatio.toFixed(2)}x** | ` +
        `${set.timeToFirstTokenMs.autoregressive.toFixed(1)} / ${set.timeToFirstTokenMs.msd.toFixed(1)} | ${set.tau.median.toFixed(2)} (${set.tau.mean.toFixed(2)}) | ${set.mismatches} |`,
    );
  }
  return lines.join('\n');
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      set: { type: 'string', multiple: true },
      limit: { type: 'string' },
      rounds: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string', default: 'wasm' },
      temperature: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  });
  const sets = (values.set?.length ? values.set : ['detailed']).flatMap((set) => (set === 'all' ? SETS : [set]));
  for (const set of sets) {
    if (!(SETS as string[]).includes(set)) throw new Error(`Unknown set '${set}': use ${SETS.join(', ')} or all.`);
  }
  if (values.device !== 'wasm' && values.device !== 'webgpu') throw new Error(`--device must be wasm or webgpu, got ${values.device}`);
  const temperature = Number(values.temperature);
  if (!Number.isFinite(temperature) || temperature < 0) throw new Error(`--temperature must be 0 or positive, got ${values.temperature}`);
  const report = await runBrowserBench({
    sets: sets as HeldoutPrompt['set'][],
    limit: positiveInteger(values.limit, 'limit', 10),
    rounds: positiveInteger(values.rounds, 'rounds', 2),
    maxNewTokens: positiveInteger(values['max-new-tokens'], 'max-new-tokens', 200),
    threads: positiveInteger(values.threads, 'threads', 2),
    device: values.device,
    temperature,
    onProgress: (line) => console.error(line),
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatBrowserBench(report));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
