import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  costCurveChart,
  markdownReport,
  tauDistributionChart,
  tokensPerSecondChart,
  writeBenchmarkReport,
  type BenchmarkReport,
  type MethodResult,
  type Spread,
  type TuningSummary,
} from 'msd/bench';

// The charts and the markdown are checked for structure and content, not looks: the XML must parse,
// every method must be named, and the geometry must follow the numbers.

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  /** Character data directly inside the element, entities decoded. */
  text: string;
}

const METHODS = ['transformers.js', 'msd autoregressive', 'msd + msd draft', 'msd + msd draft (tuned tree)'] as const;

describe('the XML checker used below', () => {
  it('rejects what an SVG viewer would reject', () => {
    for (const broken of ['<svg><g></svg>', '<svg>a & b</svg>', '<svg x=1/>', '<svg x="1" x="2"/>', '<svg/><svg/>', '<svg><text>a < b</text></svg>']) {
      expect(() => parseXml(broken), broken).toThrow();
    }
    expect(parseXml('<svg a="&lt;&#38;"><text>x &amp; y</text></svg>')[1]).toEqual({ name: 'text', attributes: {}, text: 'x & y' });
  });
});

describe('tokensPerSecondChart', () => {
  const results = fakeReport().results.filter((result) => result.temperature === 0 && result.set === 'multimodal');
  const svg = tokensPerSecondChart(results, { title: 'Decode speed, multimodal' });
  const elements = parseXml(svg);

  it('is a standalone, well-formed SVG with a title and axis labels', () => {
    expect(elements[0]).toMatchObject({ name: 'svg', attributes: { xmlns: 'http://www.w3.org/2000/svg' } });
    expect(elements.find((element) => element.name === 'title')?.text).toBe('Decode speed, multimodal');
    expect(texts(elements).some((text) => text.startsWith('decode tokens per second'))).toBe(true);
    expect(texts(elements)).toContain('method');
  });

  it('names every method and prints the median and ratio at the bar end', () => {
    for (const method of METHODS) expect(texts(elements)).toContain(method);
    expect(texts(elements)).toContain('168 tok/s · 1.84x');
    expect(texts(elements)).toContain('91.3 tok/s · 1.00x');
  });

  it('draws bars whose lengths are ordered like the medians', () => {
    const widths = new Map(
      elements.filter((element) => element.attributes.class === 'bar').map((bar) => [bar.attributes['data-label'], Number(bar.attributes.width)]),
    );
    const byMedian = [...results].sort((a, b) => a.tokensPerSecond.median - b.tokensPerSecond.median);
    const ordered = byMedian.map((result) => widths.get(result.method)!);
    expect(ordered).toHaveLength(METHODS.length);
    for (let index = 1; index < ordered.length; index++) expect(ordered[index]!).toBeGreaterThan(ordered[index - 1]!);
  });

  it('escapes names that are not valid XML text', () => {
    const odd = { ...results[2]!, method: `msd <fast> & "tiny" 'draft'` };
    const oddSvg = tokensPerSecondChart([odd], { title: 'A & B <speed>' });
    expect(oddSvg).toContain('msd &lt;fast&gt; &amp; &quot;tiny&quot; &apos;draft&apos;');
    expect(texts(parseXml(oddSvg))).toContain(odd.method);
  });

  it('labels bars with set and temperature when the results span several', () => {
    const labels = parseXml(tokensPerSecondChart(fakeReport().results, { title: 'All' }))
      .filter((element) => element.attributes.class === 'bar')
      .map((bar) => bar.attributes['data-label']);
    expect(labels).toContain('msd + msd draft · text-only · T=1');
  });
});

describe('tauDistributionChart', () => {
  const results = fakeReport().results.filter((result) => result.temperature === 0);
  const elements = parseXml(tauDistributionChart(results, { title: 'Tau' }));

  it('draws one histogram per speculative method holding all of its samples', () => {
    const titles = texts(elements);
    expect(titles).toContain('msd + msd draft · multimodal');
    expect(titles).toContain('msd + msd draft (tuned tree) · text-only');
    expect(titles.some((text) => text.startsWith('transformers.js') || text.startsWith('msd autoregressive'))).toBe(false);
    const counts = elements.filter((element) => element.attributes.class === 'bin').map((bin) => Number(bin.attributes['data-count']));
    const samples = results.filter((result) => result.kind === 'speculative').reduce((sum, result) => sum + result.tauSamples.length, 0);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(samples);
    // Four panels on a shared axis: bins of 0.5 tokens from 2 to 3.5 hold every sample (2.1 to 3.05).
    expect(counts).toHaveLength(4 * 3);
  });
});

describe('costCurveChart', () => {
  const tuning = fakeTuning();
  const elements = parseXml(costCurveChart(tuning, { title: 'Costs' }));

  it('draws both measured series with a legend and the autoregressive step as a dashed line', () => {
    expect(elements.filter((element) => element.attributes.class === 'point-verify')).toHaveLength(tuning.verifyCost.length);
    expect(elements.filter((element) => element.attributes.class === 'point-draft')).toHaveLength(tuning.draftCost.length);
    const reference = elements.find((element) => element.attributes.class === 'reference');
    expect(reference?.attributes['stroke-dasharray']).toBeTruthy();
    expect(texts(elements)).toContain('autoregressive step 2.70 ms');
    expect(texts(elements).some((text) => text.startsWith('verify:'))).toBe(true);
    expect(texts(elements).some((text) => text.startsWith('draft:'))).toBe(true);
  });
});

describe('empty and broken inputs', () => {
  const nonFinite: Spread = { median: Number.NaN, p10: Number.NEGATIVE_INFINITY, p90: Number.POSITIVE_INFINITY, mean: Number.NaN, count: 0 };

  it('render a chart that says "no data"', () => {
    const autoregressiveOnly = fakeReport().results.filter((result) => result.kind !== 'speculative');
    const empty = { ...fakeTuning(), verifyCost: [], draftCost: [] };
    for (const svg of [
      tokensPerSecondChart([], { title: 'Speed' }),
      tauDistributionChart(autoregressiveOnly, { title: 'Tau' }),
      costCurveChart(empty, { title: 'Costs' }),
    ]) {
      expect(texts(parseXml(svg))).toContain('no data');
    }
  });

  it('keep non-finite numbers out of the XML', () => {
    const broken: MethodResult = {
      ...fakeReport().results[2]!,
      tokensPerSecond: nonFinite,
      ratioToFastestAutoregressive: Number.NaN,
      tauSamples: [Number.NaN, 2, Number.POSITIVE_INFINITY],
    };
    const tuning = {
      ...fakeTuning(),
      verifyCost: [
        { size: 1, milliseconds: Number.NaN },
        { size: 2, milliseconds: 3 },
      ],
    };
    for (const svg of [
      tokensPerSecondChart([broken], { title: 'Speed' }),
      tauDistributionChart([broken], { title: 'Tau' }),
      costCurveChart(tuning, { title: 'Costs' }),
    ]) {
      expect(() => parseXml(svg)).not.toThrow();
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
  });

  it('write a report with no results', async () => {
    const report: BenchmarkReport = { ...fakeReport(), results: [], tuning: undefined };
    const directory = await mkdtemp(join(tmpdir(), 'msd-report-empty-'));
    const { files } = await writeBenchmarkReport(report, directory);
    expect(files.map((file) => basename(file)).sort()).toEqual(['report.md', 'results.json', 'tau-distribution.svg', 'tokens-per-second.svg']);
    expect(await readFile(join(directory, 'report.md'), 'utf8')).toContain('No results were recorded.');
  });
});

describe('markdownReport', () => {
  const report = fakeReport();
  const markdown = markdownReport(report, {
    tokensPerSecond: { multimodal: 'tokens-per-second-multimodal.svg', 'text-only': 'tokens-per-second-text-only.svg' },
    tau: 'tau-distribution.svg',
    costCurve: 'verify-cost.svg',
  });

  it('says when, where and how it ran', () => {
    expect(markdown).toMatch(/^# msd benchmark\n/);
    expect(markdown).toContain(report.createdAt);
    expect(markdown).toContain(report.machine.cpu);
    expect(markdown).toContain(report.command);
    expect(markdown).toContain('| max new tokens | 48 |');
  });

  it('has one table per temperature and set, with a row per method', () => {
    const headings = markdown.split('\n').filter((line) => line.startsWith('### '));
    expect(headings).toEqual([
      '### multimodal, temperature 0 (greedy)',
      '### text-only, temperature 0 (greedy)',
      '### multimodal, temperature 1',
      '### text-only, temperature 1',
    ]);
    for (const method of METHODS) expect(markdown).toContain(`| ${method} |`);
    expect(markdown).toContain(
      '| msd + msd draft (tuned tree) | 167.9 (150.2–180.6) | 1.84x | 84.0 (1.84x) | 41.5 | 62.5 | 2.80 (2.79) | 75% / 90% | 0.92 / 0.71 / 0.45 | 3/120 | 0.0 / 9.5 / 240.2 / 12.1 | 412 | 6/6 |',
    );
    expect(markdown).toContain('| transformers.js | 60.4 (55.0–66.0) | 0.66x | 30.2 (0.66x) | – | – | – | – | – | – | – (total 980.0) | 655 | 6/6 |');
  });

  it('leads with a headline table of end-to-end ratio, time to first token and the split acceptance', () => {
    const headline = markdown.slice(markdown.indexOf('## Headline'), markdown.indexOf('## Decode speed'));
    expect(headline).toContain('| set | temperature | answer tokens | end-to-end ratio | decode ratio | time to first token ms |');
    expect(headline).toMatch(/\| multimodal \| 0 \| 62\.5 \| \*\*[0-9.]+x\*\* \| [0-9.]+x \| 41\.5 \/ – \| [0-9.]+ \([0-9.]+\) \| 75% \/ 90% \|/);
  });

  it('embeds the charts by relative file name and shows the tuning and the notes', () => {
    expect(markdown).toContain('](tokens-per-second-multimodal.svg)');
    expect(markdown).toContain('](tokens-per-second-text-only.svg)');
    expect(markdown).toContain('](tau-distribution.svg)');
    expect(markdown).toContain('](verify-cost.svg)');
    expect(markdown).toContain('Chosen tree: depth 4, branching 2, 6 nodes; predicted speedup **1.84x**');
    expect(markdown).toContain('| 1 | 2.70 | 0.90 |');
    expect(markdown).toContain('| 16 | 5.10 | – |');
    expect(markdown).toContain('- transformers.js: tokenizer warning');
  });

  it('keeps a method name with a pipe inside its cell', () => {
    const piped = markdownReport({ ...report, results: [{ ...report.results[0]!, method: 'a | b' }] }, { tokensPerSecond: 'x.svg', tau: 'y.svg' });
    expect(piped).toContain('| a \\| b |');
    expect(piped).not.toContain('](verify-cost.svg)');
  });
});

describe('writeBenchmarkReport', () => {
  it('writes results.json, report.md and the charts it links into a new directory', async () => {
    const report = fakeReport();
    const directory = join(await mkdtemp(join(tmpdir(), 'msd-report-')), 'nested', 'out');
    const { files } = await writeBenchmarkReport(report, directory);
    const names = (await readdir(directory)).sort();
    expect(files.map((file) => basename(file)).sort()).toEqual(names);
    expect(names).toEqual([
      'report.md',
      'results.json',
      'tau-distribution.svg',
      'tokens-per-second-multimodal.svg',
      'tokens-per-second-text-only.svg',
      'verify-cost.svg',
    ]);
    expect(JSON.parse(await readFile(join(directory, 'results.json'), 'utf8'))).toEqual(report);
    const markdown = await readFile(join(directory, 'report.md'), 'utf8');
    for (const svg of names.filter((name) => name.endsWith('.svg'))) {
      expect(markdown).toContain(`](${svg})`);
      expect(() => parseXml(readFileSync(join(directory, svg), 'utf8'))).not.toThrow();
    }
    const greedyChart = parseXml(readFileSync(join(directory, 'tokens-per-second-multimodal.svg'), 'utf8'));
    expect(greedyChart.filter((element) => element.attributes.class === 'bar')).toHaveLength(4);
  });
});

function texts(elements: readonly XmlElement[]): string[] {
  return elements.filter((element) => element.name === 'text').map((element) => element.text);
}

/**
 * A small XML well-formedness checker: one root, matching start and end tags, quoted unique
 * attributes, only the predefined or numeric entities, no markup characters in text. Throws on the
 * first violation; returns the elements in document order.
 */
function parseXml(source: string): XmlElement[] {
  const elements: XmlElement[] = [];
  const open: XmlElement[] = [];
  let roots = 0;
  let position = 0;
  while (position < source.length) {
    const next = source.indexOf('<', position);
    const text = source.slice(position, next === -1 ? source.length : next);
    if (text.trim() !== '') {
      if (open.length === 0) throw new Error(`text outside the root element: ${text.slice(0, 40)}`);
      open[open.length - 1]!.text += decodeEntities(text);
    }
    if (next === -1) break;
    if (source.startsWith('<?', next)) position = endOf(source, '?>', next);
    else if (source.startsWith('<!--', next)) position = endOf(source, '-->', next);
    else {
      const close = endOf(source, '>', next);
      const tag = source.slice(next + 1, close - 1);
      if (tag.startsWith('/')) {
        const name = tag.slice(1).trim();
        const top = open.pop();
        if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name ?? 'nothing'}>`);
      } else {
        const selfClosing = tag.endsWith('/');
        const element = parseTag(selfClosing ? tag.slice(0, -1) : tag);
        if (open.length === 0 && ++roots > 1) throw new Error('more than one root element');
        elements.push(element);
        if (!selfClosing) open.push(element);
      }
      position = close;
    }
  }
  if (open.length > 0) throw new Error(`unclosed <${open[open.length - 1]!.name}>`);
  if (roots !== 1) throw new Error('no root element');
  return elements;
}

function endOf(source: string, marker: string, from: number): number {
  const index = source.indexOf(marker, from);
  if (index === -1) throw new Error(`unterminated markup at ${from}`);
  return index + marker.length;
}

function parseTag(tag: string): XmlElement {
  let position = 0;
  const readName = () => {
    const start = position;
    while (position < tag.length && isNameCharacter(tag[position]!)) position++;
    if (position === start) throw new Error(`expected a name in <${tag}>`);
    return tag.slice(start, position);
  };
  const skipSpace = () => {
    while (position < tag.length && ' \n\t\r'.includes(tag[position]!)) position++;
  };
  const element: XmlElement = { name: readName(), attributes: {}, text: '' };
  while (true) {
    const before = position;
    skipSpace();
    if (position >= tag.length) return element;
    if (position === before) throw new Error(`attributes must be separated by space in <${tag}>`);
    const name = readName();
    if (tag[position] !== '=') throw new Error(`attribute ${name} has no value in <${tag}>`);
    const quote = tag[position + 1];
    if (quote !== '"' && quote !== "'") throw new Error(`attribute ${name} is not quoted in <${tag}>`);
    const end = tag.indexOf(quote, position + 2);
    if (end === -1) throw new Error(`attribute ${name} is not closed in <${tag}>`);
    const value = tag.slice(position + 2, end);
    if (value.includes('<')) throw new Error(`attribute ${name} holds '<'`);
    if (name in element.attributes) throw new Error(`attribute ${name} repeats in <${tag}>`);
    element.attributes[name] = decodeEntities(value);
    position = end + 1;
  }
}

function isNameCharacter(character: string): boolean {
  const code = character.charCodeAt(0);
  const letter = (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  const digit = code >= 48 && code <= 57;
  return letter || digit || '-_:.'.includes(character);
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  if (text.includes('<')) throw new Error(`unescaped '<' in ${text}`);
  let decoded = '';
  let position = 0;
  while (true) {
    const ampersand = text.indexOf('&', position);
    if (ampersand === -1) return decoded + text.slice(position);
    const semicolon = text.indexOf(';', ampersand);
    const entity = semicolon === -1 ? '' : text.slice(ampersand + 1, semicolon);
    const numeric = entity.startsWith('#') ? Number(entity.startsWith('#x') ? `0x${entity.slice(2)}` : entity.slice(1)) : Number.NaN;
    const character = named[entity] ?? (Number.isInteger(numeric) && numeric > 0 ? String.fromCodePoint(numeric) : undefined);
    if (character === undefined) throw new Error(`bad entity reference in ${text}`);
    decoded += text.slice(position, ampersand) + character;
    position = semicolon + 1;
  }
}

function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (share: number) => sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length, count: sorted.length };
}

function fakeTuning(): TuningSummary {
  const verifyMilliseconds = [2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.4, 3.5, 3.7, 3.8, 4.0, 4.2, 4.4, 4.6, 4.9, 5.1];
  return {
    device: 'cpu',
    contextLength: 180,
    verifyCost: verifyMilliseconds.map((milliseconds, index) => ({ size: index + 1, milliseconds })),
    draftCost: [0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6].map((milliseconds, index) => ({ size: index + 1, milliseconds })),
    chosen: { depth: 4, branching: 2, totalTokens: 6 },
    predictedSpeedup: 1.84,
    candidates: [
      { tree: { depth: 4, branching: 2, totalTokens: 6 }, predictedTau: 2.9, predictedSpeedup: 1.84 },
      { tree: { depth: 3, branching: 2, totalTokens: 4 }, predictedTau: 2.5, predictedSpeedup: 1.7 },
      { tree: { depth: 2, branching: 1, totalTokens: 2 }, predictedTau: 1.8, predictedSpeedup: 1.4 },
    ],
  };
}

/** Two sets, temperatures 0 and 1, a baseline that decodes greedily only, and two speculative methods. */
function fakeReport(): BenchmarkReport {
  const results: MethodResult[] = [];
  for (const temperature of [0, 1]) {
    for (const [set, slowdown] of [
      ['multimodal', 1],
      ['text-only', 1.1],
    ] as const) {
      if (temperature === 0) results.push(baselineResult(set, slowdown));
      results.push(autoregressiveResult(set, temperature, slowdown));
      results.push(speculativeResult('msd + msd draft', set, temperature, slowdown, 2.4, [0.88, 0.63, 0.38]));
      results.push(speculativeResult('msd + msd draft (tuned tree)', set, temperature, slowdown, 2.8, [0.92, 0.71, 0.45]));
    }
  }
  return {
    createdAt: '2025-06-01T12:00:00.000Z',
    command: 'msd bench --set multimodal,text-only --rounds 3 --tuned',
    machine: { cpu: 'AMD EPYC 9654 96-Core Processor', cores: 2, platform: 'linux x64', node: 'v20.11.1', onnxruntime: '1.20.1', device: 'cpu' },
    settings: { model: '/models/tiny-llava', sets: ['multimodal', 'text-only'], rounds: 3, maxNewTokens: 48, temperatures: [0, 1], threads: 2, prompts: 4 },
    results,
    tuning: fakeTuning(),
    notes: ['transformers.js: tokenizer warning about a missing chat template'],
  };
}

function baselineResult(set: string, slowdown: number): MethodResult {
  return {
    ...common(
      'transformers.js',
      'baseline',
      set,
      0,
      [55, 58, 60.4, 62, 66].map((value) => value / slowdown),
      0.66,
    ),
    timings: { vision: 0, prefill: 0, draftPrefill: 0, draft: 0, verify: 0, overhead: 0, total: 980 },
    peakRssMiB: 655,
    identicalToReference: { identical: 6, total: 6 },
  };
}

function autoregressiveResult(set: string, temperature: number, slowdown: number): MethodResult {
  return {
    ...common(
      'msd autoregressive',
      'autoregressive',
      set,
      temperature,
      [85, 88, 91.3, 94, 97].map((value) => value / slowdown),
      1,
    ),
    timings: { vision: 40, prefill: 60, draftPrefill: 0, draft: 0, verify: 510, overhead: 14, total: 624 },
    ...(temperature === 0 ? { identicalToReference: { identical: 6, total: 6 } } : {}),
  };
}

function speculativeResult(method: string, set: string, temperature: number, slowdown: number, tau: number, acceptanceByDepth: number[]): MethodResult {
  const speed = (tau / 2.8) * 168;
  const tauSamples = [-0.3, -0.15, -0.05, 0, 0.05, 0.1, 0.25].map((offset) => tau + offset - temperature * 0.2);
  return {
    ...common(
      method,
      'speculative',
      set,
      temperature,
      [150.2, 160, 167.9, 175, 180.6].map((value) => (value * speed) / 168 / slowdown),
      (speed / 91.3) * 1.0,
    ),
    draft: 'msd',
    tree: { depth: 4, branching: 2, totalTokens: 6 },
    tau: spreadOf(tauSamples),
    tauSamples,
    acceptanceByDepth,
    drafted: 6 * 120,
    accepted: Math.round(120 * (tau - 1)),
    steps: 120,
    stepsWithoutDrafting: 3,
    timings: { vision: 40, prefill: 60, draftPrefill: 0, draft: 9.5, verify: 240.2, overhead: 12.1, total: 361.8 },
    timeToFirstTokenMs: spreadOf([40, 41.5, 43]),
    answerTokens: 62.5,
    acceptanceByTokenKind: { image: { tokens: 40, fromDraft: 30 }, other: { tokens: 160, fromDraft: 144 } },
    peakRssMiB: 412,
    ...(temperature === 0 ? { identicalToReference: { identical: 6, total: 6 } } : {}),
  };
}

function common(method: string, kind: MethodResult['kind'], set: string, temperature: number, speeds: number[], ratio: number): MethodResult {
  return {
    method,
    kind,
    set,
    temperature,
    generations: speeds.length,
    tokensPerSecond: spreadOf(speeds),
    ratioToFastestAutoregressive: ratio,
    endToEndTokensPerSecond: spreadOf(speeds.map((speed) => speed / 2)),
    endToEndRatio: ratio,
    tau: spreadOf([1]),
    tauSamples: speeds.map(() => 1),
    acceptanceByDepth: [],
    drafted: 0,
    accepted: 0,
    timings: { vision: 0, prefill: 0, draftPrefill: 0, draft: 0, verify: 0, overhead: 0, total: 0 },
    peakRssMiB: 390,
  };
}
