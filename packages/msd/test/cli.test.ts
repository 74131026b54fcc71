import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heldoutPrompts } from './heldout-prompts';
import { CLI_COMMAND, CLI_CWD, runCli, startCli } from './run-cli';

const run = (args: string[], input?: string) => runCli(args, input === undefined ? {} : { input });

describe('msd generate', () => {
  it('streams an answer with statistics, and --json gives the same tokens', () => {
    const prompt = heldoutPrompts().find((entry) => entry.set === 'multimodal')!;
    const args = ['generate', '--image', prompt.images[0]!, '--prompt', prompt.question, '--max-new-tokens', '24', '--threads', '2'];
    const text = run(args);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toMatch(/\[msd\] using device cpu/);
    // The answer alone on stdout; statistics beside the progress on stderr.
    expect(text.stderr).toMatch(/tau \d+\.\d\d/);
    expect(text.stdout).not.toMatch(/tau \d/);
    const json = run([...args, '--json']);
    const result = JSON.parse(json.stdout);
    expect(text.stdout.startsWith(result.text)).toBe(true);
    expect(result.stats.tau).toBeGreaterThanOrEqual(1);
    const plain = JSON.parse(run([...args, '--json', '--no-speculative']).stdout);
    expect(plain.tokenIds).toEqual(result.tokenIds);
  });

  it('prints a typed error: exit 2 for bad usage (before loading), 1 for a failure while running', () => {
    const missing = run(['generate', '--prompt', 'Hi', '--image', '/nonexistent.png']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^msd: \[invalid_argument\] Cannot read image \/nonexistent.png: ENOENT/m);
    expect(missing.stderr).not.toMatch(/using device/);
    const device = run(['generate', '--prompt', 'Hi', '--device', 'dml']);
    expect(device.status).toBe(1);
    expect(device.stderr).toMatch(/\[device_unavailable\]/);
    const usage = run(['generate', '--bogus']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/Run `msd generate --help`/);
    void execFileSync;
  });
});

describe('msd help and version', () => {
  it('--version prints the package version; each command has its own --help with defaults', () => {
    const version = run(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^msd \d+\.\d+\.\d+/);
    const overview = run(['--help']);
    expect(overview.status).toBe(0);
    expect(overview.stdout).toMatch(/generate.*\n.*bench/s);
    for (const command of ['generate', 'bench', 'tune', 'prepare']) {
      const help = run([command, '--help']);
      expect(help.status, command).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: msd ${command}`));
      expect(help.stderr).toBe('');
    }
    expect(run(['generate', '--help']).stdout).toMatch(/--max-new-tokens N\s+most tokens to generate \(default: 64\)/);
    expect(run(['help', 'bench']).stdout).toMatch(/^Usage: msd bench/);
  });

  it('no command and unknown commands are usage errors on stderr', () => {
    const none = run([]);
    expect(none.status).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/Usage: msd <command>/);
    const unknown = run(['generat']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'generat'/);
  });

  it('msd prepare reads the image positions per image from the model (144 for the bundled model)', () => {
    const question = heldoutPrompts().find((entry) => entry.set === 'multimodal')!;
    const prepared = run(['prepare', '--image', question.images[0]!, '--prompt', question.question, '--json']);
    expect(prepared.status, prepared.stderr).toBe(0);
    const summary = JSON.parse(prepared.stdout);
    expect(summary.types.image).toBe(144);
    expect(summary.pixelValues.dims).toEqual([1, 3, 96, 96]);
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
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/\[invalid_argument\] --resampler must be pil, auto, sharp/);
  });

  it('empty and out-of-range numbers are typed errors before any model loads', () => {
    const empty = run(['generate', '--prompt', 'Hi', '--temperature', '']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/\[invalid_argument\] --temperature needs a number/);
    expect(empty.stderr).not.toMatch(/using device/);
    const negative = run(['generate', '--prompt', 'Hi', '--threads', '-1']);
    expect(negative.status).toBe(2);
    expect(negative.stderr).toMatch(/\[invalid_argument\] threads must be a non-negative integer/);
    const many = run(['generate', '--prompt', 'Hi', '--threads', '100000']);
    expect(many.status).toBe(2);
    expect(many.stderr).toMatch(/\[too_many_threads\]/);
    const temperature = run(['generate', '--prompt', 'Hi', '--temperature', '-1']);
    expect(temperature.status).toBe(2);
    expect(temperature.stderr).toMatch(/\[invalid_argument\].*temperature/);
    expect(temperature.stderr).not.toMatch(/ambiguous|using device/);
  });

  it('a reader that goes away (| head -c 10) ends the command quietly', () => {
    const question = prompt();
    const quote = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;
    const command = [...CLI_COMMAND, 'generate', '--image', question.images[0]!, '--prompt', question.question, '--max-new-tokens', '40'].map(quote).join(' ');
    // A real shell pipe whose reader is gone before the answer starts (head -c 0 exits at once), so msd's
    // first write meets EPIPE every time; with head -c 10 that depends on timing.
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', `${command} | head -c 0`], { encoding: 'utf8', cwd: CLI_CWD });
    expect(piped.stderr).not.toMatch(/EPIPE|at .*\.ts/);
    expect(piped.status).toBe(0);
  });
});

describe('msd generate and Ctrl-C', () => {
  const start = startCli;
  const finish = (child: ReturnType<typeof start>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('stops a generation with exit code 130, a newline and a note on stderr', async () => {
    const question = heldoutPrompts().find((entry) => entry.set === 'detailed')!;
    const child = start([
      'generate',
      '--image',
      question.images[0]!,
      '--prompt',
      question.question,
      '--max-new-tokens',
      '200',
      '--no-speculative',
      '--threads',
      '1',
    ]);
    child.stdout.once('data', () => child.kill('SIGINT'));
    const { code, stdout, stderr } = await finish(child);
    expect(code).toBe(130);
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stderr).toMatch(/\[msd\] interrupted/);
    expect(stderr).not.toMatch(/at .*\.ts|AbortError/);
  });

  it('stops at once while the model loads', async () => {
    const child = start(['generate', '--prompt', 'Hi']);
    child.stderr.once('data', () => child.kill('SIGINT'));
    const began = Date.now();
    const { code, stderr } = await finish(child);
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(Date.now() - began).toBeLessThan(10_000);
  });
});
