import { InvalidArgumentError, MsdError } from '@msd/core';

const invalidDraftTreeMarker = 'msd.error.InvalidDraftTreeError';
const invalidDraftTreeSymbol = Symbol.for(invalidDraftTreeMarker);

/**
 * A draft tree handed to the verifier breaks the `DraftTree` invariants of `@msd/core` (node 0 is the
 * root, parents come before their children, depths grow by one per level, one entry per node).
 *
 * It is an `InvalidArgumentError` (code `invalid_argument`, argument `tree`), so code that handles bad
 * arguments in general catches it too.
 *
 * @example
 * ```ts
 * import { InvalidDraftTreeError, treeAttentionMask } from '@msd/verifier';
 *
 * try {
 *   treeAttentionMask(tree, pastLength);
 * } catch (error) {
 *   if (InvalidDraftTreeError.isInstance(error)) console.error(error.problem);
 *   else throw error;
 * }
 * ```
 */
export class InvalidDraftTreeError extends InvalidArgumentError {
  private readonly [invalidDraftTreeSymbol] = true;
  /** What is wrong with the tree, as `draftTreeProblem` of `@msd/core` describes it. */
  readonly problem: string;

  constructor(options: { problem: string; cause?: unknown }) {
    super({
      argument: 'tree',
      message: `The draft tree is malformed: ${options.problem}.`,
      hint: 'Build trees with parents before children (parents[i] < i), node 0 as the root (parent -1, depth 0) and depth = parent depth + 1.',
      cause: options.cause,
    });
    this.name = 'InvalidDraftTreeError';
    this.problem = options.problem;
  }

  /** True when `error` is an {@link InvalidDraftTreeError} from any installed copy of msd. */
  static override isInstance(error: unknown): error is InvalidDraftTreeError {
    return MsdError.hasMarker(error, invalidDraftTreeMarker);
  }
}
