import type { ResizeCost } from './resize-cost';
import type { TreeShape } from '@msd/core';
import type { GenerationTimings } from '../../generation-stats';
import type { AcceptanceByKind } from './token-kinds';
import type { InLoopStepCost } from '../in-loop-step-cost';

/** Median and spread of a sample. */
export interface Spread {
  /** Median. */
  median: number;
  /** 10th percentile. */
  p10: number;
  /** 90th percentile. */
  p90: number;
  /** Arithmetic mean. */
  mean: number;
  /** Number of values. */
  count: number;
}

/** Mean milliseconds per generation spent in each phase (a generation's own split, averaged). */
export type PhaseTimes = GenerationTimings;

/** How one decoding method did on one prompt set at one temperature. */
export interface MethodResult {
  /** Display name, e.g. `transformers.js`, `msd autoregressive`, `msd + msd draft`, `msd + msd draft (tuned tree)`. */
  method: string;
  /** `baseline` (another library), `autoregressive` (msd without a draft) or `speculative`. */
  kind: 'baseline' | 'autoregressive' | 'speculative';
  /** Draft name from the model manifest, for speculative methods. */
  draft?: string;
  /** Tree shape, for speculative methods. */
  tree?: TreeShape;
  /** Prompt set: `multimodal`, `two-image`, `text-only` or `custom`. */
  set: string;
  /** Sampling temperature (0 = greedy). */
  temperature: number;
  /** Generations measured. */
  generations: number;
  /** Decode-phase tokens per second, per generation. */
  tokensPerSecond: Spread;
  /** Median of the per-prompt ratios of this method's tokens per second to the fastest autoregressive method's. */
  ratioToFastestAutoregressive: number;
  /** All generated tokens over each generation's whole wall time (vision and both prefills included). */
  endToEndTokensPerSecond: Spread;
  /** Median per-prompt ratio of end-to-end tokens per second to the same autoregressive method's. */
  endToEndRatio: number;
  /** Tokens per target step, per generation (1 for autoregressive methods). */
  tau: Spread;
  /** Every generation's tau, for the distribution chart. */
  tauSamples: number[];
  /** For depth d = 1, 2, ...: the share of verification steps that accepted at least d drafted tokens. */
  acceptanceByDepth: number[];
  /** Drafted tree nodes and accepted drafted tokens, summed over the generations. */
  drafted: number;
  /** Drafted tokens the target accepted, summed over the generations (bonus tokens excluded). */
  accepted: number;
  /**
   * Target steps after the prefill, summed over the generations, and how many of them the speculation
   * policy took without drafting (falling back). Absent in reports written before they were recorded.
   */
  steps?: number;
  /** Of {@link steps}, those the speculation policy took without drafting (falling back to one plain target step). */
  stepsWithoutDrafting?: number;
  /** Mean milliseconds per generation in each phase (the baseline reports only `total`). */
  timings: PhaseTimes;
  /** Largest resident set size seen while this method ran, in MiB. */
  peakRssMiB: number;
  /** At temperature 0: generations whose tokens equal the reference method's (msd autoregressive). */
  identicalToReference?: {
    /** Generations whose token ids equal the reference's for the same prompt and round. */
    identical: number;
    /** Generations compared; anything below it means the method changed the greedy output (a bug). */
    total: number;
  };
  /**
   * Milliseconds from the request to its first token (what a user waits before the answer starts);
   * empty for a baseline timed as a black box. Absent in reports from before it was measured.
   *
   * @example
   * ```ts
   * result.timeToFirstTokenMs?.median; // 41.3
   * ```
   */
  timeToFirstTokenMs?: Spread;
  /**
   * Mean generated tokens per answer (EOS not counted).
   *
   * @example
   * ```ts
   * result.answerTokens; // 62.4
   * ```
   */
  answerTokens?: number;
  /**
   * Speculative methods: tokens of image-dependent words (colours, shapes, sizes, places, counts; see
   * `IMAGE_DEPENDENT_WORDS`) and of all other words, with how many of each the draft supplied.
   *
   * @example
   * ```ts
   * const { image } = result.acceptanceByTokenKind!;
   * console.log(image.fromDraft / image.tokens); // share of image-dependent tokens the draft got right
   * ```
   */
  acceptanceByTokenKind?: AcceptanceByKind;
}

/** One point of a measured cost curve. */
export interface CostPoint {
  /** Tree nodes verified (verify curve) or rows drafted in one call (draft curve). */
  size: number;
  /** Median milliseconds of one call. */
  milliseconds: number;
}

/** What `msd tune` measured and chose. */
export interface TuningSummary {
  /** Device the measurements ran on. */
  device: string;
  /** Context length (cached positions) the calls were timed at. */
  contextLength: number;
  /** One target call over N new positions. */
  verifyCost: CostPoint[];
  /** One draft call over N rows. */
  draftCost: CostPoint[];
  /** What a step cost inside the decoding loop, fitted over the candidates' decodes (absent when too few shapes were tried). */
  inLoop?: InLoopStepCost;
  /** The chosen tree and its predicted decode speed relative to autoregressive decoding. */
  chosen: TreeShape;
  /** Predicted decode speed of {@link chosen} over autoregressive decoding (e.g. 1.8 = 1.8x the tokens per second). */
  predictedSpeedup: number;
  /** Every shape considered, with its predicted tau and speedup, best first. */
  candidates: Array<{ tree: TreeShape; predictedTau: number; predictedSpeedup: number }>;
}

/** Everything `msd bench` measured: written as `results.json`, rendered as `report.md` and SVG charts. */
export interface BenchmarkReport {
  /** ISO time the run started. */
  createdAt: string;
  /** The command line that produced it. */
  command: string;
  /** Where it ran. */
  machine: {
    /** CPU model name as the OS reports it (`os.cpus()`), or `unknown`. */
    cpu: string;
    /** Logical CPU cores of the machine (not the threads the run used; see `settings.threads`). */
    cores: number;
    /** `process.platform` and `process.arch`, e.g. `linux-x64`. */
    platform: string;
    /** Node.js version, e.g. `v20.19.0`. */
    node: string;
    /** Version of the onnxruntime package that ran the models, or `unknown`. */
    onnxruntime: string;
    /** Execution provider the pipelines used, e.g. `cpu` or `webgpu` (after any fallback). */
    device: string;
  };
  /** Model directory and the run's settings. */
  settings: {
    /** The model directory benchmarked. */
    model: string;
    /** The prompt sets run, in order of first appearance (e.g. `multimodal`, `text-only`). */
    sets: string[];
    /** Passes over all prompts (default 3). */
    rounds: number;
    /** Most tokens per generation (default 200). */
    maxNewTokens: number;
    /** Sampling temperatures run; 0 is greedy, where every method must produce the same tokens. */
    temperatures: number[];
    /** Intra-op threads of the target sessions (default 2). */
    threads: number;
    /** Number of prompts, over all sets. */
    prompts: number;
  };
  /** One entry per method, set and temperature. */
  results: MethodResult[];
  /** The hardware-aware tree tuning used for the tuned method, if any. */
  tuning?: TuningSummary;
  /** What exact (Hugging Face-identical) resizing cost against libvips on the run's images. */
  resizing?: ResizeCost;
  /** Problems that did not stop the run (e.g. a baseline that could not be loaded). */
  notes: string[];
}
