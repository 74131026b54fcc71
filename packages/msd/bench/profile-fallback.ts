/**
 * Where the time of a text-only generation goes, with and without drafting: every target and draft
 * call timed by kind (rows), per generation, on the held-out text-only prompts.
 *
 *   pnpm exec tsx --conditions=@msd/source packages/msd/bench/profile-fallback.ts --model DIR [--limit N] [--temperature T]
 */
import { parseArgs } from 'node:util';
import { MsdPipeline, SpeculationPolicy } from 'msd';
import { heldoutPromptFile, readBenchmarkPrompts } from '../src/bench/benchmark/benchmark-prompts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    model: { type: 'string' },
    limit: { type: 'string', default: '10' },
    temperature: { type: 'string', default: '0' },
    set: { type: 'string', default: 'text-only' },
    rounds: { type: 'string', default: '2' },
  },
});
const directory = values.model!;
const prompts = readBenchmarkPrompts(heldoutPromptFile(directory)!)
  .filter((prompt) => prompt.set === values.set)
  .slice(0, Number(values.limit));
const pipeline = await MsdPipeline.create({ modelDirectory: directory, session: { intraOpNumThreads: 2 } });
const temperature = Number(values.temperature);

const calls = new Map<string, number[]>();
function note(label: string, ms: number): void {
  if (!calls.has(label)) calls.set(label, []);
  calls.get(label)!.push(ms);
}
const target = pipeline.target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
const draft = pipeline.draft as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
let mode = '';
for (const [object, name, label] of [
  [target, 'forward', (args: unknown[]) => `target.forward rows=${(args[1] as ArrayLike<number>).length}`],
  [target, 'prefill', () => 'target.prefill'],
  [target, 'compact', () => 'target.compact'],
  [
    draft,
    'run',
    (args: unknown[]) => {
      const input = args[1] as { inputIds: ArrayLike<number>; topkRows: string };
      const rows = input.inputIds.length;
      return `draft.run rows=${rows > 8 ? '>8' : rows} topk=${input.topkRows}`;
    },
  ],
] as const) {
  const original = object[name]!.bind(object);
  object[name] = async (...args: unknown[]) => {
    const started = performance.now();
    const result = await original(...args);
    note(`${mode} ${(label as (args: unknown[]) => string)(args)}`, performance.now() - started);
    return result;
  };
}

const events: string[] = [];
const policyPrototype = SpeculationPolicy.prototype as unknown as Record<string, (...args: unknown[]) => unknown> & { probing?: boolean };
const recordSpeculative = policyPrototype.recordSpeculative!;
policyPrototype.recordSpeculative = function (this: { probing: boolean; expectedGain(): number }, step: unknown) {
  const probe = this.probing;
  recordSpeculative.call(this, step);
  const { tokens, milliseconds, verifyMilliseconds } = step as { tokens: number; milliseconds: number; verifyMilliseconds: number };
  events.push(`${probe ? 'P' : 's'}${tokens}(${milliseconds.toFixed(1)}/${verifyMilliseconds.toFixed(1)} g${this.expectedGain().toFixed(2)})`);
};
const pureRatios: number[] = [];
const pairDecode: Record<string, number> = {};
const totals = { plain: [] as number[], speculative: [] as number[] };
const tokens = { plain: 0, speculative: 0 };
let plainSteps = 0;
let steps = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  if (round === 1) calls.clear();
  for (const [index, prompt] of prompts.entries()) {
    for (const speculative of index % 2 ? [true, false] : [false, true]) {
      mode = speculative ? 'S' : 'A';
      const started = performance.now();
      const result = await pipeline.generate({ prompt: prompt.question, images: prompt.images, maxNewTokens: 200, temperature, seed: index, speculative });
      const elapsed = performance.now() - started;
      pairDecode[speculative ? 'S' : 'A'] = result.stats.decodeTokensPerSecond;
      if (speculative && result.stats.autoregressiveSteps === result.stats.steps) pairDecode.pure = 1;
      if (pairDecode.A && pairDecode.S) {
        if (pairDecode.pure) pureRatios.push(pairDecode.S / pairDecode.A);
        for (const key of Object.keys(pairDecode)) delete pairDecode[key];
      }
      if (speculative && process.env.TRACE) {
        console.log(`gen ${round}/${index}: ${result.tokenIds.length} tokens, plain ${result.stats.autoregressiveSteps}: ${events.join(' ')}`);
        events.length = 0;
      }
      if (round === 0) continue;
      totals[speculative ? 'speculative' : 'plain'].push(elapsed);
      tokens[speculative ? 'speculative' : 'plain'] += result.tokenIds.length;
      if (speculative) {
        plainSteps += result.stats.autoregressiveSteps;
        steps += result.stats.steps;
      }
    }
  }
}
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
console.log(
  `generations ${totals.plain.length}; total ms plain ${sum(totals.plain).toFixed(0)} speculative ${sum(totals.speculative).toFixed(0)}; tokens ${tokens.plain}/${tokens.speculative}; plain steps in speculative ${plainSteps}/${steps}`,
);
pureRatios.sort((a, b) => a - b);
console.log(
  `generations that never drafted: ${pureRatios.length}, decode speed over autoregressive median ${pureRatios[pureRatios.length >> 1]?.toFixed(3)} mean ${(sum(pureRatios) / pureRatios.length).toFixed(3)}`,
);
for (const mode of ['A', 'S']) {
  const inCalls = sum([...calls].filter(([label]) => label.startsWith(mode)).flatMap(([, samples]) => samples));
  const total = sum(mode === 'A' ? totals.plain : totals.speculative);
  console.log(`${mode}: total ${total.toFixed(0)} ms, in model calls ${inCalls.toFixed(0)} ms, outside ${(total - inCalls).toFixed(0)} ms`);
}
for (const [label, samples] of [...calls].sort()) {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(36)} n=${String(samples.length).padStart(5)} median ${sorted[sorted.length >> 1]!.toFixed(3)} ms total ${sum(samples).toFixed(0)} ms`,
  );
}
await pipeline.close();
