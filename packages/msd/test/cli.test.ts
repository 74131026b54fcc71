import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heldoutPrompts } from './heldout-prompts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@msd/source', cli, ...args], {
    encoding: 'utf8',
    cwd,
    ...(input === undefined ? {} : { input }),
  });

describe('msd generate', () => {
  it('streams an answer with statistics, and --json gives the same tokens', () => {
    const prompt = heldoutPrompts().find((entry) => entry.set === 'multimodal')!;
    const args = ['generate', '--image', prompt.images[0]!, '--prompt', prompt.question, '--max-new-tokens', '24', '--threads', '2'];
    const text = run(args);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/\[msd\] using device cpu/);
    expect(text.stdout).toMatch(/tau \d+\.\d\d/);
    const json = run([...args, '--json']);
    const result = JSON.parse(json.stdout);
    expect(text.stdout.startsWith(result.text)).toBe(true);
    expect(result.stats.tau).toBeGreaterThanOrEqual(1);
    const plain = JSON.parse(run([...args, '--json', '--no-speculative']).stdout);
    expect(plain.tokenIds).toEqual(result.tokenIds);
  });

  it('prints a typed error and exits 1 for bad input', () => {
    const missing = run(['generate', '--prompt', 'Hi', '--image', '/nonexistent.png']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^msd: \[image_source_unreadable\]/m);
    const device = run(['generate', '--prompt', 'Hi', '--device', 'dml']);
    expect(device.status).toBe(1);
    expect(device.stderr).toMatch(/\[device_unavailable\]/);
    const usage = run(['generate', '--bogus']);
    expect(usage.status).toBe(2);
    void execFileSync;
  });
});

describe('msd generate with hostile or careless input', () => {
  const prompt = () => heldoutPrompts().find((entry) => entry.set === 'multimodal')!;

  it('a 40,000-character --prompt is refused with a message, not a segfault; --prompt-file and stdin take it', () => {
    const long = 'Describe the image. '.repeat(2000);
    const refused = run(['generate', '--prompt', long]);
    expect(refused.signal).toBeNull();
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/\[argument_too_long\].*--prompt-file/);
    const file = join(mkdtempSync(join(tmpdir(), 'msd-cli-')), 'prompt.txt');
    writeFileSync(file, long);
    const fromFile = run(['generate', '--prompt-file', file, '--threads', '1']);
    expect(fromFile.signal).toBeNull();
    expect(fromFile.stderr).toMatch(/\[context_too_long\]/);
    const question = prompt();
    const fromStdin = run(['generate', '--prompt-file', '-', '--image', question.images[0]!, '--max-new-tokens', '8', '--json'], question.question);
    expect(fromStdin.status, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout).tokenIds.length).toBeGreaterThan(0);
  });

  it('--resampler picks the resize implementation; an unknown one is a typed error before any model loads', () => {
    const question = prompt();
    const args = ['generate', '--image', question.images[0]!, '--prompt', question.question, '--max-new-tokens', '8', '--json'];
    const fast = run([...args, '--resampler', 'sharp']);
    expect(fast.status, fast.stderr).toBe(0);
    expect(JSON.parse(fast.stdout).tokenIds.length).toBeGreaterThan(0);
    const bogus = run([...args, '--resampler', 'bilinear']);
    expect(bogus.status).toBe(1);
    expect(bogus.stderr).toMatch(/\[invalid_argument\] --resampler must be pil, auto, sharp/);
  });

  it('empty and out-of-range numbers are typed errors before any model loads', () => {
    const empty = run(['generate', '--prompt', 'Hi', '--temperature', '']);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/\[invalid_argument\] --temperature needs a number/);
    expect(empty.stderr).not.toMatch(/using device/);
    const negative = run(['generate', '--prompt', 'Hi', '--threads', '-1']);
    expect(negative.status).toBe(1);
    expect(negative.stderr).toMatch(/\[invalid_argument\] session\.intraOpNumThreads must be a non-negative integer/);
    const many = run(['generate', '--prompt', 'Hi', '--threads', '100000']);
    expect(many.status).toBe(1);
    expect(many.stderr).toMatch(/\[too_many_threads\]/);
  });

  it('a reader that goes away (| head -c 10) ends the command quietly', () => {
    const question = prompt();
    const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
    const command = [
      process.execPath,
      '--import',
      'tsx',
      '--conditions=@msd/source',
      cli,
      'generate',
      '--image',
      question.images[0]!,
      '--prompt',
      question.question,
      '--max-new-tokens',
      '40',
    ]
      .map(quote)
      .join(' ');
    // A real shell pipe whose reader is gone before the answer starts (head -c 0 exits at once), so msd's
    // first write meets EPIPE every time; with head -c 10 that depends on timing.
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', `${command} | head -c 0`], { encoding: 'utf8', cwd });
    expect(piped.stderr).not.toMatch(/EPIPE|at .*\.ts/);
    expect(piped.status).toBe(0);
  });
});
