import { AbortedError, MsdError } from '@msd/core';
import { abortedBy } from './abort';
import type { GenerationStats } from './generation-stats';
import type { StepLock } from './step-lock';

/** What `generate()` returns. */
export interface GenerateResult {
  /** The generated text (stop strings and EOS excluded). */
  text: string;
  /** The generated token ids (EOS excluded). */
  tokenIds: number[];
  /** Why generation ended. */
  finishReason: 'eos' | 'length' | 'stop';
  /** Timings and acceptance figures. */
  stats: GenerationStats;
}

/**
 * A stream of text deltas, with the full result once it ends. A stream generates once: iterate it
 * once, or only await `result`.
 */
export interface GenerationStream extends AsyncIterable<string> {
  /**
   * Settles when the generation ends: resolves with the result, or rejects with its error. It
   * rejects with an `AbortError` ({@link AbortedError}) when the consumer stops iterating early. When
   * it is awaited and the stream is not iterated (in the same tick), awaiting it runs the whole
   * generation.
   */
  readonly result: Promise<GenerateResult>;
}

/** How a {@link PipelineStream} reaches its pipeline. */
export interface StreamHost {
  /** The pipeline's step lock. */
  lock: StepLock;
  /** A typed error when the pipeline can no longer generate (closed), else undefined. */
  unavailable(): MsdError | undefined;
}

type State = 'new' | 'iterating' | 'draining' | 'done';

/**
 * In a browser, onnxruntime-web's WebAssembly runs settle on microtasks: a generation would run from its
 * first delta to its last without the page painting, handling input (a Stop button) or running
 * timers. Between deltas a stream there yields one task. Node's onnxruntime-node runs off the main
 * thread, so the event loop turns anyway and nothing is added.
 */
const yieldsToEventLoop =
  typeof (globalThis as { MessageChannel?: unknown }).MessageChannel === 'function' &&
  !(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;

/** The DOM's MessageChannel, as far as {@link nextTask} uses it (Node's typings have another one). */
interface BrowserMessageChannel {
  port1: { onmessage: (() => void) | null; close(): void };
  port2: { postMessage(message: unknown): void };
}

/** Resolves after one task (a MessageChannel message: not throttled like a zero timeout). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new (globalThis as unknown as { MessageChannel: new () => BrowserMessageChannel }).MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * The stream `MsdPipeline.stream()` returns: each step of the generation runs under the pipeline's
 * step lock, `result` always settles (early exit, abort, close, error), and iterating twice is a
 * typed error rather than a second generation.
 *
 * @example
 * ```ts
 * const stream = pipeline.stream({ prompt: 'Describe the image.', images: ['scene.png'] });
 * for await (const delta of stream) process.stdout.write(delta);
 * console.log((await stream.result).stats.tau);
 * ```
 */
export class PipelineStream implements GenerationStream {
  private state: State = 'new';
  private generator: AsyncGenerator<string, GenerateResult> | undefined;
  private readonly settled: Promise<GenerateResult>;
  private resolve!: (result: GenerateResult) => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly host: StreamHost,
    private readonly start: () => AsyncGenerator<string, GenerateResult>,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.settled = new Promise<GenerateResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A rejection nobody awaits (the error was already thrown to the iterating consumer) must not
    // crash the process as an unhandled rejection.
    this.settled.catch(() => {});
  }

  get result(): Promise<GenerateResult> {
    if (this.state === 'new') {
      // A consumer that starts iterating in this tick gets the deltas; otherwise awaiting the result
      // generates the whole answer (it would never settle if nobody drove the generation).
      // setImmediate where Node has it (after pending I/O); a zero timeout in browsers.
      ((globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate ?? setTimeout)(() => {
        if (this.state === 'new') void this.drain();
      });
    }
    return this.settled;
  }

  /**
   * Starts the generation and yields its text deltas; leaving the loop early aborts it. Throws an `MsdError`
   * (`stream_consumed`) when the stream was already iterated, or awaiting `result` already started the generation.
   */
  [Symbol.asyncIterator](): AsyncIterator<string> {
    if (this.state !== 'new') {
      throw new MsdError({
        code: 'stream_consumed',
        message: 'This stream has already been iterated (or its result awaited); a stream generates once.',
        hint: 'Call pipeline.stream() again for another generation.',
      });
    }
    this.state = 'iterating';
    return {
      next: () => this.step(),
      return: async () => {
        await this.stop(new AbortedError({ message: 'The consumer stopped reading the stream before the generation ended.' }));
        return { done: true, value: undefined };
      },
    };
  }

  private async drain(): Promise<void> {
    this.state = 'draining';
    try {
      while (!(await this.step()).done) {
        // The deltas are in the result's text.
      }
    } catch {
      // `result` carries the error.
    }
  }

  /** Runs the generation to its next delta under the pipeline's lock. */
  private async step(): Promise<IteratorResult<string>> {
    if (this.state === 'done') return { done: true, value: undefined };
    if (this.generator && yieldsToEventLoop) await nextTask();
    const stopped = this.host.unavailable() ?? (this.signal?.aborted ? abortedBy(this.signal) : undefined);
    if (stopped) {
      await this.stop(stopped);
      throw stopped;
    }
    try {
      const next = await this.host.lock.run(async () => {
        this.generator ??= this.start();
        return this.generator.next();
      });
      if (!next.done) return next;
      this.finish();
      this.resolve(next.value);
      return { done: true, value: undefined };
    } catch (error) {
      this.finish();
      this.reject(error);
      throw error;
    }
  }

  /** Ends the generation early: its `finally` blocks free the caches; `result` rejects with `reason`. */
  private async stop(reason: MsdError): Promise<void> {
    if (this.state === 'done') return;
    const generator = this.generator;
    this.finish();
    this.reject(reason);
    if (generator) await this.host.lock.run(async () => generator.return(undefined as never)).catch(() => {});
  }

  private finish(): void {
    this.state = 'done';
  }
}
