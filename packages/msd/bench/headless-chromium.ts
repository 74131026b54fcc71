import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (scripts/install-system-deps.sh installs it); playwright-core downloads no browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** No sandbox (CI runs as root), and none of the background traffic a first run starts. */
const QUIET_ARGS = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Headless Chromium for the browser tests and the browser bench: the GPU off, or with `webgpu` WebGPU on
 * whatever adapter there is (SwiftShader on a machine without a GPU).
 */
export function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...QUIET_ARGS, options.webgpu ? '--enable-unsafe-webgpu' : '--disable-gpu'] });
}
