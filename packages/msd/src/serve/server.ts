import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { AbortedError, InvalidArgumentError, MsdError } from '@msd/core';
import type { DeviceName } from '@msd/runtime';
import { checkGenerateRequest, resolveGenerateOptions } from '../generate-options';
import type { GenerateResult } from '../generation-stream';
import { MsdPipeline, type PipelineOptions } from '../pipeline';
import { type ChatRequest, parseChatRequest } from './chat-request';
import { type ChatCompletionWriter, jsonCompletion, streamCompletion } from './completion-response';
import { HttpError, toHttpError } from './http-error';
import { sendError, sendJson } from './http-response';
import { ServerMetrics } from './metrics';
import { RequestQueue } from './request-queue';

/** Options of {@link startServer} (and `msd serve`'s flags). */
export interface ServeOptions {
  /** Model directory; default the bundled tiny LLaVA. */
  modelDirectory?: string;
  /** The model's name in responses and `GET /v1/models`. Default: the directory's name (`tiny-llava` for the bundled model). */
  modelName?: string;
  /** Interface to listen on. Default `127.0.0.1` (this machine only). */
  host?: string;
  /** Port; 0 picks a free one (see {@link MsdServer.url}). Default 8080. */
  port?: number;
  /** When set, `/v1/*` requests need `Authorization: Bearer <apiKey>`; others get 401. */
  apiKey?: string;
  /** Execution provider or fallback list, as {@link PipelineOptions.device}. Default `'cpu'`. */
  device?: DeviceName | DeviceName[];
  /** onnxruntime intra-op threads. Default: onnxruntime's choice. */
  threads?: number;
  /** Requests that may wait while one decodes; one more gets 429. Default 64. */
  maxQueue?: number;
  /** Largest request body in MiB; a larger one gets 413. Default 32. */
  maxBodyMb?: number;
  /** A directory `file:` image URLs may point into; without it local files are refused. */
  allowImagesFrom?: string;
  /** `max_tokens` of a request that gives none. Default 256. */
  defaultMaxTokens?: number;
  /** Seconds SIGTERM / {@link MsdServer.close} lets the running generation finish before cancelling it. Default 10. */
  shutdownGraceSeconds?: number;
  /** Further pipeline options (draft, resampler, limits, tree...). */
  pipeline?: Omit<PipelineOptions, 'modelDirectory' | 'device' | 'onProgress'>;
  /** Log lines (loading progress, one line per request). Default: none. */
  onLog?: (line: string) => void;
}

/** A running `msd serve`. */
export interface MsdServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Resolves once the model is loaded (`GET /health` is 200 from then); rejects when loading fails. */
  readonly ready: Promise<void>;
  /** The pipeline once loaded. */
  readonly pipeline: MsdPipeline | undefined;
  /** The server's metrics. */
  readonly metrics: ServerMetrics;
  /** The request queue (for figures: waiting, running). */
  readonly queue: RequestQueue;
  /**
   * Graceful shutdown: stops accepting connections, refuses waiting requests with 503, lets the
   * running generation finish (up to `shutdownGraceSeconds`, then cancels it), closes the pipeline.
   */
  close(): Promise<void>;
}

/** Paths of the page (served without a key: it asks for one when the API needs it). */
const PAGE_PATHS = new Set(['/', '/index.html', '/page.js', '/page.css']);

/**
 * Starts `msd serve`: an OpenAI-compatible HTTP server on Node's own `http` module. It listens at
 * once and loads the model in the background: until it is loaded `/health` and the API answer 503.
 *
 * @example
 * ```ts
 * import { startServer } from 'msd/serve';
 *
 * const server = await startServer({ port: 0, threads: 2, onLog: console.error });
 * await server.ready;
 * console.log(`listening on ${server.url}`);
 * await server.close();
 * ```
 */
export async function startServer(options: ServeOptions = {}): Promise<MsdServer> {
  const settings = checkServeOptions(options);
  const log = options.onLog ?? (() => {});
  const queue = new RequestQueue(settings.maxQueue);
  let pipeline: MsdPipeline | undefined;
  let closing = false;
  const running = new Set<AbortController>();
  const metrics = new ServerMetrics({
    queueWaiting: () => queue.waiting,
    running: () => (queue.running ? 1 : 0),
    loaded: () => pipeline !== undefined && !closing,
  });
  const modelName = options.modelName ?? (options.modelDirectory ? basename(resolve(options.modelDirectory)) : 'tiny-llava');
  const created = Math.floor(Date.now() / 1000);
  const context: HandlerContext = {
    settings,
    queue,
    metrics,
    modelName,
    created,
    running,
    log,
    pipeline: () => pipeline,
    closing: () => closing,
  };
  const server = createServer((request, response) => {
    handle(request, response, context).catch((error: unknown) => {
      log(`internal error: ${String((error as Error)?.stack ?? error)}`);
      if (!response.headersSent) sendError(response, toHttpError(error));
      else response.destroy();
    });
  });
  // Generation is long; a request is received whole long before this.
  server.requestTimeout = 120_000;
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(settings.port, settings.host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log(`listening on ${url} (loading the model; /health answers 503 until it is ready)`);
  const ready = MsdPipeline.create({
    ...options.pipeline,
    ...(options.modelDirectory ? { modelDirectory: options.modelDirectory } : {}),
    device: options.device ?? 'cpu',
    ...(settings.threads ? { session: { ...options.pipeline?.session, intraOpNumThreads: settings.threads } } : {}),
    onProgress: (message) => log(message),
  }).then(async (loaded) => {
    if (closing) {
      await loaded.close();
      throw new MsdError({ code: 'server_closed', message: 'The server was closed while the model loaded.' });
    }
    pipeline = loaded;
    log(`ready: model ${modelName} on ${loaded.device}; POST ${url}/v1/chat/completions, page at ${url}/`);
  });
  ready.catch((error: unknown) => log(`loading failed: ${(error as Error).message}`));

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      server.close();
      server.closeIdleConnections();
      queue.rejectWaiting(new HttpError({ status: 503, code: 'shutting_down', message: 'The server is shutting down.' }));
      const deadline = Date.now() + settings.shutdownGraceSeconds * 1000;
      while (running.size && Date.now() < deadline) await new Promise((wait) => setTimeout(wait, 20));
      for (const controller of running) controller.abort(new AbortedError({ message: 'The server is shutting down.' }));
      while (running.size) await new Promise((wait) => setTimeout(wait, 10));
      await ready.catch(() => {});
      await pipeline?.close();
      server.closeAllConnections();
      log('closed');
    })();
    return closed;
  };
  return {
    url,
    ready,
    get pipeline() {
      return pipeline;
    },
    metrics,
    queue,
    close,
  };
}

interface ServeSettings {
  host: string;
  port: number;
  apiKey: string | undefined;
  threads: number | undefined;
  maxQueue: number;
  maxBodyBytes: number;
  allowImagesFrom: string | undefined;
  defaultMaxTokens: number;
  shutdownGraceSeconds: number;
}

function checkServeOptions(options: ServeOptions): ServeSettings {
  const integer = (name: string, value: number | undefined, fallback: number, minimum: number): number => {
    const chosen = value ?? fallback;
    if (!Number.isInteger(chosen) || chosen < minimum) {
      throw new InvalidArgumentError({ argument: name, message: `${name} must be an integer of at least ${minimum}, got ${String(value)}.` });
    }
    return chosen;
  };
  const port = integer('port', options.port, 8080, 0);
  if (port > 65535) throw new InvalidArgumentError({ argument: 'port', message: `port must be at most 65535, got ${port}.` });
  const maxBodyMb = options.maxBodyMb ?? 32;
  if (!(typeof maxBodyMb === 'number' && maxBodyMb > 0 && Number.isFinite(maxBodyMb))) {
    throw new InvalidArgumentError({ argument: 'maxBodyMb', message: `maxBodyMb must be a positive number, got ${String(options.maxBodyMb)}.` });
  }
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || !options.apiKey)) {
    throw new InvalidArgumentError({ argument: 'apiKey', message: 'apiKey must be a non-empty string.' });
  }
  const grace = options.shutdownGraceSeconds ?? 10;
  if (!(typeof grace === 'number' && grace >= 0 && Number.isFinite(grace))) {
    throw new InvalidArgumentError({ argument: 'shutdownGraceSeconds', message: `shutdownGraceSeconds must be a number of at least 0, got ${String(grace)}.` });
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    apiKey: options.apiKey,
    threads: options.threads === undefined ? undefined : integer('threads', options.threads, 0, 1),
    maxQueue: integer('maxQueue', options.maxQueue, 64, 0),
    maxBodyBytes: Math.floor(maxBodyMb * 1024 * 1024),
    allowImagesFrom: options.allowImagesFrom === undefined ? undefined : resolve(options.allowImagesFrom),
    defaultMaxTokens: integer('defaultMaxTokens', options.defaultMaxTokens, 256, 1),
    shutdownGraceSeconds: grace,
  };
}

/** What every handler reads. */
interface HandlerContext {
  settings: ServeSettings;
  queue: RequestQueue;
  metrics: ServerMetrics;
  modelName: string;
  created: number;
  running: Set<AbortController>;
  log: (line: string) => void;
  pipeline: () => MsdPipeline | undefined;
  closing: () => boolean;
}

async function handle(request: IncomingMessage, response: ServerResponse, context: HandlerContext): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const endpoint = path.startsWith('/v1/') || path === '/health' || path === '/metrics' ? path : PAGE_PATHS.has(path) ? 'page' : 'other';
  const started = performance.now();
  response.on('close', () => {
    const seconds = (performance.now() - started) / 1000;
    // A client that left before the answer ended is counted as nginx does: 499.
    const status = response.writableFinished ? response.statusCode : 499;
    context.metrics.requestFinished(endpoint, status, path === '/v1/chat/completions' ? seconds : undefined);
  });
  try {
    await route(request, response, path, context);
  } catch (error) {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) context.log(`${request.method} ${path} ${httpError.status}: ${String((error as Error)?.stack ?? error)}`);
    if (!response.headersSent) sendError(response, httpError);
    else response.destroy();
  }
}

async function route(request: IncomingMessage, response: ServerResponse, path: string, context: HandlerContext): Promise<void> {
  const method = request.method ?? 'GET';
  const allow = (...methods: string[]) => {
    if (!methods.includes(method)) {
      throw new HttpError({
        status: 405,
        code: 'method_not_allowed',
        message: `${method} ${path} is not supported; use ${methods.join(' or ')}.`,
        headers: { Allow: methods.join(', ') },
      });
    }
  };
  if (path === '/health') {
    allow('GET', 'HEAD');
    const ready = context.pipeline() !== undefined && !context.closing();
    sendJson(response, ready ? 200 : 503, { status: ready ? 'ok' : context.closing() ? 'shutting_down' : 'loading' });
    return;
  }
  if (path === '/metrics') {
    allow('GET');
    response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(context.metrics.render());
    return;
  }
  if (PAGE_PATHS.has(path)) {
    allow('GET', 'HEAD');
    await servePage(response, path === '/index.html' ? '/' : path);
    return;
  }
  if (path.startsWith('/v1/')) {
    checkApiKey(request, context.settings.apiKey);
    if (path === '/v1/models') {
      allow('GET');
      sendJson(response, 200, { object: 'list', data: [{ id: context.modelName, object: 'model', created: context.created, owned_by: 'msd' }] });
      return;
    }
    if (path === '/v1/chat/completions') {
      allow('POST');
      await chatCompletion(request, response, context);
      return;
    }
  }
  throw new HttpError({
    status: 404,
    code: 'not_found',
    message: `No route ${method} ${path}.`,
    hint: 'The API is POST /v1/chat/completions and GET /v1/models.',
  });
}

function checkApiKey(request: IncomingMessage, apiKey: string | undefined): void {
  if (apiKey === undefined) return;
  const header = request.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(apiKey);
  // Compared in constant time: the key is not guessable byte by byte from response times.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new HttpError({
      status: 401,
      code: 'invalid_api_key',
      message: header ? 'The API key is wrong.' : 'This server needs an API key.',
      hint: 'Send Authorization: Bearer <key> (the key msd serve was started with).',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
}

async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const tooLarge = () =>
    new HttpError({
      status: 413,
      code: 'body_too_large',
      message: `The request body is over ${maxBytes} bytes (${(maxBytes / 1024 / 1024).toFixed(1)} MiB).`,
      hint: 'Send smaller images, or start the server with a larger --max-body-mb.',
      headers: { Connection: 'close' },
    });
  const declared = Number(request.headers['content-length']);
  // Refused from the header, before a byte of the body is read.
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError({ status: 400, code: 'invalid_json', message: 'The request body is not valid JSON.' });
  }
}

async function chatCompletion(request: IncomingMessage, response: ServerResponse, context: HandlerContext): Promise<void> {
  const pipeline = context.pipeline();
  if (context.closing()) throw new HttpError({ status: 503, code: 'shutting_down', message: 'The server is shutting down.' });
  if (!pipeline) {
    throw new HttpError({
      status: 503,
      code: 'model_loading',
      message: 'The model is still loading.',
      hint: 'Retry when GET /health answers 200.',
      headers: { 'Retry-After': '2' },
    });
  }
  const body = await readJsonBody(request, context.settings.maxBodyBytes);
  const chat = await parseChatRequest(body, {
    maxImages: pipeline.limits.maxImages,
    maxImageBytes: pipeline.limits.maxImageBytes,
    defaultMaxTokens: context.settings.defaultMaxTokens,
    allowImagesFrom: context.settings.allowImagesFrom,
  });
  // Everything cheap is checked before the request takes a place in the queue.
  checkGenerateRequest(chat.generate, pipeline.limits);
  resolveGenerateOptions(chat.generate, pipeline.treeShape, pipeline.samplingTreeShape);

  const controller = new AbortController();
  const onClose = () => {
    if (!response.writableFinished) controller.abort(new AbortedError({ message: 'The client disconnected.' }));
  };
  response.on('close', onClose);
  const queued = performance.now();
  const release = await context.queue.enter(controller.signal).catch((error: unknown) => {
    response.off('close', onClose);
    throw error;
  });
  context.metrics.queued((performance.now() - queued) / 1000);
  context.running.add(controller);
  const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
  const writer: ChatCompletionWriter = { id, model: chat.model || context.modelName, created: Math.floor(Date.now() / 1000) };
  try {
    const result = chat.stream
      ? await streamCompletion(pipeline, chat, writer, response, controller.signal)
      : await jsonCompletion(pipeline, chat, writer, response, controller.signal);
    recordFigures(context, result, chat);
    const { stats } = result;
    context.log(
      `POST /v1/chat/completions 200 ${chat.stream ? 'stream ' : ''}${stats.tokens} tokens tau ${stats.tau.toFixed(2)} ${stats.decodeTokensPerSecond.toFixed(0)} tok/s ${(stats.timings.total / 1000).toFixed(2)} s`,
    );
  } catch (error) {
    if (controller.signal.aborted && AbortedError.isInstance(error) && !context.closing()) {
      context.metrics.cancelledByClient();
      context.log('POST /v1/chat/completions: client disconnected; generation cancelled');
      return;
    }
    throw error;
  } finally {
    context.running.delete(controller);
    response.off('close', onClose);
    release();
  }
}

function recordFigures(context: HandlerContext, result: GenerateResult, chat: ChatRequest): void {
  const { stats } = result;
  context.metrics.generation({
    promptTokens: stats.promptTokens,
    completionTokens: stats.tokens,
    draftedTokens: stats.draftedTokens,
    acceptedTokens: stats.acceptedTokens,
    steps: stats.steps,
    tau: stats.tau,
    speculative: chat.generate.speculative !== false && stats.draftedTokens > 0,
    timeToFirstTokenSeconds: stats.timeToFirstTokenMs / 1000,
  });
}

let pageAssets: Promise<Map<string, { body: Buffer; contentType: string }>> | undefined;

async function servePage(response: ServerResponse, path: string): Promise<void> {
  pageAssets ??= import('./page-assets').then((module) => module.loadPageAssets());
  const assets = await pageAssets.catch((error: unknown) => {
    pageAssets = undefined;
    throw error;
  });
  const asset = assets.get(path);
  if (!asset) throw new HttpError({ status: 404, code: 'not_found', message: `No page file ${path}.` });
  response
    .writeHead(200, {
      'Content-Type': asset.contentType,
      'Content-Length': asset.body.length,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'",
      'X-Content-Type-Options': 'nosniff',
    })
    .end(asset.body);
}
