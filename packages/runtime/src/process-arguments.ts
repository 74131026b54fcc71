import { MsdError } from '@msd/core';

/**
 * The longest process argument (in UTF-8 bytes) with which onnxruntime-node can open a session:
 * onnxruntime-node 1.30 crashes the process (SIGSEGV, no message) in `InferenceSession.create` when any
 * element of the process's argv is about 28,920 bytes or longer (measured here: 28,900 works, 28,950
 * crashes). The limit keeps a margin below that.
 */
export const MAX_PROCESS_ARGUMENT_BYTES = 24_576;

/**
 * Throws a typed error, instead of letting onnxruntime-node crash the process, when an argument of
 * this process is long enough to crash it. Called before every session opens.
 *
 * @example
 * ```ts
 * import { checkProcessArguments } from '@msd/runtime';
 *
 * checkProcessArguments(); // throws process_argument_too_long when the process was started with a 30 kB argument
 * ```
 */
export function checkProcessArguments(argv: readonly string[] = [...process.execArgv, ...process.argv]): void {
  for (const [index, argument] of argv.entries()) {
    const bytes = Buffer.byteLength(argument, 'utf8');
    if (bytes > MAX_PROCESS_ARGUMENT_BYTES) {
      throw new MsdError({
        code: 'process_argument_too_long',
        message: `Argument ${index} of this process is ${bytes} bytes; onnxruntime-node crashes the process when an argument is about 28,920 bytes or longer, so no session is opened.`,
        hint: 'Pass long text through a file or standard input (e.g. `msd generate --prompt-file PATH`), not as a command-line argument.',
      });
    }
  }
}
