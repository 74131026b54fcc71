import type { BenchmarkReport, MethodResult, TuningSummary } from './benchmark-report';
import type { TreeShape } from '@msd/core';

/** File names of the charts, relative to the markdown file, that {@link markdownReport} embeds. */
export interface ReportCharts {
  /** One chart for every set, or one per set keyed by the set's name. */
  tokensPerSecond: string | Readonly<Record<string, string>>;
  /** The tau distribution chart. */
  tau: string;
  /** The tuning cost curve chart, when the report has a tuning summary. */
  costCurve?: string;
}

const COLUMNS = [
  'method',
  'decode tok/s median (p10–p90)',
  'ratio',
  'end-to-end tok/s (ratio)',
  'time to first token ms',
  'answer tokens',
  'tau median (mean)',
  'from the draft: image words / other',
  'acceptance by depth',
  'steps without drafting',
  'draft prefill / draft / verify / overhead ms',
  'peak RSS MiB',
  'identical tokens',
];
// The full candidate list can be ~50 shapes; the best few carry the decision.
const CANDIDATES_SHOWN = 5;

/**
 * Renders a benchmark report as markdown: when and where it ran, its settings, one table per
 * temperature and prompt set, the charts (embedded by relative file name, so the folder can be moved
 * or published as a whole), the tree tuning when there was one, and the run's notes.
 *
 * @example
 * ```ts
 * import { markdownReport } from 'msd/bench';
 *
 * const markdown = markdownReport(report, { tokensPerSecond: 'tokens-per-second.svg', tau: 'tau-distribution.svg', costCurve: 'verify-cost.svg' });
 * // | msd + msd draft | 312.4 (290.1–330.0) | 1.84x | 2.41 (2.38) | 0.92 / 0.71 / 0.45 | ...
 * ```
 */
export function markdownReport(report: BenchmarkReport, charts: ReportCharts): string {
  const sections = [
    header(report),
    settingsSection(report.settings),
    headlineSection(report.results, report.settings),
    tokensPerSecondSection(charts.tokensPerSecond),
    resultsSection(report.results, report.settings),
    image('Tokens per target step (tau) per generation', charts.tau, '## Tau distribution'),
    report.tuning ? tuningSection(report.tuning, charts.costCurve) : [],
    report.resizing ? resizingSection(report.resizing) : [],
    notesSection(report.notes),
  ];
  return `${sections
    .filter((section) => section.length > 0)
    .map((section) => section.join('\n'))
    .join('\n\n')}\n`;
}

function header(report: BenchmarkReport): string[] {
  const { machine } = report;
  const fence = codeFence(report.command);
  return [
    '# msd benchmark',
    '',
    `Run at ${report.createdAt} on ${machine.cpu} (${machine.cores} cores, ${machine.platform}), Node ${machine.node}, onnxruntime ${machine.onnxruntime}, device \`${machine.device}\`.`,
    '',
    `${fence}sh`,
    report.command,
    fence,
  ];
}

function settingsSection(settings: BenchmarkReport['settings']): string[] {
  const rows: Array<[string, string]> = [
    ['model', settings.model],
    ['prompt sets', settings.sets.join(', ')],
    ['prompts', String(settings.prompts)],
    ['rounds', String(settings.rounds)],
    ['max new tokens', String(settings.maxNewTokens)],
    ['temperatures', settings.temperatures.join(', ')],
    ['threads', String(settings.threads)],
  ];
  return ['## Settings', '', ...table(['setting', 'value'], rows)];
}

function tokensPerSecondSection(files: ReportCharts['tokensPerSecond']): string[] {
  const images =
    typeof files === 'string'
      ? [image('Decode tokens per second', files)]
      : Object.entries(files).map(([set, file]) => image(`Decode tokens per second, ${set}`, file));
  return ['## Decode speed', '', ...images.flatMap((lines, index) => (index === 0 ? lines : ['', ...lines]))];
}

function resultsSection(results: readonly MethodResult[], settings: BenchmarkReport['settings']): string[] {
  const lines = [
    '## Results',
    '',
    'Ratios compare each method to the fastest autoregressive decoder (median of per-prompt ratios). Decode tokens per second leave out the processing of the prompt (vision encoder, the prefill of the target, the pass of the draft over the prompt) and the first token, which that processing produces; end-to-end tokens per second include everything. Acceptance by depth d is the share of verification steps that accepted at least d drafted tokens. Steps without drafting are the target steps the speculation policy took autoregressively, out of all target steps after the prefill. Times are mean milliseconds per generation.',
  ];
  if (results.length === 0) return [...lines, '', 'No results were recorded.'];
  for (const temperature of ordered(
    settings.temperatures,
    results.map((result) => result.temperature),
  )) {
    for (const set of ordered(
      settings.sets,
      results.map((result) => result.set),
    )) {
      const rows = results.filter((result) => result.temperature === temperature && result.set === set);
      if (rows.length === 0) continue;
      lines.push('', `### ${escapeText(set)}, temperature ${temperature}${temperature === 0 ? ' (greedy)' : ''}`, '', ...table(COLUMNS, rows.map(resultRow)));
    }
  }
  return lines;
}

function resultRow(result: MethodResult): string[] {
  const speed = result.tokensPerSecond;
  const speculative = result.kind === 'speculative';
  return [
    result.method,
    `${fixed(speed.median, 1)} (${fixed(speed.p10, 1)}–${fixed(speed.p90, 1)})`,
    `${fixed(result.ratioToFastestAutoregressive, 2)}x`,
    `${fixed(result.endToEndTokensPerSecond?.median ?? 0, 1)} (${fixed(result.endToEndRatio ?? 0, 2)}x)`,
    result.timeToFirstTokenMs?.count ? fixed(result.timeToFirstTokenMs.median, 1) : '–',
    result.answerTokens === undefined ? '–' : fixed(result.answerTokens, 1),
    speculative ? `${fixed(result.tau.median, 2)} (${fixed(result.tau.mean, 2)})` : '–',
    speculative ? kindShares(result) : '–',
    speculative && result.acceptanceByDepth.length > 0 ? result.acceptanceByDepth.map((share) => fixed(share, 2)).join(' / ') : '–',
    speculative && result.steps !== undefined ? `${result.stepsWithoutDrafting ?? 0}/${result.steps}` : '–',
    timeSplit(result),
    fixed(result.peakRssMiB, 0),
    result.identicalToReference ? `${result.identicalToReference.identical}/${result.identicalToReference.total}` : '–',
  ];
}

function kindShares(result: MethodResult): string {
  const kinds = result.acceptanceByTokenKind;
  if (!kinds) return '–';
  const share = (bucket: { tokens: number; fromDraft: number }) => (bucket.tokens ? `${fixed((100 * bucket.fromDraft) / bucket.tokens, 0)}%` : '–');
  return `${share(kinds.image)} / ${share(kinds.other)}`;
}

/**
 * What a user waits for, first: per temperature and set, the default draft's end-to-end and decode
 * ratios, the time to the first token against autoregressive decoding, answer length and tau.
 */
function headlineSection(results: readonly MethodResult[], settings: BenchmarkReport['settings']): string[] {
  const speculative = results.find((result) => result.kind === 'speculative');
  if (!speculative) return [];
  const method = speculative.method;
  const rows: string[][] = [];
  for (const temperature of ordered(
    settings.temperatures,
    results.map((result) => result.temperature),
  )) {
    for (const set of ordered(
      settings.sets,
      results.map((result) => result.set),
    )) {
      const mine = results.find((result) => result.method === method && result.temperature === temperature && result.set === set);
      const plain = results.find((result) => result.kind === 'autoregressive' && result.temperature === temperature && result.set === set);
      if (!mine) continue;
      rows.push([
        escapeText(set),
        String(temperature),
        mine.answerTokens === undefined ? '–' : fixed(mine.answerTokens, 1),
        `**${fixed(mine.endToEndRatio ?? 0, 2)}x**`,
        `${fixed(mine.ratioToFastestAutoregressive, 2)}x`,
        `${mine.timeToFirstTokenMs?.count ? fixed(mine.timeToFirstTokenMs.median, 1) : '–'} / ${plain?.timeToFirstTokenMs?.count ? fixed(plain.timeToFirstTokenMs.median, 1) : '–'}`,
        `${fixed(mine.tau.median, 2)} (${fixed(mine.tau.mean, 2)})`,
        kindShares(mine),
      ]);
    }
  }
  return [
    '## Headline',
    '',
    `${escapeText(method)} against the fastest autoregressive decoder: end to end (what a user waits for, prompt processing included), decode only, and the time to the first token (median ms, speculative / autoregressive).`,
    '',
    ...table(
      [
        'set',
        'temperature',
        'answer tokens',
        'end-to-end ratio',
        'decode ratio',
        'time to first token ms',
        'tau median (mean)',
        'from the draft: image words / other',
      ],
      rows,
    ),
  ];
}

function timeSplit(result: MethodResult): string {
  const { draftPrefill, draft, verify, overhead, total } = result.timings;
  // Another library is timed as a black box: only its total is known.
  if (result.kind === 'baseline') return `– (total ${fixed(total, 1)})`;
  return `${fixed(draftPrefill ?? 0, 1)} / ${fixed(draft, 1)} / ${fixed(verify, 1)} / ${fixed(overhead, 1)}`;
}

function resizingSection(cost: NonNullable<BenchmarkReport['resizing']>): string[] {
  return [
    '## Image resizing',
    '',
    `msd resizes with an exact port of Pillow's resize by default, so pixels equal Hugging Face's \`CLIPImageProcessor\`. On this run's ${cost.images} image(s), ${cost.rounds} round(s): **${fixed(cost.exactMs, 2)} ms** per image exact (\`resampler: 'pil'\`) against ${fixed(cost.fastMs, 2)} ms with libvips (\`'auto'\`), ${fixed(cost.exactMs / Math.max(cost.fastMs, 1e-9), 2)}x; largest pixel difference between the two ${cost.maxDifference.toExponential(2)} (normalised units).`,
  ];
}

function tuningSection(tuning: TuningSummary, costCurve: string | undefined): string[] {
  const lines = [
    '## Tree tuning',
    '',
    `Chosen tree: ${treeName(tuning.chosen)}; predicted speedup **${fixed(tuning.predictedSpeedup, 2)}x** over autoregressive decoding. Costs measured on ${tuning.device} at a context of ${tuning.contextLength} positions.`,
  ];
  if (costCurve) lines.push('', ...image('Verify and draft milliseconds per call', costCurve));
  lines.push('', ...table(['size', 'verify ms', 'draft ms'], costRows(tuning)));
  if (tuning.candidates.length > 0) {
    const shown = tuning.candidates.slice(0, CANDIDATES_SHOWN);
    const rows = shown.map((candidate) => [treeName(candidate.tree), fixed(candidate.predictedTau, 2), `${fixed(candidate.predictedSpeedup, 2)}x`]);
    lines.push('', `Best ${shown.length} of ${tuning.candidates.length} candidate shapes:`, '', ...table(['tree', 'predicted tau', 'predicted speedup'], rows));
  }
  return lines;
}

/** One row per size measured by either curve, so both can be read side by side. */
function costRows(tuning: TuningSummary): string[][] {
  const sizes = [...new Set([...tuning.verifyCost, ...tuning.draftCost].map((point) => point.size))].sort((a, b) => a - b);
  const at = (points: TuningSummary['verifyCost'], size: number) => {
    const point = points.find((candidate) => candidate.size === size);
    return point ? fixed(point.milliseconds, 2) : '–';
  };
  return sizes.map((size) => [String(size), at(tuning.verifyCost, size), at(tuning.draftCost, size)]);
}

function notesSection(notes: readonly string[]): string[] {
  return notes.length === 0 ? [] : ['## Notes', '', ...notes.map((note) => `- ${note.replace(/\r?\n/g, ' ')}`)];
}

function image(alt: string, file: string, heading?: string): string[] {
  const link = `![${alt.replace(/[[\]]/g, '')}](${encodeURI(file)})`;
  return heading ? [heading, '', link] : [link];
}

function table(columns: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const line = (cells: readonly string[]) => `| ${cells.map(escapeText).join(' | ')} |`;
  return [line(columns), `|${columns.map(() => ' --- ').join('|')}|`, ...rows.map(line)];
}

/** `preferred` first (the order the user asked for), then any value only the results have. */
function ordered<T>(preferred: readonly T[], present: readonly T[]): T[] {
  return [...new Set([...preferred, ...present])];
}

function treeName(tree: TreeShape): string {
  return `depth ${tree.depth}, branching ${tree.branching}, ${tree.totalTokens} nodes${tree.minConfidence ? `, min confidence ${tree.minConfidence}` : ''}`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** A pipe or line break in a name would end the table cell or row. */
function escapeText(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A fence longer than any run of backticks in the command, so the command cannot close it. */
function codeFence(content: string): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}
