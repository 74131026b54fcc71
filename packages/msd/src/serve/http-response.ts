import type { ServerResponse } from 'node:http';
import type { HttpError } from './http-error';

/** Sends a JSON body with its length. */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
}

/** Sends OpenAI's error JSON with the error's status and headers. */
export function sendError(response: ServerResponse, error: HttpError): void {
  sendJson(response, error.status, error.toJSON(), error.headers);
  // A refused body is not read to its end: the connection closes once the answer is out.
  if (error.headers.Connection === 'close') response.on('finish', () => response.socket?.destroy());
}
