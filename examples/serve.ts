/**
 * msd serve from code: start the OpenAI-compatible server on a free port, stream one chat completion
 * with an image through it (server-sent events, each delta with the sources of its tokens), then shut
 * the server down gracefully. It exits 1 if the streamed answer differs from the pipeline's own.
 *
 *   pnpm exec tsx --conditions=@msd/source examples/serve.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from 'msd/serve';

const image = `data:image/png;base64,${readFileSync(fileURLToPath(new URL('assets/scene.png', import.meta.url))).toString('base64')}`;
const question = 'Describe the image in detail.';

const server = await startServer({ port: 0, threads: 2, onLog: (line) => console.error(`[server] ${line}`) });
await server.ready;
const response = await fetch(`${server.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: image } },
          { type: 'text', text: question },
        ],
      },
    ],
    max_tokens: 160,
    stream: true,
    stream_options: { include_usage: true },
  }),
});

// Server-sent events: `data: {json}` lines separated by blank lines, then `data: [DONE]`.
let text = '';
let fromDraft = 0;
let buffered = '';
const decoder = new TextDecoder();
for await (const bytes of response.body!) {
  buffered += decoder.decode(bytes, { stream: true });
  const events = buffered.split('\n\n');
  buffered = events.pop()!;
  for (const event of events) {
    const data = event.replace(/^data: /, '');
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data);
    const delta = chunk.choices[0]?.delta.content ?? '';
    text += delta;
    fromDraft += (chunk.msd?.sources ?? []).filter((source: string) => source === 'draft').length;
    if (chunk.usage) console.log(`\nusage ${JSON.stringify(chunk.usage)}, tau ${chunk.msd.tau}, ${fromDraft} tokens accepted from the draft`);
    else process.stdout.write(delta);
  }
}

const direct = await server.pipeline!.generate({ prompt: question, images: [fileURLToPath(new URL('assets/scene.png', import.meta.url))], maxNewTokens: 160 });
await server.close();
if (direct.text !== text) {
  console.error("The served answer differs from the pipeline's own.");
  process.exit(1);
}
