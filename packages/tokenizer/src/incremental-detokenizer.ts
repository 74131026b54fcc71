import type { Tokenizer } from './tokenizer';

/**
 * Options of {@link IncrementalDetokenizer}.
 *
 * @example
 * ```ts
 * const stream = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens: true });
 * ```
 */
export interface IncrementalDetokenizerOptions {
  /** Leave out special tokens, as `decode(ids, { skipSpecialTokens: true })` does. Default `false`. */
  skipSpecialTokens?: boolean;
}

const REPLACEMENT = '\uFFFD';

/**
 * Turns a stream of token ids into text deltas for streaming output.
 *
 * `push(id)` returns only complete text: while the last tokens are an unfinished UTF-8 byte sequence
 * (byte-fallback pieces such as `<0xE2>`), it returns `''` and holds them. The SentencePiece leading space
 * of the first token is stripped exactly as `decode` strips it. After the last token, `flush()` returns
 * what is held. The concatenation of all deltas equals `tokenizer.decode(allIds)`.
 *
 * It decodes a short sliding window (the last emitted chunk plus the tokens after it) and emits the
 * difference, so each push costs O(window), not O(sequence).
 *
 * @example
 * ```ts
 * import { IncrementalDetokenizer } from '@msd/tokenizer';
 *
 * const stream = new IncrementalDetokenizer(tokenizer);
 * for (const id of generatedIds) process.stdout.write(stream.push(id));
 * process.stdout.write(stream.flush());
 * ```
 */
export class IncrementalDetokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly skipSpecialTokens: boolean;
  private ids: number[] = [];
  /** Start of the decode window (a token whose text was already emitted, or 0). */
  private prefixOffset = 0;
  /** End of the emitted tokens: text of ids[prefixOffset, readOffset) is already out. */
  private readOffset = 0;
  private emitted = '';

  constructor(tokenizer: Tokenizer, options: IncrementalDetokenizerOptions = {}) {
    this.tokenizer = tokenizer;
    this.skipSpecialTokens = options.skipSpecialTokens ?? false;
  }

  /** Everything emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /**
   * Adds one token id and returns the new complete text (possibly `''`).
   *
   * @example
   * ```ts
   * const delta = stream.push(nextId);
   * ```
   */
  push(id: number): string {
    this.tokenizer.decode([id]); // validates the id (throws InvalidArgumentError)
    if (this.skipSpecialTokens && this.tokenizer.isSpecialId(id)) return '';
    this.ids.push(id);
    const prefixText = this.decodeRange(this.prefixOffset, this.readOffset);
    const newText = this.decodeRange(this.prefixOffset, this.ids.length);
    if (newText.length <= prefixText.length || newText.endsWith(REPLACEMENT) || !newText.startsWith(prefixText)) {
      return '';
    }
    const delta = newText.slice(prefixText.length);
    // The next window starts at the first token of this chunk: a clean UTF-8 boundary, and never empty after
    // the first emission, so a leading-space strip of the window hits already-emitted text only.
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.emitted += delta;
    return delta;
  }

  /**
   * Returns the text still held back (e.g. an unfinished byte sequence, decoded with U+FFFD) and resets.
   *
   * @example
   * ```ts
   * process.stdout.write(stream.flush());
   * ```
   */
  flush(): string {
    const prefixText = this.decodeRange(this.prefixOffset, this.readOffset);
    const allText = this.decodeRange(this.prefixOffset, this.ids.length);
    const delta = allText.startsWith(prefixText) ? allText.slice(prefixText.length) : allText;
    this.emitted += delta;
    this.ids = [];
    this.prefixOffset = 0;
    this.readOffset = 0;
    return delta;
  }

  /**
   * Forgets all state, for a new sequence.
   *
   * @example
   * ```ts
   * stream.reset();
   * ```
   */
  reset(): void {
    this.ids = [];
    this.prefixOffset = 0;
    this.readOffset = 0;
    this.emitted = '';
  }

  private decodeRange(start: number, end: number): string {
    return this.tokenizer.decode(this.ids.slice(start, end));
  }
}
