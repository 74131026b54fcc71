import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Tokenizer, type TokenizerConfigJson, type TokenizerJson } from '@msd/tokenizer';

export const fixtureDir = fileURLToPath(new URL('./fixtures/sp-bpe', import.meta.url));

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
