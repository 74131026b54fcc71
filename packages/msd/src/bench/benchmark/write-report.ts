import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchmarkReport, MethodResult } from './benchmark-report';
import { markdownReport, type ReportCharts } from './markdown-report';
import { costCurveChart, tauDistributionChart, tokensPerSecondChart } from './svg-charts';

interface OutputFile {
  name: string;
  content: string;
}

/**
 * Writes a benchmark's report folder: `results.json` (the report itself, for tools), `report.md`
 * (for people), and the SVG charts it embeds: `tokens-per-second.svg` (one
 * `tokens-per-second-<set>.svg` per set when there are several sets), `tau-distribution.svg`, and
 * `verify-cost.svg` when the report has a tuning summary. Creates the directory if needed and
 * overwrites what was there.
 *
 * @example
 * ```ts
 * import { runBenchmark, writeBenchmarkReport } from 'msd/bench';
 *
 * const report = await runBenchmark({ prompts });
 * const { files } = await writeBenchmarkReport(report, 'bench-out');
 * // ['bench-out/results.json', 'bench-out/report.md', 'bench-out/tokens-per-second-multimodal.svg', ...]
 * ```
 */
export async function writeBenchmarkReport(report: BenchmarkReport, directory: string): Promise<{ files: string[] }> {
  const speedCharts = tokensPerSecondCharts(report.results);
  const charts: ReportCharts = { tokensPerSecond: speedCharts.references, tau: 'tau-distribution.svg' };
  const outputs: OutputFile[] = [
    ...speedCharts.files,
    { name: charts.tau, content: tauDistributionChart(report.results, { title: 'Tokens per target step (tau) per generation' }) },
  ];
  if (report.tuning) {
    charts.costCurve = 'verify-cost.svg';
    outputs.push({ name: charts.costCurve, content: costCurveChart(report.tuning, { title: 'Measured verify and draft call costs' }) });
  }
  const all = [
    { name: 'results.json', content: `${JSON.stringify(report, null, 2)}\n` },
    { name: 'report.md', content: markdownReport(report, charts) },
    ...outputs,
  ];
  await mkdir(directory, { recursive: true });
  await Promise.all(all.map((file) => writeFile(join(directory, file.name), file.content, 'utf8')));
  return { files: all.map((file) => join(directory, file.name)) };
}

/**
 * Greedy results when there are any: those are the runs every method shares (the baseline decodes
 * greedily only), so the bars compare like with like. One chart per set, because speeds differ
 * more between sets (image prefill, answer length) than between methods.
 */
function tokensPerSecondCharts(results: readonly MethodResult[]): { files: OutputFile[]; references: ReportCharts['tokensPerSecond'] } {
  const greedy = results.filter((result) => result.temperature === 0);
  const shown = greedy.length > 0 ? greedy : results;
  const which = greedy.length > 0 ? 'greedy' : 'all temperatures';
  const sets = [...new Set(shown.map((result) => result.set))];
  if (sets.length <= 1) {
    const title = sets.length === 1 ? `Decode tokens per second, ${sets[0]}, ${which}` : 'Decode tokens per second';
    return { files: [{ name: 'tokens-per-second.svg', content: tokensPerSecondChart(shown, { title }) }], references: 'tokens-per-second.svg' };
  }
  const names = uniqueFileNames(sets.map((set) => `tokens-per-second-${slug(set)}.svg`));
  const files = sets.map((set, index) => ({
    name: names[index]!,
    content: tokensPerSecondChart(
      shown.filter((result) => result.set === set),
      { title: `Decode tokens per second, ${set}, ${which}` },
    ),
  }));
  return { files, references: Object.fromEntries(sets.map((set, index) => [set, names[index]!])) };
}

/** Set names come from users' prompt files, so they may hold characters a file name should not. */
function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'set'
  );
}

function uniqueFileNames(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : name.replace(/\.svg$/, `-${count}.svg`);
  });
}
