import type { ServerResponse } from 'node:http';
import type { GeneratedToken } from '../generate-options';
import type { GenerateResult } from '../generation-stream';
import type { MsdPipeline } from '../pipeline';
import type { ChatRequest } from './chat-request';
import { toHttpError } from './http-error';
import { sendJson } from './http-response';

/** The fields every response of one completion shares. */
export interface ChatCompletionWriter {
  /** `chatcmpl-...`. */
  id: string;
  /** The model name echoed back. */
  model: string;
  /** Unix seconds. */
  created: number;
}

/** OpenAI's finish reasons for msd's: EOS and stop strings are both `stop`. */
function finishReason(result: GenerateResult): 'stop' | 'length' {
  return result.finishReason === 'length' ? 'length' : 'stop';
}

function usage(result: GenerateResult): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const { promptTokens, tokens } = result.stats;
  return { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens };
}

/** msd's own figures, in the extra `msd` field of a response. */
function msdFigures(result: GenerateResult, speculative: boolean) {
  const { stats } = result;
  return {
    speculative,
    tau: round(stats.tau),
    steps: stats.steps,
    drafted_tokens: stats.draftedTokens,
    accepted_tokens: stats.acceptedTokens,
    decode_tokens_per_second: round(stats.decodeTokensPerSecond),
    tokens_per_second: round(stats.tokensPerSecond),
    time_to_first_token_ms: round(stats.timeToFirstTokenMs),
    total_ms: round(stats.timings.total),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Generates the whole answer and sends one `chat.completion` object.
 *
 * @example
 * ```ts
 * const result = await jsonCompletion(pipeline, chat, { id: 'chatcmpl-1', model: 'tiny-llava', created: 0 }, response, signal);
 * ```
 */
export async function jsonCompletion(
  pipeline: MsdPipeline,
  chat: ChatRequest,
  writer: ChatCompletionWriter,
  response: ServerResponse,
  signal: AbortSignal,
): Promise<GenerateResult> {
  const result = await pipeline.generate({ ...chat.generate, signal });
  sendJson(response, 200, {
    id: writer.id,
    object: 'chat.completion',
    created: writer.created,
    model: writer.model,
    system_fingerprint: null,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: finishReason(result) }],
    usage: usage(result),
    msd: msdFigures(result, chat.generate.speculative !== false),
  });
  return result;
}

/**
 * Streams the answer as server-sent events of `chat.completion.chunk` objects, each delta with the
 * sources of the tokens it came from (`msd.sources`), then the finish reason, the usage chunk when
 * asked (`stream_options.include_usage`) and `[DONE]`. Headers go out with the first delta, so an
 * error before it (a bad image) still gets its own status.
 *
 * Slow readers: chunks are written without waiting for the client to drain them (Node buffers a
 * few kilobytes per answer), so one slow client never holds the pipeline that others wait for.
 *
 * @example
 * ```ts
 * const result = await streamCompletion(pipeline, chat, { id: 'chatcmpl-1', model: 'tiny-llava', created: 0 }, response, signal);
 * ```
 */
export async function streamCompletion(
  pipeline: MsdPipeline,
  chat: ChatRequest,
  writer: ChatCompletionWriter,
  response: ServerResponse,
  signal: AbortSignal,
): Promise<GenerateResult> {
  let sources: Array<GeneratedToken['source']> = [];
  const stream = pipeline.stream({ ...chat.generate, signal, onToken: (token) => sources.push(token.source) });
  const usageField = chat.includeUsage ? { usage: null } : {};
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id: writer.id,
    object: 'chat.completion.chunk',
    created: writer.created,
    model: writer.model,
    system_fingerprint: null,
    choices,
    ...usageField,
    ...extra,
  });
  const send = (body: unknown) => {
    if (!response.headersSent) {
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        Connection: 'keep-alive',
        // Reverse proxies (nginx) would otherwise hold the events back.
        'X-Accel-Buffering': 'no',
      });
      response.write(`data: ${JSON.stringify(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]))}\n\n`);
    }
    response.write(typeof body === 'string' ? body : `data: ${JSON.stringify(body)}\n\n`);
  };
  try {
    for await (const delta of stream) {
      send(chunk([{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }], { msd: { sources } }));
      sources = [];
    }
  } catch (error) {
    // Before the first delta the caller answers with the error's own status; after it, the stream
    // carries the error as its last event.
    if (!response.headersSent || signal.aborted) throw error;
    const { error: body } = toHttpError(error).toJSON();
    response.end(`data: ${JSON.stringify({ error: body })}\n\n`);
    throw error;
  }
  const result = await stream.result;
  send(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(result) }]));
  if (chat.includeUsage) send({ ...chunk([]), usage: usage(result), msd: msdFigures(result, chat.generate.speculative !== false) });
  send('data: [DONE]\n\n');
  response.end();
  return result;
}
