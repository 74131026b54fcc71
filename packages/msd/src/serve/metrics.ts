/**
 * The server's figures in Prometheus' text format (version 0.0.4): counters, gauges and histograms,
 * every name starting `msd_`. Small on purpose: the few metric kinds a decoder needs, no registry.
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (!entries.length) return '';
  return `{${entries.map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** A monotonically increasing count, optionally split by labels. */
class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(amount = 1, labels: Labels = {}): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + amount);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (!this.values.size) lines.push(`${this.name} 0`);
    for (const [labels, value] of this.values) lines.push(`${this.name}${labels} ${value}`);
    return lines;
  }
}

/** A value read when scraped. */
class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`];
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    for (const [index, bound] of this.bounds.entries()) if (value <= bound) this.counts[index]!++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [index, bound] of this.bounds.entries()) lines.push(`${this.name}_bucket{le="${bound}"} ${this.counts[index]}`);
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines;
  }
}

const SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the server tells {@link ServerMetrics} about one finished generation. */
export interface GenerationFigures {
  /** Prompt positions (images expanded). */
  promptTokens: number;
  /** Generated tokens. */
  completionTokens: number;
  /** Drafted tree nodes. */
  draftedTokens: number;
  /** Drafted tokens accepted. */
  acceptedTokens: number;
  /** Target steps after the prefill. */
  steps: number;
  /** Tokens per speculative step (1 without drafting). */
  tau: number;
  /** Whether the request drafted. */
  speculative: boolean;
  /** Seconds to the first token, queue excluded. */
  timeToFirstTokenSeconds: number;
}

/**
 * The metrics `GET /metrics` serves.
 *
 * @example
 * ```ts
 * import { ServerMetrics } from 'msd/serve';
 *
 * const metrics = new ServerMetrics({ queueWaiting: () => 0, running: () => 0, loaded: () => true });
 * metrics.requestFinished('/v1/chat/completions', 200, 0.8);
 * metrics.render().includes('msd_requests_total'); // true
 * ```
 */
export class ServerMetrics {
  private readonly requests = new Counter('msd_requests_total', 'HTTP requests answered, by endpoint and status.');
  private readonly cancelled = new Counter('msd_requests_cancelled_total', 'Generations stopped because the client disconnected.');
  private readonly promptTokens = new Counter('msd_prompt_tokens_total', 'Prompt positions processed (images expanded).');
  private readonly completionTokens = new Counter('msd_completion_tokens_total', 'Tokens generated.');
  private readonly draftedTokens = new Counter('msd_drafted_tokens_total', 'Draft tree nodes verified by the target.');
  private readonly acceptedTokens = new Counter('msd_accepted_tokens_total', 'Drafted tokens the target accepted.');
  private readonly targetSteps = new Counter('msd_target_steps_total', 'Target decoding steps after the prefill.');
  private readonly tau = new Histogram('msd_tau', 'Tokens per speculative step (MSD tau), per speculative generation.', [1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8]);
  private readonly duration = new Histogram('msd_request_duration_seconds', 'Chat completion latency, queue included.', SECONDS);
  private readonly queueWait = new Histogram('msd_queue_wait_seconds', 'Time requests waited for the pipeline.', SECONDS);
  private readonly firstToken = new Histogram('msd_time_to_first_token_seconds', 'Time from a request starting to its first token, queue excluded.', SECONDS);
  private readonly gauges: Gauge[];

  constructor(state: { queueWaiting: () => number; running: () => number; loaded: () => boolean }) {
    this.gauges = [
      new Gauge('msd_queue_waiting', 'Requests waiting for the pipeline.', state.queueWaiting),
      new Gauge('msd_requests_running', 'Requests being decoded (0 or 1).', state.running),
      new Gauge('msd_model_loaded', '1 once the model is loaded and the server answers requests.', () => (state.loaded() ? 1 : 0)),
      new Gauge('msd_process_resident_memory_bytes', 'Resident memory of the server process.', () => process.memoryUsage.rss()),
      new Gauge('msd_process_heap_used_bytes', 'JavaScript heap in use (V8).', () => process.memoryUsage().heapUsed),
      new Gauge(
        'msd_process_external_memory_bytes',
        'Memory held outside the JavaScript heap by buffers and native objects.',
        () => process.memoryUsage().external,
      ),
    ];
  }

  /** Counts an answered request; `seconds` feeds the latency histogram for chat completions. */
  requestFinished(endpoint: string, status: number, seconds?: number): void {
    this.requests.add(1, { endpoint, status: String(status) });
    if (seconds !== undefined) this.duration.observe(seconds);
  }

  /** Records how long a request waited in the queue. */
  queued(seconds: number): void {
    this.queueWait.observe(seconds);
  }

  /** Counts a generation the client's disconnect stopped. */
  cancelledByClient(): void {
    this.cancelled.add();
  }

  /** Adds one finished generation's figures. */
  generation(figures: GenerationFigures): void {
    this.promptTokens.add(figures.promptTokens);
    this.completionTokens.add(figures.completionTokens);
    this.draftedTokens.add(figures.draftedTokens);
    this.acceptedTokens.add(figures.acceptedTokens);
    this.targetSteps.add(figures.steps);
    if (figures.speculative) this.tau.observe(figures.tau);
    this.firstToken.observe(figures.timeToFirstTokenSeconds);
  }

  /** The exposition text. */
  render(): string {
    const metrics = [
      ...this.gauges,
      this.requests,
      this.cancelled,
      this.promptTokens,
      this.completionTokens,
      this.draftedTokens,
      this.acceptedTokens,
      this.targetSteps,
      this.tau,
      this.duration,
      this.queueWait,
      this.firstToken,
    ];
    return `${metrics.flatMap((metric) => metric.render()).join('\n')}\n`;
  }
}
