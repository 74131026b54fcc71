import { join } from 'node:path';
import type { GraphSpec } from '@msd/core';
import { checkSignature, createSession, sessionSignature, type CreateSessionOptions, type InferenceSession } from '@msd/runtime';

/**
 * Opens one graph of a model directory and checks its real inputs and outputs against the manifest's
 * entry: how both runners open their sessions.
 *
 * @example
 * ```ts
 * import { openGraph } from '@msd/models';
 *
 * const decoder = await openGraph('model', manifest.graphs.decoder, { intraOpNumThreads: 2 });
 * ```
 */
export async function openGraph(directory: string, spec: GraphSpec, options: CreateSessionOptions = {}): Promise<InferenceSession> {
  const session = await createSession(join(directory, spec.file), options);
  try {
    checkSignature(sessionSignature(session), spec);
  } catch (error) {
    await session.release();
    throw error;
  }
  return session;
}
