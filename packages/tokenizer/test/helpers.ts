import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Tokenizer, type TokenizerConfigJson, type TokenizerJson } from '@msd/tokenizer';

export const fixtureDir = fileURLToPath(new URL('./fixtures/sp-bpe', import.meta.url));
/** The bundled tiny-llava model's tokenizer: the second Llama/Metaspace tokenizer the hardening tests cover. */
export const tinyLlavaTokenizerDir = fileURLToPath(new URL('../../tiny-llava/model', import.meta.url));

export interface FixtureLine {
  c: string;
  text: string;
  ids: number[];
  spDecoded?: string;
}

export function readFixtureLines(): FixtureLine[] {
  const raw = gunzipSync(readFileSync(`${fixtureDir}/lines.jsonl.gz`)).toString('utf8');
  return raw
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as FixtureLine);
}

export function readFixtureFiles(): { tokenizerJson: TokenizerJson; tokenizerConfig: TokenizerConfigJson } {
  return {
    tokenizerJson: JSON.parse(readFileSync(`${fixtureDir}/tokenizer.json`, 'utf8')),
    tokenizerConfig: JSON.parse(readFileSync(`${fixtureDir}/tokenizer_config.json`, 'utf8')),
  };
}

export function loadFixtureTokenizer(): Promise<Tokenizer> {
  return Tokenizer.fromDirectory(fixtureDir);
}

/** A seeded random number generator (mulberry32), so property tests fail the same way on every run. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
