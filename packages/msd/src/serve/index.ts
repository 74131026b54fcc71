/**
 * `msd serve` as a library: an OpenAI-compatible HTTP server (Chat Completions with images, server-sent
 * events, `/v1/models`, `/health`, Prometheus `/metrics`) and the web page it serves, on Node's own
 * `http` module. Loaded only by `msd serve` or an import of `msd/serve`.
 *
 * @module msd/serve
 */
export { startServer } from './server';
export type { MsdServer, ServeOptions } from './server';
export { parseChatRequest } from './chat-request';
export type { ChatRequest, ChatRequestLimits } from './chat-request';
export { HttpError, toHttpError } from './http-error';
export type { OpenAiErrorType } from './http-error';
export { RequestQueue } from './request-queue';
export { ServerMetrics } from './metrics';
export type { GenerationFigures } from './metrics';
