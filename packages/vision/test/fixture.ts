import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(packageDir, '..', '..');
export const fixtureDir = join(packageDir, 'test', '.cache', 'vision-fixture');
export const llavaConfigPath = join(packageDir, 'test', 'fixtures', 'llava-preprocessor_config.json');

export interface FixtureImage {
  name: string;
  file: string;
  case: string;
  width: number;
  height: number;
  bytes: number;
  dims: Record<string, [number, number, number, number]>;
}

export interface FixtureManifest {
  seed: number;
  configs: Record<string, string | Record<string, unknown>>;
  images: FixtureImage[];
}

/**
 * Returns the fixture manifest, generating the fixture with Debian's python3
 * (PIL + numpy) when the gitignored cache is missing. Generation is atomic
 * (staging dir + rename), so parallel test files are safe.
 */
export function ensureFixture(): FixtureManifest {
  const manifest = join(fixtureDir, 'manifest.json');
  if (!existsSync(manifest)) {
    const python = process.env.MSD_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
    execFileSync(python, [join(repoRoot, 'training', 'fixtures', 'make_vision_fixture.py'), '--out', fixtureDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }
  return JSON.parse(readFileSync(manifest, 'utf8')) as FixtureManifest;
}

export function imagePath(image: FixtureImage): string {
  return join(fixtureDir, 'images', image.file);
}

export function readReference(config: string, image: FixtureImage): Float32Array {
  const bytes = readFileSync(join(fixtureDir, 'ref', config, `${image.name}.bin`));
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function diffStats(actual: Float32Array, expected: Float32Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / expected.length };
}
