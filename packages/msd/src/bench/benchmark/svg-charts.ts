import type { CostPoint, MethodResult, TuningSummary } from './benchmark-report';
import { spread } from './spread';

/** Options of the benchmark charts. */
export interface ChartOptions {
  /** Heading drawn at the top; also the SVG's `<title>`, which screen readers and tooltips use. */
  title: string;
}

type Attributes = Record<string, string | number | undefined>;

interface LegendItem {
  label: string;
  color: string;
  /** Draw a line sample (for series) instead of a filled square (for bar kinds). */
  line?: boolean;
  dashed?: boolean;
}

interface Plot {
  left: number;
  top: number;
  width: number;
  height: number;
}

const WIDTH = 720;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
// An estimate of the average glyph width at 12px, used to keep labels inside their space without measuring text.
const CHARACTER_WIDTH = 6.6;
const KIND_COLORS: Record<MethodResult['kind'], string> = { baseline: '#8c8c8c', autoregressive: '#4c78a8', speculative: '#f58518' };
const SERIES_COLORS = { verify: '#4c78a8', draft: '#f58518', reference: '#555555' };
const GRID_COLOR = '#e3e3e3';
const AXIS_COLOR = '#888888';
const TAU_BIN_WIDTH = 0.5;
// Beyond this, one outlier would squeeze every other bin to a sliver; the last bin collects the rest.
const MAX_TAU_BINS = 40;

/**
 * A horizontal bar chart of median decode tokens per second per method, with p10–p90 whiskers and the
 * median and the ratio to the fastest autoregressive decoder printed at each bar's end. Bars keep the
 * order of `results`; when they span several sets or temperatures, the labels say which.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { tokensPerSecondChart, type BenchmarkReport } from 'msd/bench';
 *
 * declare const report: BenchmarkReport;
 * const greedy = report.results.filter((result) => result.temperature === 0 && result.set === 'multimodal');
 * writeFileSync('tokens-per-second.svg', tokensPerSecondChart(greedy, { title: 'Decode speed, multimodal' }));
 * // each bar ends in e.g. "312 tok/s · 1.84x"
 * ```
 */
export function tokensPerSecondChart(results: readonly MethodResult[], options: ChartOptions): string {
  if (results.length === 0) return noDataChart(options.title);
  const rowHeight = 34;
  const plot: Plot = { left: 210, top: 64, width: WIDTH - 210 - 160, height: results.length * rowHeight };
  const height = Math.max(260, plot.top + plot.height + 56);
  const ticks = niceTicks(Math.max(0, ...results.flatMap((result) => [result.tokensPerSecond.median, result.tokensPerSecond.p90].filter(Number.isFinite))));
  const scale = (value: number) => (clampNonNegative(value) / ticks[ticks.length - 1]!) * plot.width;
  const labels = resultLabels(results);
  const kinds = [...new Set(results.map((result) => result.kind))];
  return svgDocument(options.title, height, [
    legend(
      kinds.map((kind) => ({ label: kind, color: KIND_COLORS[kind] })),
      plot.left,
      46,
    ),
    verticalGrid(ticks, plot, scale),
    ...results.map((result, index) => tokensPerSecondRow(result, labels[index]!, plot.top + index * rowHeight + rowHeight / 2, plot, scale)),
    line(plot.left, plot.top, plot.left, plot.top + plot.height, AXIS_COLOR),
    axisCaption(plot.left + plot.width / 2, plot.top + plot.height + 40, 'decode tokens per second (bar: median, whisker: p10–p90)'),
    verticalCaption(18, plot.top + plot.height / 2, 'method'),
  ]);
}

/**
 * Histograms, in bins of 0.5 tokens, of every generation's tokens per target step (tau), one small
 * panel per speculative method on a shared x axis, with each panel's median marked. Non-speculative
 * methods are left out: their tau is 1 by construction.
 *
 * @example
 * ```ts
 * import { tauDistributionChart } from 'msd/bench';
 *
 * writeFileSync('tau-distribution.svg', tauDistributionChart(report.results, { title: 'Tokens per target step' }));
 * ```
 */
export function tauDistributionChart(results: readonly MethodResult[], options: ChartOptions): string {
  const panels = tauPanels(results);
  if (panels.length === 0) return noDataChart(options.title);
  const bins = tauBinRange(panels.flatMap((panel) => panel.samples));
  const counts = panels.map((panel) => binCounts(panel.samples, bins));
  const yTicks = niceTicks(Math.max(1, ...counts.flat()), 2);
  const columns = panels.length > 2 ? 2 : 1;
  const panelWidth = (WIDTH - 70 - 20 - (columns - 1) * 40) / columns;
  const panelHeight = 150;
  const height = 56 + Math.ceil(panels.length / columns) * panelHeight + 44;
  const body = panels.map((panel, index) => {
    const left = 70 + (index % columns) * (panelWidth + 40);
    const top = 56 + Math.floor(index / columns) * panelHeight;
    return tauPanel(panel, counts[index]!, bins, yTicks, { left, top: top + 24, width: panelWidth, height: panelHeight - 60 });
  });
  return svgDocument(options.title, height, [
    ...body,
    axisCaption(WIDTH / 2, height - 14, `tokens per target step (tau), bins of ${TAU_BIN_WIDTH}; dashed: median`),
    verticalCaption(18, 56 + (height - 100) / 2, 'generations'),
  ]);
}

/**
 * A line chart of what `msd tune` measured: milliseconds of one target (verify) call against the tree
 * nodes it verifies and of one draft call against the rows it drafts, with one autoregressive step (the
 * verify cost at size 1) as a dashed reference line, so the break-even point of a tree is visible.
 *
 * @example
 * ```ts
 * import { costCurveChart } from 'msd/bench';
 *
 * if (report.tuning) writeFileSync('verify-cost.svg', costCurveChart(report.tuning, { title: 'Measured call costs' }));
 * ```
 */
export function costCurveChart(tuning: TuningSummary, options: ChartOptions): string {
  const verify = finitePoints(tuning.verifyCost);
  const draft = finitePoints(tuning.draftCost);
  if (verify.length === 0 && draft.length === 0) return noDataChart(options.title);
  const reference = verify.find((point) => point.size === 1)?.milliseconds;
  const plot: Plot = { left: 70, top: 64, width: WIDTH - 70 - 40, height: 400 - 64 - 60 };
  const all = [...verify, ...draft];
  const xTicks = niceTicks(Math.max(...all.map((point) => point.size)));
  const yTicks = niceTicks(Math.max(reference ?? 0, ...all.map((point) => point.milliseconds)));
  const x = (value: number) => plot.left + (clampNonNegative(value) / xTicks[xTicks.length - 1]!) * plot.width;
  const y = (value: number) => plot.top + plot.height - (clampNonNegative(value) / yTicks[yTicks.length - 1]!) * plot.height;
  return svgDocument(options.title, 400, [
    text(WIDTH / 2, 46, `${tuning.device}, context of ${formatNumber(tuning.contextLength, 0)} positions`, { 'text-anchor': 'middle', fill: '#555555' }),
    verticalGrid(xTicks, plot, (value) => x(value) - plot.left),
    horizontalGrid(yTicks, plot, y),
    reference === undefined ? '' : referenceLine(reference, plot, y),
    series(verify, SERIES_COLORS.verify, 'verify', 'nodes', x, y),
    series(draft, SERIES_COLORS.draft, 'draft', 'rows', x, y),
    costLegend(verify.length > 0, draft.length > 0, reference, plot.left + 10, plot.top + 10),
    axisCaption(plot.left + plot.width / 2, plot.top + plot.height + 44, 'size of one call (verify: tree nodes, draft: rows)'),
    verticalCaption(18, plot.top + plot.height / 2, 'milliseconds per call (median)'),
  ]);
}

function tokensPerSecondRow(result: MethodResult, label: string, center: number, plot: Plot, scale: (value: number) => number): string {
  const { median, p10, p90 } = result.tokensPerSecond;
  const barEnd = Number.isFinite(median) ? scale(median) : 0;
  const whiskerEnd = Number.isFinite(p10) && Number.isFinite(p90) ? scale(p90) : 0;
  const value = `${formatTokensPerSecond(median)} tok/s · ${formatNumber(result.ratioToFastestAutoregressive, 2)}x`;
  return group([
    `<title>${escapeXml(`${label}: ${value} (p10 ${formatTokensPerSecond(p10)}, p90 ${formatTokensPerSecond(p90)})`)}</title>`,
    text(plot.left - 10, center + 4, truncate(label, 30), { 'text-anchor': 'end' }),
    element('rect', { class: 'bar', 'data-label': label, x: plot.left, y: center - 9, width: barEnd, height: 18, fill: KIND_COLORS[result.kind] }),
    whiskerEnd > 0 ? whisker(plot.left + scale(p10), plot.left + whiskerEnd, center) : '',
    text(plot.left + Math.max(barEnd, whiskerEnd) + 6, center + 4, value),
  ]);
}

function whisker(from: number, to: number, center: number): string {
  return group([
    line(from, center, to, center, '#333333'),
    line(from, center - 5, from, center + 5, '#333333'),
    line(to, center - 5, to, center + 5, '#333333'),
  ]);
}

interface TauPanel {
  label: string;
  samples: number[];
}

function tauPanels(results: readonly MethodResult[]): TauPanel[] {
  const speculative = results.filter((result) => result.kind === 'speculative');
  const labels = resultLabels(speculative);
  const panels = new Map<string, number[]>();
  speculative.forEach((result, index) => {
    const samples = (result.tauSamples ?? []).filter(Number.isFinite);
    if (samples.length > 0) panels.set(labels[index]!, [...(panels.get(labels[index]!) ?? []), ...samples]);
  });
  return [...panels].map(([label, samples]) => ({ label, samples }));
}

function tauBinRange(samples: readonly number[]): { first: number; count: number } {
  const first = Math.floor(Math.min(...samples) / TAU_BIN_WIDTH);
  const last = Math.floor(Math.max(...samples) / TAU_BIN_WIDTH);
  return { first, count: Math.min(MAX_TAU_BINS, last - first + 1) };
}

function binCounts(samples: readonly number[], bins: { first: number; count: number }): number[] {
  const counts = new Array<number>(bins.count).fill(0);
  for (const sample of samples) {
    const index = Math.min(bins.count - 1, Math.floor(sample / TAU_BIN_WIDTH) - bins.first);
    counts[index] = counts[index]! + 1;
  }
  return counts;
}

function tauPanel(panel: TauPanel, counts: readonly number[], bins: { first: number; count: number }, yTicks: readonly number[], plot: Plot): string {
  const binWidth = plot.width / bins.count;
  const top = yTicks[yTicks.length - 1]!;
  const y = (value: number) => plot.top + plot.height - (value / top) * plot.height;
  const start = bins.first * TAU_BIN_WIDTH;
  const x = (value: number) => plot.left + ((value - start) / (bins.count * TAU_BIN_WIDTH)) * plot.width;
  const bars = counts.map((count, index) =>
    element('rect', {
      class: 'bin',
      'data-count': count,
      x: plot.left + index * binWidth + 1,
      y: y(count),
      width: Math.max(0, binWidth - 2),
      height: plot.top + plot.height - y(count),
      fill: KIND_COLORS.speculative,
    }),
  );
  const median = spread(panel.samples).median;
  return group([
    // 11px so that method, set and temperature fit a half-width panel.
    text(plot.left, plot.top - 10, truncate(panel.label, Math.floor(plot.width / (CHARACTER_WIDTH * (11 / 12)))), { 'font-size': 11 }),
    horizontalGrid(yTicks, plot, y),
    ...bars,
    line(plot.left, plot.top + plot.height, plot.left + plot.width, plot.top + plot.height, AXIS_COLOR),
    tauTicks(bins, plot, x),
    line(x(median), plot.top, x(median), plot.top + plot.height, '#333333', { 'stroke-dasharray': '4 3' }),
    text(Math.min(x(median) + 4, plot.left + plot.width - 70), plot.top + 10, `median ${formatNumber(median, 2)}`, { 'font-size': 11 }),
  ]);
}

function tauTicks(bins: { first: number; count: number }, plot: Plot, x: (value: number) => number): string {
  const start = bins.first * TAU_BIN_WIDTH;
  const end = start + bins.count * TAU_BIN_WIDTH;
  // Whole tokens only: half-token labels on a narrow panel would collide.
  const step = Math.max(1, Math.ceil((end - start) / 8));
  const labels: string[] = [];
  for (let value = Math.ceil(start); value <= end; value += step) {
    labels.push(text(x(value), plot.top + plot.height + 16, String(value), { 'text-anchor': 'middle', fill: '#555555' }));
  }
  return group(labels);
}

function finitePoints(points: readonly CostPoint[] | undefined): CostPoint[] {
  return (points ?? []).filter((point) => Number.isFinite(point.size) && Number.isFinite(point.milliseconds)).sort((a, b) => a.size - b.size);
}

function series(points: readonly CostPoint[], color: string, name: string, unit: string, x: (value: number) => number, y: (value: number) => number): string {
  if (points.length === 0) return '';
  const path = points.map((point, index) => `${index === 0 ? 'M' : 'L'}${round(x(point.size))} ${round(y(point.milliseconds))}`).join(' ');
  const markers = points.map((point) =>
    element(
      'circle',
      { class: `point-${name}`, cx: x(point.size), cy: y(point.milliseconds), r: 3, fill: color },
      `<title>${escapeXml(`${name}, ${point.size} ${unit}: ${formatNumber(point.milliseconds, 2)} ms`)}</title>`,
    ),
  );
  return group([element('path', { class: `series-${name}`, d: path, fill: 'none', stroke: color, 'stroke-width': 2 }), ...markers]);
}

function referenceLine(milliseconds: number, plot: Plot, y: (value: number) => number): string {
  const at = y(milliseconds);
  return group([
    line(plot.left, at, plot.left + plot.width, at, SERIES_COLORS.reference, { class: 'reference', 'stroke-dasharray': '6 4' }),
    text(plot.left + plot.width - 4, at - 6, `autoregressive step ${formatNumber(milliseconds, 2)} ms`, {
      'text-anchor': 'end',
      fill: SERIES_COLORS.reference,
    }),
  ]);
}

function costLegend(hasVerify: boolean, hasDraft: boolean, reference: number | undefined, left: number, top: number): string {
  const items: LegendItem[] = [];
  if (hasVerify) items.push({ label: 'verify: target call over N tree nodes', color: SERIES_COLORS.verify, line: true });
  if (hasDraft) items.push({ label: 'draft: draft call over N rows', color: SERIES_COLORS.draft, line: true });
  if (reference !== undefined) items.push({ label: 'autoregressive step (verify at 1)', color: SERIES_COLORS.reference, line: true, dashed: true });
  return stackedLegend(items, left, top);
}

function legend(items: readonly LegendItem[], left: number, baseline: number): string {
  let x = left;
  const parts = items.map((item) => {
    const part = legendItem(item, x, baseline);
    x += legendItemWidth(item) + 18;
    return part;
  });
  return group(parts, { class: 'legend' });
}

/** Stacked on a white box inside the plot, where a horizontal row would run off a 720px chart. */
function stackedLegend(items: readonly LegendItem[], left: number, top: number): string {
  const width = Math.max(0, ...items.map(legendItemWidth)) + 16;
  const box = element('rect', { x: left, y: top, width, height: items.length * 18 + 8, fill: '#ffffff', 'fill-opacity': 0.9, stroke: GRID_COLOR });
  return group([box, ...items.map((item, index) => legendItem(item, left + 8, top + 20 + index * 18))], { class: 'legend' });
}

function legendItem(item: LegendItem, x: number, baseline: number): string {
  const sample = item.line
    ? line(x, baseline - 4, x + 18, baseline - 4, item.color, { 'stroke-width': 2, 'stroke-dasharray': item.dashed ? '6 4' : undefined })
    : element('rect', { x, y: baseline - 10, width: 12, height: 12, fill: item.color });
  return group([sample, text(x + (item.line ? 24 : 17), baseline, item.label)]);
}

function legendItemWidth(item: LegendItem): number {
  return (item.line ? 24 : 17) + item.label.length * CHARACTER_WIDTH;
}

function verticalGrid(ticks: readonly number[], plot: Plot, scale: (value: number) => number): string {
  return group(
    ticks.map((tick) =>
      group([
        line(plot.left + scale(tick), plot.top, plot.left + scale(tick), plot.top + plot.height, GRID_COLOR),
        text(plot.left + scale(tick), plot.top + plot.height + 18, formatTick(tick), { 'text-anchor': 'middle', fill: '#555555' }),
      ]),
    ),
  );
}

function horizontalGrid(ticks: readonly number[], plot: Plot, y: (value: number) => number): string {
  return group(
    ticks.map((tick) =>
      group([
        line(plot.left, y(tick), plot.left + plot.width, y(tick), GRID_COLOR),
        text(plot.left - 8, y(tick) + 4, formatTick(tick), { 'text-anchor': 'end', fill: '#555555' }),
      ]),
    ),
  );
}

function axisCaption(x: number, y: number, caption: string): string {
  return text(x, y, caption, { 'text-anchor': 'middle', fill: '#333333' });
}

function verticalCaption(x: number, y: number, caption: string): string {
  return text(x, y, caption, { 'text-anchor': 'middle', fill: '#333333', transform: `rotate(-90 ${round(x)} ${round(y)})` });
}

function noDataChart(title: string): string {
  return svgDocument(title, 240, [text(WIDTH / 2, 130, 'no data', { 'text-anchor': 'middle', 'font-size': 16, fill: '#888888' })]);
}

function svgDocument(title: string, height: number, body: readonly string[]): string {
  const attributes = {
    xmlns: 'http://www.w3.org/2000/svg',
    width: WIDTH,
    height,
    viewBox: `0 0 ${WIDTH} ${round(height)}`,
    role: 'img',
    'font-family': FONT,
    'font-size': 12,
    fill: '#222222',
  };
  const content = [
    `<title>${escapeXml(title)}</title>`,
    element('rect', { width: WIDTH, height, fill: '#ffffff' }),
    text(WIDTH / 2, 26, title, { 'text-anchor': 'middle', 'font-size': 16, 'font-weight': 600 }),
    ...body.filter((part) => part !== ''),
  ];
  return `${element('svg', attributes, `\n${content.join('\n')}\n`)}\n`;
}

/** Labels that name the set and temperature only when the results do not all share them. */
function resultLabels(results: readonly MethodResult[]): string[] {
  const sets = new Set(results.map((result) => result.set));
  const temperatures = new Set(results.map((result) => result.temperature));
  return results.map((result) =>
    [result.method, sets.size > 1 ? result.set : '', temperatures.size > 1 ? `T=${result.temperature}` : ''].filter((part) => part !== '').join(' · '),
  );
}

/** Tick values from 0 to a round number at or above `max`; the last tick is the axis' end. */
function niceTicks(max: number, count = 5): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const mantissa = raw / power;
  const step = (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 2.5 ? 2.5 : mantissa <= 5 ? 5 : 10) * power;
  const steps = Math.max(1, Math.ceil(top / step - 1e-9));
  return Array.from({ length: steps + 1 }, (_, index) => index * step);
}

function element(name: string, attributes: Attributes, children?: string): string {
  const rendered = Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(typeof value === 'number' ? round(value) : value)}"`)
    .join('');
  return children === undefined ? `<${name}${rendered}/>` : `<${name}${rendered}>${children}</${name}>`;
}

function group(children: readonly string[], attributes: Attributes = {}): string {
  return element('g', attributes, children.filter((child) => child !== '').join(''));
}

function text(x: number, y: number, content: string, attributes: Attributes = {}): string {
  return element('text', { x, y, ...attributes }, escapeXml(content));
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, attributes: Attributes = {}): string {
  return element('line', { x1, y1, x2, y2, stroke, ...attributes });
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Coordinates at 0.1 px; a non-finite one becomes 0 so that no `NaN` reaches the XML. */
function round(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 10) / 10) : '0';
}

function clampNonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function truncate(label: string, characters: number): string {
  return label.length <= characters ? label : `${label.slice(0, Math.max(1, characters - 1))}…`;
}

function formatNumber(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function formatTokensPerSecond(value: number): string {
  // Three significant digits are as many as the run-to-run spread supports.
  return formatNumber(value, Math.abs(value) >= 100 ? 0 : 1);
}

function formatTick(value: number): string {
  return String(Number(value.toPrecision(6)));
}
