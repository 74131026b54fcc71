/** The `msd` command line's help: one overview and one page per command, with every default. */

/** Commands of the `msd` CLI. */
export const CLI_COMMANDS = ['generate', 'serve', 'bench', 'tune', 'prepare'] as const;

/** A command of the `msd` CLI. */
export type CliCommand = (typeof CLI_COMMANDS)[number];

/** `msd --help`. */
export const OVERVIEW_HELP = `msd — multimodal speculative decoding for vision-language models

Usage: msd <command> [options]

Commands:
  generate   stream a model's answer to a prompt and images, decoded with MSD
  serve      an OpenAI-compatible HTTP server (chat completions with images) and a web page
  bench      time msd against autoregressive decoding (and transformers.js) side by side
  tune       measure this machine and choose the draft tree's shape
  prepare    show what a model receives for a prompt and images (ids, image positions, pixels)

Options:
  -h, --help      show this help; \`msd <command> --help\` shows a command's options and defaults
  -v, --version   print msd's version

The answer goes to standard output; progress, statistics and errors go to standard error.
Exit codes: 0 success, 1 failure while running, 2 bad usage (unknown option, bad value, missing
or unreadable file: checked before any model loads), 130 interrupted (Ctrl-C).
`;

/** Help pages by command. */
export const COMMAND_HELP: Record<CliCommand, string> = {
  generate: `Usage: msd generate (--prompt TEXT | --prompt-file PATH|-) [--image PATH]... [options]

Stream the answer of a vision-language model, decoded with multimodal speculative decoding.
The answer goes to standard output; statistics (tau, tokens per second, where the time went) to
standard error after it. --json prints the whole result (text, token ids, statistics) instead.

Input:
  --prompt TEXT          the question or instruction
  --prompt-file PATH|-   read the prompt from a file, or standard input with -; arguments over 24 KiB are refused
  --image PATH           an image (PNG, JPEG, WebP, GIF, TIFF, AVIF); repeat for several, in order

Model and device:
  --model DIR            an msd model directory (default: the bundled tiny LLaVA, @msd/tiny-llava)
  --device LIST          execution providers in order of preference, comma-separated (default: cpu),
                         e.g. webgpu,cpu falls back to the CPU when no usable GPU adapter is found
  --threads N            onnxruntime intra-op threads (default: onnxruntime's choice, one per core)
  --draft NAME           the model's draft to use (default: the manifest's default draft)
  --resampler NAME       image resizing: pil (default, identical to Hugging Face), auto or sharp (faster, libvips)

Decoding:
  --max-new-tokens N     most tokens to generate (default: 64)
  --temperature T        0 decodes greedily (default: 0); above 0 samples
  --top-p P              nucleus sampling threshold in (0, 1] (default: 1, off)
  --top-k K              sample among the K most likely tokens (default: 0, off)
  --seed N               seed of the sampler (default: 0)
  --no-speculative       decode with the target alone (the autoregressive baseline)
  --no-adaptive          draft at every step instead of falling back when drafting does not pay
  --json                 print the result as JSON on standard output

Example:
  msd generate --image photo.png --prompt "Describe the image in detail." --max-new-tokens 128
`,
  serve: `Usage: msd serve [--model DIR] [--host HOST] [--port N] [options]

Serve the model over HTTP with OpenAI's Chat Completions API (text and image_url parts, streaming
with server-sent events), and a web page at / that shows speculation at work. Requests are decoded
one at a time, in order of arrival. Logs go to standard error. SIGTERM (or Ctrl-C) lets the running
request finish, refuses waiting ones with 503 and exits. Details: docs/serve.md.

Endpoints:
  POST /v1/chat/completions   GET /v1/models   GET /health (200 once loaded)   GET /metrics (Prometheus)   GET /

Options:
  --model DIR              an msd model directory (default: the bundled tiny LLaVA)
  --host HOST              interface to listen on (default: 127.0.0.1, this machine only)
  --port N                 port (default: 8080; 0 picks a free one, printed on standard error)
  --api-key KEY            require Authorization: Bearer KEY on /v1/* (default: $MSD_API_KEY, else none)
  --device LIST            execution providers in order of preference (default: cpu)
  --threads N              onnxruntime intra-op threads (default: onnxruntime's choice)
  --max-queue N            requests that may wait while one decodes; more get 429 (default: 64)
  --max-body-mb N          largest request body in MiB; larger get 413 (default: 32)
  --max-tokens N           max_tokens of a request that gives none (default: 256)
  --allow-images-from DIR  let image_url be a file: URL inside DIR (default: only data: URLs)
  --draft NAME             the model's draft to use (default: the manifest's default draft)

Example:
  msd serve --port 8080 --threads 2
  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'
`,
  bench: `Usage: msd bench [--set NAME]... [--prompts FILE]... [options]

Time msd's autoregressive loop, msd with each draft (and the tuned tree) and, with
--transformers-js, transformers.js side by side on the same prompts, interleaved, and write a report.

Prompts:
  --set NAME             multimodal, two-image, text-only, detailed or all (default: all); the
                         held-out prompts shipped with @msd/tiny-llava (install it beside msd)
  --prompts FILE         a JSON-lines prompt file instead ({"question", "images": [...]} per line)
  --limit N              first N prompts of each set (default: all)

Runs:
  --rounds R             timed repetitions of each prompt (default: 3)
  --max-new-tokens N     most tokens per answer (default: 200)
  --temperature T        repeat for several (default: 0 and 1)
  --drafts a,b           drafts to compare (default: every draft in the manifest)
  --tuned                also run the tree shape \`msd tune\` chose for this machine
  --depth D --branching K --total-tokens N --min-confidence P   a tree shape to use
  --transformers-js DIR  also time transformers.js on this model directory (its LLaVA layout)

Model and output:
  --model DIR            an msd model directory (default: the bundled tiny LLaVA)
  --device NAME          execution provider (default: cpu)
  --threads N            intra-op threads per session (default: 2)
  --draft-threads N      intra-op threads of the draft's session (default: as --threads)
  --out DIR              write report.md, results.json and charts here
  --json                 print the results as JSON on standard output
`,
  tune: `Usage: msd tune [--set NAME]... [--prompts FILE]... [options]

Measure verification and draft costs on this machine and choose the draft tree's shape with the
best predicted speed. The choice is cached; \`msd bench --tuned\` and \`tree: 'tuned'\` use it.

Options:
  --set NAME             prompt set to tune on (default: all; see msd bench --help)
  --prompts FILE         a JSON-lines prompt file instead
  --limit N              first N prompts of each set (default: 4)
  --quick                fewer candidate shapes and repetitions
  --repeat N             timed repetitions per measurement
  --draft NAME           the draft to tune for (default: the manifest's default)
  --model DIR            an msd model directory (default: the bundled tiny LLaVA)
  --device NAME          execution provider (default: cpu)
  --threads N            intra-op threads (default: onnxruntime's choice)
  --max-new-tokens N     most tokens per answer while measuring (default: 48)
  --json                 print the choice as JSON on standard output
`,
  prepare: `Usage: msd prepare --prompt TEXT [--image PATH]... [--model DIR] [options]

Build the prompt with the model's chat template, expand and tag the image positions, preprocess
the images, and print what the model would receive. Loads no inference runtime.

Options:
  --prompt TEXT          the question or instruction
  --image PATH           an image; repeat for several, in order
  --model DIR            an msd model directory: its tokenizer, image processor and image positions
                         per image (default: the bundled tiny LLaVA)
  --tokenizer DIR        a tokenizer directory instead of the model's (tokenizer.json, tokenizer_config.json)
  --preprocessor PATH    a preprocessor_config.json instead of the model's
  --image-tokens N       image positions per image instead of the model's
  --json                 print the summary as JSON on standard output
`,
};
