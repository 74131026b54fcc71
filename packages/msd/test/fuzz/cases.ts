/**
 * Seeded generators of fuzz cases: mutated images, random Unicode through the prompt paths, random
 * generation options, pipeline options and manifest mutations. Cases are plain JSON; values JSON cannot
 * hold (NaN, Infinity, undefined, an aborted signal) are tagged and revived in the worker.
 */
import { crc32 } from 'node:zlib';
import { SeededRandom } from '@msd/verifier';

export type ImageSource = { type: 'bytes'; base64: string } | { type: 'data-url'; url: string } | { type: 'path'; path: string } | { type: 'fifo' };

export type FuzzCase =
  | { kind: 'image'; mutation: string; input: ImageSource }
  | { kind: 'unicode'; parts: string[]; role: string; name?: string; images: number; template: string; generate: boolean }
  | { kind: 'options'; options: unknown }
  | { kind: 'create'; options: unknown }
  | { kind: 'manifest'; path: string[]; operation: 'set' | 'delete'; value: unknown };

type Tagged = { $special: 'NaN' | 'Infinity' | '-Infinity' | 'undefined' | 'aborted-signal' | 'signal' | 'big-array' };

/** Turns the tags back into the values JSON cannot hold. */
export function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const special = (value as Partial<Tagged>).$special;
  if (special === 'NaN') return Number.NaN;
  if (special === 'Infinity') return Infinity;
  if (special === '-Infinity') return -Infinity;
  if (special === 'undefined') return undefined;
  if (special === 'aborted-signal') return AbortSignal.abort();
  if (special === 'signal') return new AbortController().signal;
  if (special === 'big-array') return Array.from({ length: 100_000 }, () => 'a.png');
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, revive(entry)]));
}

class Fuzz {
  private readonly random: SeededRandom;
  constructor(seed: number) {
    this.random = new SeededRandom({ seed });
  }
  int(below: number): number {
    return Math.floor(this.random.nextFloat() * below);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(probability: number): boolean {
    return this.random.nextFloat() < probability;
  }
}

// ---------------------------------------------------------------- images

function withPngDimensions(png: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(png);
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC covers type and data.
  copy.writeUInt32BE(width >>> 0, 16);
  copy.writeUInt32BE(height >>> 0, 20);
  copy.writeUInt32BE(crc32(copy.subarray(12, 29)) >>> 0, 29);
  return copy;
}

function withGifScreen(gif: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(gif);
  copy.writeUInt16LE(width & 0xffff, 6);
  copy.writeUInt16LE(height & 0xffff, 8);
  return copy;
}

function mutateBytes(fuzz: Fuzz, bytes: Buffer): { mutation: string; bytes: Buffer } {
  const copy = Buffer.from(bytes);
  const mutation = fuzz.pick(['bit-flips', 'truncate', 'insert', 'delete', 'overwrite', 'duplicate']);
  if (mutation === 'bit-flips') {
    for (let flips = 1 + fuzz.int(20); flips > 0; flips--) copy[fuzz.int(copy.length)]! ^= 1 << fuzz.int(8);
    return { mutation, bytes: copy };
  }
  const at = fuzz.int(copy.length);
  if (mutation === 'truncate') return { mutation, bytes: copy.subarray(0, at) };
  const random = Buffer.from(Array.from({ length: 1 + fuzz.int(64) }, () => fuzz.int(256)));
  if (mutation === 'insert') return { mutation, bytes: Buffer.concat([copy.subarray(0, at), random, copy.subarray(at)]) };
  if (mutation === 'delete') return { mutation, bytes: Buffer.concat([copy.subarray(0, at), copy.subarray(at + 1 + fuzz.int(64))]) };
  if (mutation === 'overwrite') {
    random.copy(copy, at);
    return { mutation, bytes: copy };
  }
  const end = Math.min(copy.length, at + 1 + fuzz.int(256));
  return { mutation, bytes: Buffer.concat([copy.subarray(0, end), copy.subarray(at, end), copy.subarray(end)]) };
}

const HOSTILE_PATHS = [
  '/proc/self/pagemap',
  '/proc/self/mem',
  '/proc/self/status',
  '/dev/zero',
  '/dev/urandom',
  '/dev/null',
  '/tmp',
  '/nonexistent/x.png',
  '',
  ' ',
];
const BOMB_SIZES: Array<[number, number]> = [
  [30000, 1],
  [100000, 1],
  [49999, 1000],
  [65535, 65535],
  [0, 0],
  [1, 0],
  [2 ** 31, 1],
  [2 ** 32 - 1, 2 ** 32 - 1],
  [20000, 3],
];

/** Image cases from encoded seed images (`formats`: name -> bytes). */
export function imageCases(seed: number, count: number, formats: Record<string, Buffer>): FuzzCase[] {
  const fuzz = new Fuzz(seed);
  const cases: FuzzCase[] = [];
  const names = Object.keys(formats);
  for (const path of HOSTILE_PATHS) cases.push({ kind: 'image', mutation: `path ${path}`, input: { type: 'path', path } });
  cases.push({ kind: 'image', mutation: 'fifo', input: { type: 'fifo' } });
  for (const [width, height] of BOMB_SIZES) {
    cases.push({
      kind: 'image',
      mutation: `png header ${width}x${height}`,
      input: { type: 'bytes', base64: withPngDimensions(formats.png!, width, height).toString('base64') },
    });
    if (formats.gif)
      cases.push({
        kind: 'image',
        mutation: `gif screen ${width}x${height}`,
        input: { type: 'bytes', base64: withGifScreen(formats.gif, width, height).toString('base64') },
      });
  }
  cases.push({ kind: 'image', mutation: 'empty', input: { type: 'bytes', base64: '' } });
  while (cases.length < count) {
    const format = fuzz.pick(names);
    const { mutation, bytes } = mutateBytes(fuzz, formats[format]!);
    const input: ImageSource = fuzz.chance(0.15)
      ? { type: 'data-url', url: `data:image/${format};base64,${fuzz.chance(0.3) ? `${bytes.toString('base64')}%%` : bytes.toString('base64')}` }
      : { type: 'bytes', base64: bytes.toString('base64') };
    cases.push({ kind: 'image', mutation: `${format} ${mutation}`, input });
  }
  return cases.slice(0, Math.max(count, cases.length));
}

// ---------------------------------------------------------------- unicode

const FRAGMENTS = [
  '<image>',
  '<s>',
  '</s>',
  '<unk>',
  '<pad>',
  '<',
  '>',
  '/',
  'ima',
  'ge>',
  '<ima',
  's>',
  '</',
  'USER:',
  'ASSISTANT:',
  '\n',
  ' ',
  '▁',
  '{{',
  '}}',
  '{%',
  '%}',
  '{#',
  'bos_token',
  '\u0000',
  '\uFEFF',
  '\u200B',
  '\u202E',
];

function randomCodePoint(fuzz: Fuzz): string {
  const kind = fuzz.int(8);
  if (kind === 0) return String.fromCharCode(0xd800 + fuzz.int(0x800)); // lone surrogate
  if (kind === 1) return String.fromCodePoint(0x1f300 + fuzz.int(0x300)); // emoji
  if (kind === 2) return String.fromCodePoint(0x300 + fuzz.int(0x70)); // combining marks
  if (kind === 3) return String.fromCodePoint(fuzz.int(0x20)); // control characters
  if (kind === 4) return String.fromCodePoint(0x10000 + fuzz.int(0xfffff)); // astral
  if (kind === 5) return String.fromCodePoint(0x4e00 + fuzz.int(0x5000)); // CJK
  return String.fromCodePoint(0x20 + fuzz.int(0x5f)); // printable ASCII
}

function randomText(fuzz: Fuzz, maxPieces: number): string {
  let text = '';
  for (let pieces = fuzz.int(maxPieces); pieces > 0; pieces--) text += fuzz.chance(0.35) ? fuzz.pick(FRAGMENTS) : randomCodePoint(fuzz);
  return text;
}

/** Splits `text` at random places (markers such as `<image>` are often cut in two). */
function splitRandomly(fuzz: Fuzz, text: string): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > 0 && parts.length < 6) {
    const at = 1 + fuzz.int(rest.length);
    parts.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) parts.push(rest);
  return parts.length ? parts : [text];
}

/** A template that renders the role and a `name` field, as some chat templates do. */
const ROLE_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{ message['role'] }}{% if message['name'] %} ({{ message['name'] }}){% endif %}: " +
  "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}" +
  "{% if part['type'] == 'image' %}<image>\n{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}{{ eos_token }}{% endfor %}ASSISTANT:";

/** Random Unicode through encode, buildLlavaPrompt, applyChatTemplate and (a share of them) generate. */
export function unicodeCases(seed: number, count: number, defaultTemplate: string): FuzzCase[] {
  const fuzz = new Fuzz(seed);
  return Array.from({ length: count }, (_, index) => {
    const text = randomText(fuzz, 40);
    const template = fuzz.chance(0.5) ? ROLE_TEMPLATE : defaultTemplate;
    const role = fuzz.chance(0.85) ? fuzz.pick(['user', 'system', 'assistant']) : randomText(fuzz, 6) || 'user';
    const name = fuzz.chance(0.4) ? randomText(fuzz, 8) : undefined;
    return {
      kind: 'unicode' as const,
      parts: splitRandomly(fuzz, text),
      role,
      ...(name === undefined ? {} : { name }),
      images: fuzz.int(3),
      template,
      generate: index % 10 === 0,
    };
  });
}

// ---------------------------------------------------------------- options

const HOSTILE_VALUES: unknown[] = [
  null,
  0,
  -1,
  1,
  2,
  0.5,
  1.5,
  1e9,
  -1e9,
  2 ** 53,
  5e-324,
  '',
  'x',
  '5',
  [],
  [1],
  ['a'],
  {},
  true,
  false,
  { $special: 'NaN' },
  { $special: 'Infinity' },
  { $special: '-Infinity' },
  { $special: 'undefined' },
];

function hostileValue(fuzz: Fuzz, valid: unknown[]): unknown {
  return fuzz.chance(0.5) ? fuzz.pick(valid) : fuzz.pick(HOSTILE_VALUES);
}

/** Random `generate()` options: each field absent, valid, or hostile. */
export function optionCases(seed: number, count: number, imagePath: string): FuzzCase[] {
  const fuzz = new Fuzz(seed);
  const fields: Record<string, unknown[]> = {
    prompt: ['Describe the image.', 'Hi', '   '],
    images: [[], [imagePath], [imagePath, imagePath], 'a.png', [null], [42], { $special: 'big-array' }],
    messages: [
      [{ role: 'user', content: 'Hi' }],
      [{ role: 'user', content: [{ type: 'text' }] }],
      [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Hi' }] }],
      [null],
      'Hi',
      [{ role: 5, content: 'x' }],
    ],
    maxNewTokens: [1, 3, 8],
    temperature: [0, 0.7, 1, 5e-324, 100],
    topP: [0.5, 0.9, 1],
    topK: [0, 1, 5, 50],
    seed: [0, 7, 2 ** 40],
    stopStrings: [['.'], 'is', [''], [5]],
    speculative: [true, false],
    tree: [{ depth: 3 }, { depth: 5, branching: 3, totalTokens: 8 }, { branching: 11 }, { totalTokens: 1e9 }, { depth: 1e9 }, { depth: 0 }],
    adaptive: [true, false, { minimumGain: 2 }, { smoothing: 0 }, { initialBackoff: 1e9, maximumBackoff: 1e9 }],
    signal: [{ $special: 'signal' }, { $special: 'aborted-signal' }, {}],
  };
  return Array.from({ length: count }, () => {
    if (fuzz.chance(0.03)) return { kind: 'options' as const, options: fuzz.pick(HOSTILE_VALUES) };
    const options: Record<string, unknown> = { prompt: 'Describe the image.', maxNewTokens: 4 };
    for (const [field, valid] of Object.entries(fields)) if (fuzz.chance(0.25)) options[field] = hostileValue(fuzz, valid);
    // A valid but long answer is fine, only slow: keep runs short.
    if (typeof options.maxNewTokens === 'number' && options.maxNewTokens > 8 && options.maxNewTokens < 1e6) options.maxNewTokens = 8;
    return { kind: 'options' as const, options };
  });
}

/** Random `MsdPipeline.create()` options. */
export function createCases(seed: number, count: number): FuzzCase[] {
  const fuzz = new Fuzz(seed);
  const fields: Record<string, unknown[]> = {
    device: ['cpu', ['cpu'], 'dml', 'nope', [], ['webgpu', 'cpu']],
    draft: [false, 'msd', 'nope', ''],
    session: [
      { intraOpNumThreads: 1 },
      { intraOpNumThreads: -1 },
      { intraOpNumThreads: 100000 },
      { intraOpNumThreads: 1.5 },
      { graphOptimizationLevel: 'bogus' },
    ],
    limits: [{ maxImages: 2 }, { maxImages: 0 }, { maxThreads: -1 }, { maxPromptCharacters: { $special: 'Infinity' } }],
    tree: [{ depth: 3 }, { depth: -1 }],
    modelDirectory: ['/nonexistent', '/tmp', '/etc'],
  };
  return Array.from({ length: count }, () => {
    const options: Record<string, unknown> = { session: { intraOpNumThreads: 1 } };
    for (const [field, valid] of Object.entries(fields)) if (fuzz.chance(0.3)) options[field] = hostileValue(fuzz, valid);
    return { kind: 'create' as const, options };
  });
}

// ---------------------------------------------------------------- manifests

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Object.entries(value).flatMap(([key, child]) => paths(child, [...prefix, key]));
  return prefix.length ? [prefix, ...children] : children;
}

/** Random mutations of one manifest field (any depth): deleted, or set to a hostile value. */
export function manifestCases(seed: number, count: number, manifest: unknown): FuzzCase[] {
  const fuzz = new Fuzz(seed);
  // Tensor lists are long; weigh the top-level and graph-level fields up so they are not drowned.
  const all = paths(manifest);
  const shallow = all.filter((path) => path.length <= 3);
  const values = [...HOSTILE_VALUES, '../../../../etc/passwd', '/etc/passwd', 'onnx/../../x.onnx', 'onnx/embed_tokens.onnx', 1e9, 4001, 99999, 'float128'];
  return Array.from({ length: count }, () => {
    const path = fuzz.pick(fuzz.chance(0.6) ? shallow : all);
    return fuzz.chance(0.25)
      ? { kind: 'manifest' as const, path, operation: 'delete' as const, value: null }
      : { kind: 'manifest' as const, path, operation: 'set' as const, value: fuzz.pick(values) };
  });
}
