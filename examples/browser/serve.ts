/**
 * A small static server for the browser example (node:http, no framework):
 *
 *   /            the built page (examples/browser/dist/, `build.ts` writes it)
 *   /model/      the bundled model directory (@msd/tiny-llava)
 *   /ort/        onnxruntime-web's dist/ (its .wasm and .mjs files, `wasmPaths: '/ort/'`)
 *   /heldout/    the bundled model's held-out prompts and images
 *   /examples/   the bundled model's example images (scene.png)
 *
 * Every response carries `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy:
 * require-corp`, so the page is cross-origin isolated and onnxruntime-web may run WASM on several threads.
 *
 *   pnpm exec tsx examples/browser/serve.ts [--port 8080] [--host 127.0.0.1] [--root DIR]
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tinyLlavaDirectory } from '@msd/tiny-llava';

const EXAMPLE_DIRECTORY = dirname(fileURLToPath(import.meta.url));
const REPOSITORY_ROOT = join(EXAMPLE_DIRECTORY, '..', '..');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/jsonl; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.data': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Headers every response carries: cross-origin isolation (threaded WASM needs SharedArrayBuffer). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

/**
 * onnxruntime-web's `dist/` folder, resolved from `@msd/runtime`, whose dependency it is. The package
 * exports no `./package.json`, so one of its exported `.wasm` files is resolved instead.
 */
export function onnxruntimeWebDirectory(): string {
  const require = createRequire(join(REPOSITORY_ROOT, 'packages', 'runtime', 'package.json'));
  try {
    return join(dirname(require.resolve('onnxruntime-web/package.json')), 'dist');
  } catch {
    return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  }
}

/** The URL prefixes the server answers and the folders behind them; `/` last, as the fallback. */
export function exampleMounts(root: string): [prefix: string, directory: string][] {
  const model = tinyLlavaDirectory();
  return [
    ['/model/', model],
    ['/ort/', onnxruntimeWebDirectory()],
    ['/heldout/', join(model, '..', 'heldout')],
    ['/examples/', join(model, '..', 'examples')],
    ['/', root],
  ];
}

/** Options of {@link startExampleServer}. */
export interface ExampleServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** The built page. Default `examples/browser/dist/`. */
  root?: string;
  /** Called with one line per request (method, path, status). Default: nothing. */
  log?: (line: string) => void;
}

/** A running example server. */
export interface ExampleServer {
  /** Its base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** The file a request path names under a mount, or undefined when it leaves the mount's folder. */
function fileFor(directory: string, rest: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const path = normalize(join(directory, decoded));
  const base = directory.endsWith(sep) ? directory : directory + sep;
  return path === directory || path.startsWith(base) ? path : undefined;
}

function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

async function handle(mounts: [string, string][], request: IncomingMessage, response: ServerResponse): Promise<number> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendText(response, 405, 'Method not allowed\n', { Allow: 'GET, HEAD' });
    return 405;
  }
  const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
  const mount = mounts.find(([prefix]) => pathname.startsWith(prefix));
  let file = mount ? fileFor(mount[1], pathname.slice(mount[0].length)) : undefined;
  if (!file) {
    sendText(response, 404, 'Not found\n');
    return 404;
  }
  let info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) {
    file = join(file, 'index.html');
    info = await stat(file).catch(() => undefined);
  }
  if (!info?.isFile()) {
    sendText(response, 404, 'Not found\n');
    return 404;
  }
  response.writeHead(200, {
    ...ISOLATION_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': info.size,
    // Revalidate every time: the page keeps the model in the Cache API itself.
    'Cache-Control': 'no-cache',
    'Last-Modified': info.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  });
  if (request.method === 'HEAD') {
    response.end();
    return 200;
  }
  await new Promise<void>((resolve) => {
    const stream = createReadStream(file);
    stream.on('error', () => {
      response.destroy();
      resolve();
    });
    response.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(response);
  });
  return 200;
}

/**
 * Starts the example's static server and resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await startExampleServer({ port: 0 });
 * console.log(`open ${server.url}/`);
 * await server.close();
 * ```
 */
export async function startExampleServer(options: ExampleServerOptions = {}): Promise<ExampleServer> {
  const mounts = exampleMounts(options.root ?? join(EXAMPLE_DIRECTORY, 'dist'));
  const log = options.log ?? (() => {});
  const server = createServer((request, response) => {
    handle(mounts, request, response).then(
      (status) => log(`${request.method} ${request.url} ${status}`),
      (error: unknown) => {
        log(`${request.method} ${request.url} failed: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) sendText(response, 500, 'Internal server error\n');
        else response.destroy();
      },
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      root: { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  const root = values.root ?? join(EXAMPLE_DIRECTORY, 'dist');
  if (!(await stat(join(root, 'main.js')).catch(() => undefined))) {
    console.error(`${root} has no main.js: build the page first (pnpm exec tsx examples/browser/build.ts).`);
    process.exitCode = 1;
    return;
  }
  const server = await startExampleServer({
    host: values.host,
    port: Number(values.port),
    root,
    ...(values.quiet ? {} : { log: (line: string) => console.error(line) }),
  });
  console.log(`msd browser example: ${server.url}/`);
  console.log(`  WASM only: ${server.url}/?device=wasm   WebGPU only: ${server.url}/?device=webgpu`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
