import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyLlavaExampleImage } from '@msd/tiny-llava';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServeLoad } from '../bench/serve-load';
import { runCli, startCli } from './run-cli';

/** Starts `msd serve` in its own process; resolves with its URL once the model is loaded. */
async function startServe(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string; stderr: () => string }> {
  const child = startCli(['serve', '--port', '0', '--threads', '2', ...args]);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stdout.resume();
  const url = await new Promise<string>((resolve, reject) => {
    let address: string | undefined;
    child.stderr.on('data', (text: string) => {
      stderr += text;
      address ??= /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (address && stderr.includes('[msd] ready:')) resolve(address);
    });
    child.once('exit', (code) => reject(new Error(`msd serve exited with ${code}: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

describe('msd serve on the command line', () => {
  it('has its own --help and refuses bad flags with exit 2 before loading', () => {
    const help = runCli(['serve', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: msd serve/);
    expect(help.stdout).toMatch(/--max-queue N .*default: 64/);
    for (const args of [['--port', '70000'], ['--max-queue', '-1'], ['--allow-images-from', '/nonexistent'], ['--bogus']]) {
      const run = runCli(['serve', ...args]);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).not.toMatch(/listening/);
    }
  });

  it('finishes the request in flight on SIGTERM, then exits 0', async () => {
    const { child, url, stderr } = await startServe([]);
    const image = `data:image/png;base64,${(await import('node:fs')).readFileSync(tinyLlavaExampleImage()).toString('base64')}`;
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: image } },
              { type: 'text', text: 'Describe the image in detail.' },
            ],
          },
        ],
        max_tokens: 160,
        stream: true,
      }),
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    child.kill('SIGTERM');
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const [code] = await once(child, 'exit');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(code).toBe(0);
    expect(stderr()).toMatch(/SIGTERM/);
    expect(stderr()).toMatch(/\[msd\] closed/);
  });
});

describe('msd serve under load', () => {
  let server: Awaited<ReturnType<typeof startServe>>;
  beforeAll(async () => {
    server = await startServe([]);
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    if (server) await once(server.child, 'exit');
  });

  it('serves 2 x 50 requests from 10 clients (slow readers, disconnects) without errors, memory flat, queue drained', async () => {
    const report = await runServeLoad({ url: server.url, requests: 50, concurrency: 10, rounds: 2, image: tinyLlavaExampleImage() });
    // Kept as a CI artifact beside the page's screenshot.
    const artifacts = join(process.env.MSD_ARTIFACTS_DIR ?? tmpdir(), 'msd-serve');
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'load-test.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`load test report: ${join(artifacts, 'load-test.json')}\n${JSON.stringify(report)}`);
    for (const round of report.rounds) {
      expect(round.errors).toEqual({});
      expect(round.completed + round.disconnected).toBe(50);
      expect(round.disconnected).toBe(5);
    }
    expect(report.queueAfter).toEqual({ waiting: 0, running: 0 });
    const mib = (bytes: number) => bytes / 2 ** 20;
    const [first, second] = report.rounds;
    // A leak grows with every request: the second round must not add to what the first settled at.
    expect(mib(second!.memoryAfter.residentBytes - first!.memoryAfter.residentBytes)).toBeLessThan(32);
    expect(mib(second!.memoryAfter.residentBytes - report.memoryBefore.residentBytes)).toBeLessThan(64);
    // Buffers and the JS heap wait for the garbage collector: a loose bound, which a leak of every request's image would still break.
    expect(
      mib(second!.memoryAfter.heapUsedBytes + second!.memoryAfter.externalBytes - report.memoryBefore.heapUsedBytes - report.memoryBefore.externalBytes),
    ).toBeLessThan(48);
  });
});
