import { InvalidArgumentError } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import { beforeLoading, numberOption as number } from './cli-arguments';
import { checkThreads, defaultPipelineLimits } from './pipeline-limits';
import type { GenerateInterruption } from './cli-generate';

/** Options of the `msd serve` command, as parsed from the command line. */
export interface ServeCommandOptions {
  model?: string;
  host?: string;
  port?: string;
  'api-key'?: string;
  device?: string;
  threads?: string;
  'max-queue'?: string;
  'max-body-mb'?: string;
  'max-tokens'?: string;
  'allow-images-from'?: string;
  draft?: string;
}

/** Checks every flag of `msd serve` before anything loads; a bad one is a usage error (exit 2). */
async function validate(options: ServeCommandOptions) {
  const { stat } = await import('node:fs/promises');
  const threads = number(options.threads, 'threads');
  checkThreads(threads, 'threads', defaultPipelineLimits());
  const port = number(options.port, 'port') ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError({ argument: 'port', message: `--port must be an integer from 0 to 65535, got ${port}.` });
  const integerAtLeast = (flag: string, minimum: number) => {
    const value = number(options[flag as keyof ServeCommandOptions], flag);
    if (value !== undefined && (!Number.isInteger(value) || value < minimum)) {
      throw new InvalidArgumentError({ argument: flag, message: `--${flag} must be an integer of at least ${minimum}, got ${value}.` });
    }
    return value;
  };
  const maxQueue = integerAtLeast('max-queue', 0);
  const maxTokens = integerAtLeast('max-tokens', 1);
  const maxBodyMb = number(options['max-body-mb'], 'max-body-mb');
  if (maxBodyMb !== undefined && !(maxBodyMb > 0))
    throw new InvalidArgumentError({ argument: 'max-body-mb', message: `--max-body-mb must be positive, got ${maxBodyMb}.` });
  for (const [flag, path] of [
    ['model', options.model],
    ['allow-images-from', options['allow-images-from']],
  ] as const) {
    if (path === undefined) continue;
    const info = await stat(path).catch(() => undefined);
    if (!info?.isDirectory())
      throw new InvalidArgumentError({ argument: flag, message: `--${flag} must be a directory, got '${path}' (${info ? 'not a directory' : 'not found'}).` });
  }
  // A key on the command line shows in `ps`; the environment is the quieter place for it.
  const apiKey = options['api-key'] ?? process.env.MSD_API_KEY;
  if (apiKey !== undefined && !apiKey) throw new InvalidArgumentError({ argument: 'api-key', message: '--api-key must not be empty.' });
  const devices = (options.device ?? 'cpu').split(',').map((device) => device.trim()) as DeviceName[];
  if (devices.some((device) => !device)) throw new InvalidArgumentError({ argument: 'device', message: `--device has an empty name: '${options.device}'.` });
  return { threads, port, maxQueue, maxTokens, maxBodyMb, apiKey, devices };
}

/**
 * Runs `msd serve` until SIGTERM (graceful shutdown, exit 0) or Ctrl-C (graceful, exit 130; a second
 * Ctrl-C exits at once). Returns the exit code; 1 when the model cannot be loaded or the port bound.
 */
export async function runServe(options: ServeCommandOptions, interruption: GenerateInterruption): Promise<number> {
  const settings = await beforeLoading(() => validate(options));
  const log = (message: string) => process.stderr.write(`[msd] ${message}\n`);
  const { startServer } = await import('./serve/server');
  const server = await startServer({
    ...(options.model ? { modelDirectory: options.model } : {}),
    host: options.host ?? '127.0.0.1',
    port: settings.port,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    device: settings.devices,
    ...(settings.threads !== undefined ? { threads: settings.threads } : {}),
    ...(settings.maxQueue !== undefined ? { maxQueue: settings.maxQueue } : {}),
    ...(settings.maxBodyMb !== undefined ? { maxBodyMb: settings.maxBodyMb } : {}),
    ...(settings.maxTokens !== undefined ? { defaultMaxTokens: settings.maxTokens } : {}),
    ...(options['allow-images-from'] ? { allowImagesFrom: options['allow-images-from'] } : {}),
    ...(options.draft ? { pipeline: { draft: options.draft } } : {}),
    onLog: log,
  });
  let terminated = false;
  const stopped = new Promise<number>((resolve) => {
    process.once('SIGTERM', () => {
      terminated = true;
      log('SIGTERM: finishing the running request, then exiting');
      resolve(0);
    });
    interruption.signal.addEventListener('abort', () => {
      log('interrupted: finishing the running request, then exiting (Ctrl-C again to exit now)');
      resolve(130);
    });
  });
  interruption.interruptible(true);
  try {
    await server.ready;
  } catch {
    await server.close();
    return terminated ? 0 : 1;
  }
  const code = await stopped;
  await server.close();
  return code;
}
