/** A piece of text split at special-token strings. */
export type SplitPiece = { type: 'text'; text: string } | { type: 'special'; token: string };

/** How an added token is matched in template text (Hugging Face `AddedToken` flags). */
export interface SplitterToken {
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
}

/**
 * Splits trusted template text at the strings of added tokens (longest match first), the way Hugging Face
 * tokenizers do before normalization: `lstrip`/`rstrip` tokens swallow the whitespace next to them.
 *
 * @example
 * ```ts
 * // SpecialTokenSplitter is internal to @msd/tokenizer (not exported): used inside the package only.
 *
 * new SpecialTokenSplitter([{ content: '<s>' }, { content: '<image>' }]).split('<s>USER: <image>\nHi');
 * // [{ type: 'special', token: '<s>' }, { type: 'text', text: 'USER: ' },
 * //  { type: 'special', token: '<image>' }, { type: 'text', text: '\nHi' }]
 * ```
 */
export class SpecialTokenSplitter {
  private readonly tokens: Map<string, SplitterToken>;
  private readonly byFirstChar: Map<string, string[]>;

  constructor(tokens: readonly SplitterToken[]) {
    this.tokens = new Map(tokens.filter((token) => token.content !== '').map((token) => [token.content, token]));
    this.byFirstChar = new Map();
    for (const content of this.tokens.keys()) {
      const first = content[0] as string;
      const list = this.byFirstChar.get(first) ?? [];
      list.push(content);
      this.byFirstChar.set(first, list);
    }
    for (const list of this.byFirstChar.values()) list.sort((a, b) => b.length - a.length);
  }

  /** Splits `text`; empty text pieces are dropped. */
  split(text: string): SplitPiece[] {
    const pieces: SplitPiece[] = [];
    let start = 0;
    let index = 0;
    while (index < text.length) {
      const match = this.matchAt(text, index);
      if (match === undefined) {
        index++;
        continue;
      }
      pieces.push({ type: 'text', text: text.slice(start, index) });
      pieces.push({ type: 'special', token: match });
      index += match.length;
      start = index;
    }
    pieces.push({ type: 'text', text: text.slice(start) });
    return this.applyStrip(pieces).filter((piece) => piece.type === 'special' || piece.text !== '');
  }

  /** Replaces every special-token string in `text` with `replace(token)`; used to neutralise untrusted text. */
  replaceAll(text: string, replace: (token: string) => string): string {
    let out = '';
    let start = 0;
    let index = 0;
    while (index < text.length) {
      const match = this.matchAt(text, index);
      if (match === undefined) {
        index++;
        continue;
      }
      out += text.slice(start, index) + replace(match);
      index += match.length;
      start = index;
    }
    return out + text.slice(start);
  }

  private matchAt(text: string, index: number): string | undefined {
    const candidates = this.byFirstChar.get(text[index] as string);
    if (!candidates) return undefined;
    return candidates.find((content) => text.startsWith(content, index));
  }

  private applyStrip(pieces: SplitPiece[]): SplitPiece[] {
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as SplitPiece;
      if (piece.type !== 'special') continue;
      const token = this.tokens.get(piece.token);
      const before = pieces[i - 1];
      const after = pieces[i + 1];
      if (token?.lstrip && before?.type === 'text') before.text = before.text.trimEnd();
      if (token?.rstrip && after?.type === 'text') after.text = after.text.trimStart();
    }
    return pieces;
  }
}
