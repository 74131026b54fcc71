import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import type { TuningSummary } from './bench/benchmark/benchmark-report';

/** What a tuning result is valid for: the same model files, device, threads and CPU. */
export interface TuningKey {
  /** The model directory's manifest.json contents (its graphs identify the model). */
  manifestText: string;
  /** Execution provider. */
  device: string;
  /** Intra-op threads (0 = onnxruntime's default). */
  threads: number;
}

/**
 * The key of a model directory's tuning on a device with a thread count (0 = onnxruntime's default).
 *
 * @example
 * ```ts
 * import { readTuning, tuningKeyFor } from 'msd';
 *
 * const tuning = await readTuning(await tuningKeyFor('packages/tiny-llava/model', 'cpu', 2));
 * ```
 */
export async function tuningKeyFor(modelDirectory: string, device: string, threads: number): Promise<TuningKey> {
  return { manifestText: await readFile(join(modelDirectory, 'manifest.json'), 'utf8'), device, threads };
}

/**
 * The file a tuning result is cached in: `$XDG_CACHE_HOME/msd/tuning/<hash>.json` (or
 * `~/.cache/msd/...`), the hash over the model's manifest, device, threads and CPU model, so a result
 * is never reused on other hardware or another model.
 *
 * @example
 * ```ts
 * import { tuningCachePath } from 'msd';
 *
 * tuningCachePath({ manifestText, device: 'cpu', threads: 2 }); // ~/.cache/msd/tuning/3f2a....json
 * ```
 */
export function tuningCachePath(key: TuningKey, cacheDirectory = defaultCacheDirectory()): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([key.manifestText, key.device, key.threads, cpus()[0]?.model ?? 'unknown', cpus().length]))
    .digest('hex')
    .slice(0, 16);
  return join(cacheDirectory, 'tuning', `${hash}.json`);
}

function defaultCacheDirectory(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'msd');
}

/**
 * Reads a cached tuning result; `undefined` when there is none or it cannot be read.
 *
 * @example
 * ```ts
 * import { readTuning } from 'msd';
 *
 * const tuning = await readTuning({ manifestText, device: 'cpu', threads: 2 });
 * if (tuning) console.log(tuning.chosen);
 * ```
 */
export async function readTuning(key: TuningKey, cacheDirectory?: string): Promise<TuningSummary | undefined> {
  try {
    const parsed = JSON.parse(await readFile(tuningCachePath(key, cacheDirectory), 'utf8')) as TuningSummary;
    // A cache written before the tree's `topK` became `branching` reads as no tuning; so does one without
    // the cost curves the report draws (edited by hand), which would otherwise fail after a whole run.
    const { chosen } = parsed;
    const shaped = chosen && Number.isInteger(chosen.depth) && Number.isInteger(chosen.branching) && Number.isInteger(chosen.totalTokens);
    return shaped && Array.isArray(parsed.verifyCost) && Array.isArray(parsed.draftCost) && Array.isArray(parsed.candidates) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Caches a tuning result (written to a temporary file, then renamed, so a reader never sees half a file).
 *
 * @example
 * ```ts
 * import { writeTuning } from 'msd';
 *
 * const path = await writeTuning({ manifestText, device: 'cpu', threads: 2 }, tuning);
 * ```
 */
export async function writeTuning(key: TuningKey, tuning: TuningSummary, cacheDirectory?: string): Promise<string> {
  const path = tuningCachePath(key, cacheDirectory);
  await mkdir(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(tuning, null, 2)}\n`);
  await rename(temporary, path);
  return path;
}
