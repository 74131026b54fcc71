/**
 * A bounded load test of a running `msd serve`: N requests from C concurrent clients, a mix of plain
 * and streamed completions with images, text-only ones, slow readers and clients that disconnect
 * mid-stream. Reports latency percentiles, errors by kind, the queue afterwards and the server's
 * memory (from its /metrics) before and after, over two rounds so growth per round shows.
 *
 *   pnpm exec tsx packages/msd/bench/serve-load.ts --url http://127.0.0.1:8080 [--requests 50] [--concurrency 10] [--api-key KEY]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** What {@link runServeLoad} does. */
export interface ServeLoadOptions {
  /** The server, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Requests per round. Default 50. */
  requests?: number;
  /** Clients sending at once. Default 10. */
  concurrency?: number;
  /** Rounds (memory is read after each). Default 2. */
  rounds?: number;
  /** Bearer key, when the server has one. */
  apiKey?: string;
  /** An image file to send (PNG). */
  image: string;
  /** Progress lines. */
  onProgress?: (line: string) => void;
}

/** The kinds of client the mix holds, by request index modulo 10. */
type ClientKind = 'plain' | 'stream' | 'slow-reader' | 'disconnect' | 'text-only';
const MIX: ClientKind[] = ['plain', 'plain', 'plain', 'plain', 'stream', 'stream', 'slow-reader', 'disconnect', 'text-only', 'text-only'];

/** Memory of the server process, from its /metrics. */
export interface ServerMemory {
  residentBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

/** One round's outcome. */
export interface LoadRound {
  requests: number;
  /** Requests answered in full (disconnecting clients excluded). */
  completed: number;
  /** Clients that hung up on purpose. */
  disconnected: number;
  /** Unexpected failures, by message. */
  errors: Record<string, number>;
  /** Latency of completed requests, queue included: 50th, 95th percentile and max, in ms. */
  latencyMs: { p50: number; p95: number; max: number };
  /** Wall time of the round in seconds. */
  seconds: number;
  /** Server memory once the round is over and the queue has drained. */
  memoryAfter: ServerMemory;
}

/** The load test's report. */
export interface LoadReport {
  concurrency: number;
  memoryBefore: ServerMemory;
  rounds: LoadRound[];
  /** Requests waiting and running after the last round (both 0 when the queue drained). */
  queueAfter: { waiting: number; running: number };
  /** The server's counters after the run. */
  cancelledOnServer: number;
}

async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

async function memory(url: string): Promise<ServerMemory> {
  const values = await metrics(url);
  return {
    residentBytes: values.get('msd_process_resident_memory_bytes') ?? Number.NaN,
    heapUsedBytes: values.get('msd_process_heap_used_bytes') ?? Number.NaN,
    externalBytes: values.get('msd_process_external_memory_bytes') ?? Number.NaN,
  };
}

function percentile(sorted: number[], fraction: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Sends one request of `kind`; resolves with its latency, or 'disconnected'. */
async function oneRequest(options: ServeLoadOptions, kind: ClientKind, imageUrl: string): Promise<number | 'disconnected'> {
  const started = performance.now();
  const content =
    kind === 'text-only'
      ? 'Write a short sentence about shapes.'
      : [
          { type: 'image_url', image_url: { url: imageUrl } },
          { type: 'text', text: 'Describe the image in detail.' },
        ];
  const streamed = kind === 'stream' || kind === 'slow-reader' || kind === 'disconnect';
  const controller = new AbortController();
  const response = await fetch(`${options.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}) },
    body: JSON.stringify({ model: 'load', messages: [{ role: 'user', content }], max_tokens: 160, stream: streamed }),
    signal: controller.signal,
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
  if (!streamed) {
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    if (!body.choices[0]?.message.content) throw new Error('empty answer');
    return performance.now() - started;
  }
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (kind === 'disconnect' && text.includes('"content"')) {
      controller.abort();
      await reader.cancel().catch(() => {});
      return 'disconnected';
    }
    // A slow reader takes its time over every piece the server sends.
    if (kind === 'slow-reader') await sleep(15);
  }
  if (!text.trimEnd().endsWith('data: [DONE]')) throw new Error('stream ended without [DONE]');
  return performance.now() - started;
}

async function runRound(options: ServeLoadOptions, imageUrl: string): Promise<LoadRound> {
  const requests = options.requests ?? 50;
  const concurrency = options.concurrency ?? 10;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let disconnected = 0;
  let next = 0;
  const started = performance.now();
  const client = async () => {
    for (let index = next++; index < requests; index = next++) {
      const kind = MIX[index % MIX.length]!;
      try {
        const outcome = await oneRequest(options, kind, imageUrl);
        if (outcome === 'disconnected') disconnected++;
        else latencies.push(outcome);
      } catch (error) {
        const message = String((error as Error).message ?? error);
        errors[message] = (errors[message] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  await drained(options.url);
  latencies.sort((a, b) => a - b);
  return {
    requests,
    completed: latencies.length,
    disconnected,
    errors,
    latencyMs: { p50: Math.round(percentile(latencies, 0.5)), p95: Math.round(percentile(latencies, 0.95)), max: Math.round(latencies.at(-1) ?? Number.NaN) },
    seconds: Math.round(seconds * 100) / 100,
    memoryAfter: await memory(options.url),
  };
}

async function drained(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const values = await metrics(url);
    if (values.get('msd_queue_waiting') === 0 && values.get('msd_requests_running') === 0) return;
    if (Date.now() > deadline) return;
    await sleep(50);
  }
}

/**
 * Runs the load test against a server that is up (its /health answers 200).
 *
 * @example
 * ```ts
 * const report = await runServeLoad({ url: 'http://127.0.0.1:8080', image: 'scene.png' });
 * console.log(report.rounds[0].latencyMs);
 * ```
 */
export async function runServeLoad(options: ServeLoadOptions): Promise<LoadReport> {
  const progress = options.onProgress ?? (() => {});
  const imageUrl = `data:image/png;base64,${readFileSync(options.image).toString('base64')}`;
  // A few requests first, so the baseline holds what any served request leaves (caches, pools).
  for (const kind of ['plain', 'stream', 'text-only'] as const) await oneRequest(options, kind, imageUrl);
  await drained(options.url);
  const memoryBefore = await memory(options.url);
  const rounds: LoadRound[] = [];
  for (let round = 0; round < (options.rounds ?? 2); round++) {
    const result = await runRound(options, imageUrl);
    progress(
      `round ${round + 1}: ${result.completed} completed, ${result.disconnected} disconnected, ${Object.values(result.errors).reduce((a, b) => a + b, 0)} errors, p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, RSS ${(result.memoryAfter.residentBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    rounds.push(result);
  }
  const values = await metrics(options.url);
  return {
    concurrency: options.concurrency ?? 10,
    memoryBefore,
    rounds,
    queueAfter: { waiting: values.get('msd_queue_waiting') ?? Number.NaN, running: values.get('msd_requests_running') ?? Number.NaN },
    cancelledOnServer: values.get('msd_requests_cancelled_total') ?? Number.NaN,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((argument) => argument !== '--'),
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      requests: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '2' },
      'api-key': { type: 'string' },
      image: { type: 'string', default: fileURLToPath(new URL('../../tiny-llava/examples/scene.png', import.meta.url)) },
    },
  });
  const report = await runServeLoad({
    url: values.url,
    requests: Number(values.requests),
    concurrency: Number(values.concurrency),
    rounds: Number(values.rounds),
    image: values.image,
    ...(values['api-key'] ? { apiKey: values['api-key'] } : {}),
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
