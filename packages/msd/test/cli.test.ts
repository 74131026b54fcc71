import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { heldoutPrompts } from './heldout-prompts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@msd/source', cli, ...args], { encoding: 'utf8', cwd: fileURLToPath(new URL('..', import.meta.url)) });

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
