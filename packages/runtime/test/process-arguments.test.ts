import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MsdError } from '@msd/core';
import { checkProcessArguments, createSession } from '@msd/runtime';

const fixture = fileURLToPath(new URL('./fixtures/embed_tokens.onnx', import.meta.url));

describe('process arguments that crash onnxruntime-node', () => {
  it('a 40,000-byte argument gives a typed error instead of SIGSEGV', () => {
    const script = `
      import { createSession } from '@msd/runtime';
      try { await createSession(${JSON.stringify(fixture)}); console.log('opened'); }
      catch (error) { console.log('code=' + error.code); }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@msd/source', '--input-type=module', '-e', script, 'x'.repeat(40_000)], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(child.signal).toBeNull();
    expect(child.stdout.trim()).toBe('code=process_argument_too_long');
  });

  it('checkProcessArguments passes ordinary arguments and names the long one', () => {
    expect(() => checkProcessArguments(['node', 'cli.js', 'generate'])).not.toThrow();
    const error = (() => {
      try {
        checkProcessArguments(['node', 'y'.repeat(30_000)]);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(MsdError.isInstance(error) && error.code).toBe('process_argument_too_long');
    expect((error as Error).message).toMatch(/Argument 1 of this process is 30000 bytes/);
  });

  it('a negative thread count is an argument error, not a broken model file', async () => {
    const error = await createSession(fixture, { intraOpNumThreads: -1 }).catch((caught: unknown) => caught);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
  });
});
