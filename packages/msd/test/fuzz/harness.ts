/**
 * Runs fuzz cases in child processes, each watched for a time limit and a memory cap. A worker runs a
 * batch of cases one after another and reports each as it starts and ends; a worker that crashes,
 * hangs past the case's time limit or grows past the memory cap is killed, the case it was running is
 * recorded as that failure, and a fresh worker continues with the next case. So every case runs in a
 * child process under both limits, and one bad case cannot hide the others.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One case's outcome, as a worker reports it or the harness decides it. */
export interface CaseOutcome {
  id: number;
  /** `ok`: ran; `typed`: an MsdError with a code; anything else is a failure. */
  outcome: 'ok' | 'typed' | 'untyped' | 'violation' | 'crash' | 'timeout' | 'memory' | 'unusable';
  /** The MsdError code, or the failure's message. */
  detail?: string;
  milliseconds?: number;
}

export interface HarnessOptions {
  /** Worker kind (see worker.ts). */
  kind: string;
  /** The cases, JSON-serialisable. */
  cases: unknown[];
  /** Scratch folder for batch files. */
  scratch: string;
  /** Time limit of one case; the first case of a worker also loads the pipeline. */
  caseTimeoutMs: number;
  /** Resident-memory cap of a worker. */
  memoryCapBytes: number;
}

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

function residentBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `cases` from index `start` in one worker; resolves with the outcomes and where it stopped. */
function runWorker(options: HarnessOptions, start: number): Promise<{ outcomes: CaseOutcome[]; next: number }> {
  const batch = join(options.scratch, `${options.kind}-${start}.json`);
  writeFileSync(batch, JSON.stringify({ kind: options.kind, start, cases: options.cases.slice(start) }));
  const child = spawn(process.execPath, ['--max-old-space-size=1536', '--import', 'tsx', '--conditions=@msd/source', workerPath, batch], {
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  const outcomes: CaseOutcome[] = [];
  let current: number | undefined;
  let caseStarted = Date.now();
  let killedFor: CaseOutcome['outcome'] | undefined;
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      const message = JSON.parse(line) as { event: 'start' | 'done'; id: number } & CaseOutcome;
      if (message.event === 'start') {
        current = message.id;
        caseStarted = Date.now();
      } else {
        const { event: _, ...outcome } = message;
        outcomes.push(outcome);
        current = undefined;
      }
    }
  });
  const watchdog = setInterval(() => {
    if (killedFor) return;
    if (residentBytes(child.pid!) > options.memoryCapBytes) killedFor = 'memory';
    else if (Date.now() - caseStarted > options.caseTimeoutMs) killedFor = 'timeout';
    if (killedFor) child.kill('SIGKILL');
  }, 100);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      const failed = current ?? (outcomes.length ? undefined : start);
      if (failed !== undefined) {
        const outcome = killedFor ?? 'crash';
        outcomes.push({ id: failed, outcome, detail: `${outcome} (exit ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
        resolve({ outcomes, next: failed + 1 });
        return;
      }
      resolve({ outcomes, next: start + outcomes.length });
    });
  });
}

/** Runs every case; a killed worker is replaced and the run continues after the case that killed it. */
export async function runCases(options: HarnessOptions): Promise<CaseOutcome[]> {
  const outcomes: CaseOutcome[] = [];
  let next = 0;
  while (next < options.cases.length) {
    const run = await runWorker(options, next);
    outcomes.push(...run.outcomes);
    if (run.next <= next) break;
    next = run.next;
  }
  return outcomes;
}

/** Counts per outcome and per error code, for the test's output. */
export function summarise(kind: string, outcomes: CaseOutcome[]): string {
  const byOutcome = new Map<string, number>();
  const byCode = new Map<string, number>();
  for (const { outcome, detail } of outcomes) {
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    if (outcome === 'typed') byCode.set(detail ?? '?', (byCode.get(detail ?? '?') ?? 0) + 1);
  }
  const failures = outcomes.filter((entry) => entry.outcome !== 'ok' && entry.outcome !== 'typed').length;
  const codes = [...byCode]
    .sort((a, b) => b[1] - a[1])
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  return `[fuzz ${kind}] cases ${outcomes.length}, ran ${byOutcome.get('ok') ?? 0}, typed errors ${byOutcome.get('typed') ?? 0} (${codes || 'none'}), failures ${failures}`;
}
