import { MsdError } from '@msd/core';

const outputMarker = 'msd.error.DraftOutputError';
const outputSymbol = Symbol.for(outputMarker);

/**
 * A {@link DraftRunner} returned outputs whose sizes do not match the step it was asked to run
 * (`hidden` must hold `T * hiddenSize` values, `topkLogprobs` / `topkIds` `T * candidatesPerRow`), or reported a
 * cache length that disagrees with the positions appended.
 *
 * @example
 * ```ts
 * import { DraftOutputError } from '@msd/draft';
 *
 * try { await draftTree(runner, cache, root, options); }
 * catch (error) { if (DraftOutputError.isInstance(error)) console.error(error.output, error.message); }
 * ```
 */
export class DraftOutputError extends MsdError {
  private readonly [outputSymbol] = true;
  /** Which output (or `cache`) has the wrong size, e.g. `topkIds`. */
  readonly output: string;

  constructor(options: { output: string; message: string; cause?: unknown }) {
    super({
      code: 'draft_output_mismatch',
      message: options.message,
      hint: 'Check that the DraftRunner returns one row per input position and that its hiddenSize and candidatesPerRow match the draft graph.',
      cause: options.cause,
    });
    this.name = 'DraftOutputError';
    this.output = options.output;
  }

  /** True when `error` is a {@link DraftOutputError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is DraftOutputError {
    return MsdError.hasMarker(error, outputMarker);
  }
}
