import { beforeAll, describe, expect, it } from 'vitest';
import { IncrementalDetokenizer, type Tokenizer } from '@msd/tokenizer';
import { loadFixtureTokenizer, readFixtureLines, type FixtureLine } from './helpers';

// The fixture comes from training/fixtures/make_tokenizer_fixture.py: every line with the ids
// SentencePiece gives it, and `spDecoded` where SentencePiece's own decode differs from the line.
describe('parity with sentencepiece over every fixture line', () => {
  let tokenizer: Tokenizer;
  let lines: FixtureLine[];

  beforeAll(async () => {
    tokenizer = await loadFixtureTokenizer();
    lines = readFixtureLines();
  });

  it('has at least 10,000 varied lines', () => {
    expect(lines.length).toBeGreaterThanOrEqual(10_000);
    const categories = new Set(lines.map((line) => line.c));
    for (const category of ['debian', 'accents', 'cjk', 'emoji', 'control', 'whitespace', 'digits', 'special-strings']) {
      expect(categories).toContain(category);
    }
  });

  it('encodes every line to exactly the sentencepiece ids', () => {
    const mismatches = lines.filter((line) => !sameIds(tokenizer.encode(line.text), line.ids));
    console.log(`encode parity: ${lines.length - mismatches.length}/${lines.length} lines match sentencepiece`);
    expect(mismatches.map((line) => line.text)).toEqual([]);
  });

  it("decodes every line's ids to sentencepiece's decode, and to the line itself where sentencepiece round-trips", () => {
    let equalToSentencepiece = 0;
    let equalToText = 0;
    const notRoundTrip: string[] = [];
    for (const line of lines) {
      const decoded = tokenizer.decode(line.ids);
      if (decoded === (line.spDecoded ?? line.text)) equalToSentencepiece++;
      if (decoded === line.text) equalToText++;
      if (line.spDecoded !== undefined) notRoundTrip.push(line.text);
    }
    console.log(
      `decode parity: ${equalToSentencepiece}/${lines.length} equal sentencepiece's decode; ` +
        `${equalToText}/${lines.length} equal the original line; ` +
        `${notRoundTrip.length} lines do not round-trip through sentencepiece itself (all contain U+2581 "▁")`,
    );
    expect(equalToSentencepiece).toBe(lines.length);
    expect(equalToText).toBe(lines.length - notRoundTrip.length);
    // SentencePiece writes spaces as U+2581, so a literal U+2581 in text decodes as a space: the only loss.
    expect(notRoundTrip.every((text) => text.includes('\u2581'))).toBe(true);
  });

  it('round-trips decode(encode(text)) === text for every line without U+2581', () => {
    const failures = lines.filter((line) => !line.text.includes('\u2581') && tokenizer.decode(tokenizer.encode(line.text)) !== line.text);
    expect(failures.map((line) => line.text)).toEqual([]);
  });

  it('streams every line token by token to exactly decode(ids)', () => {
    let matches = 0;
    let partialDeltas = 0;
    const stream = new IncrementalDetokenizer(tokenizer);
    for (const line of lines) {
      stream.reset();
      let text = '';
      for (const id of line.ids) {
        const delta = stream.push(id);
        // Only complete text comes out: no replacement character from a half-decoded byte sequence.
        if (delta.includes('\uFFFD') && !line.text.includes('\uFFFD')) partialDeltas++;
        text += delta;
      }
      text += stream.flush();
      if (text === tokenizer.decode(line.ids)) matches++;
    }
    console.log(`incremental detokenizer: ${matches}/${lines.length} lines equal decode(ids)`);
    expect(matches).toBe(lines.length);
    expect(partialDeltas).toBe(0);
  });

  it('never yields added-token ids when encoding user text, even text full of special-token strings', () => {
    const specialLines = lines.filter((line) => line.c === 'special-strings' || /<\/?s>|<image>|<unk>/.test(line.text));
    expect(specialLines.length).toBeGreaterThan(100);
    for (const line of specialLines) {
      expect(tokenizer.encode(line.text).some((id) => tokenizer.isSpecialId(id))).toBe(false);
    }
  });
});

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}
