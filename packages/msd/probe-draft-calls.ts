import { MsdPipeline } from './src/index';
import { heldoutPrompts } from './test/heldout-prompts';
const pipeline = await MsdPipeline.create({ modelDirectory: process.env.M ?? '/tmp/mc/model', draft: process.env.D ?? 'msd', session: { intraOpNumThreads: 2 }, draftSession: { intraOpNumThreads: Number(process.env.DT ?? 2), ...(process.env.PROF ? { extra: { enableProfiling: true, profileFilePrefix: '/tmp/pipeprof' } } : {}) } });
const draft = pipeline.draft!;
const original = draft.run.bind(draft);
const log: string[] = [];
const sessionTimes: number[] = []; const callTimes: number[] = [];
const session = (draft as any).session;
const sessionRun = session.run.bind(session);
session.run = async (...args: any[]) => { const s = performance.now(); const r = await sessionRun(...args); if (record) sessionTimes.push(performance.now() - s); return r; };
let record = false;
(draft as any).run = async (cache: any, input: any) => {
  const started = performance.now();
  const result = await original(cache, input);
  if (record) callTimes.push(performance.now() - started);
  if (record) log.push(`rows ${input.inputIds.length} past ${cache.length} chain ${input.chainSteps ?? 0}: ${(performance.now() - started).toFixed(3)} ms`);
  return result;
};
const prompts = heldoutPrompts().filter((p) => p.set === 'multimodal').slice(0, 20);
for (const round of [0, 1]) {
  for (const p of prompts) {
    record = round === 1;
    if (record) log.push(`--- ${p.question}`);
    const result = await pipeline.generate({ prompt: p.question, images: p.images, maxNewTokens: 48 });
    if (record) log.push(`tokens ${result.tokenIds.length} stats ${JSON.stringify({ tau: result.stats.tau, steps: result.stats.autoregressiveSteps, timings: (result.stats as any).timings ?? (result.stats as any).time })}`);
  }
}
const med = (v: number[]) => { const c = [...v].sort((a, b) => a - b); return c[c.length >> 1]!.toFixed(3); };
console.log('calls', callTimes.length, 'median call', med(callTimes), 'median session.run', med(sessionTimes), 'sum call', callTimes.reduce((a, b) => a + b, 0).toFixed(1), 'sum session', sessionTimes.reduce((a, b) => a + b, 0).toFixed(1));
await pipeline.close();
