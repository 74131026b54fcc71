// The page `msd serve` serves at `/`: ask the model about an image and watch which tokens the draft got
// right. Plain DOM and fetch, one module, so the server can ship it under a strict Content-Security-Policy.

type TokenSource = 'draft' | 'target';
type PageState = 'idle' | 'streaming' | 'done' | 'error';

/** OpenAI's error body, sent with non-2xx responses and as an event when a stream fails. */
interface ApiError {
  message?: string;
  type?: string;
  code?: string | null;
}

/** The server's figures for a finished request, on the last chunk (`stream_options.include_usage`). */
interface ServerFigures {
  tau: number;
  steps: number;
  drafted_tokens: number;
  accepted_tokens: number;
  decode_tokens_per_second: number;
  tokens_per_second: number;
  time_to_first_token_ms: number;
  speculative: boolean;
}

interface ChatChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  msd?: { sources?: TokenSource[] } & Partial<ServerFigures>;
  error?: ApiError;
}

/** A failure to show as it is, without a stack or an exception name; `status` when the server answered one. */
class PageError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const API_KEY_STORAGE = 'msd.apiKey';

function element<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`index.html has no ${type.name} #${id}`);
  return found;
}

const form = element('ask-form', HTMLFormElement);
const imageInput = element('image-input', HTMLInputElement);
const dropZone = element('drop-zone', HTMLLabelElement);
const preview = element('preview', HTMLImageElement);
const clearImage = element('clear-image', HTMLButtonElement);
const question = element('question', HTMLTextAreaElement);
const maxTokens = element('max-tokens', HTMLInputElement);
const speculative = element('speculative', HTMLInputElement);
const apiKey = element('api-key', HTMLInputElement);
const apiKeyDetails = element('api-key-details', HTMLDetailsElement);
const askButton = element('ask', HTMLButtonElement);
const stopButton = element('stop', HTMLButtonElement);
const answer = element('answer', HTMLElement);
const stats = element('stats', HTMLElement);
const errorBox = element('error', HTMLElement);
const modelLine = element('model', HTMLElement);

// Reading a file is asynchronous: a request waits for the image chosen last instead of racing it.
let image: Promise<string | null> = Promise.resolve(null);
let running: AbortController | null = null;
let model: string | null = null;

function setState(state: PageState): void {
  document.body.dataset.state = state;
  const streaming = state === 'streaming';
  askButton.disabled = streaming;
  stopButton.disabled = !streaming;
  answer.setAttribute('aria-busy', String(streaming));
}

function showError(message: string): void {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function clearError(): void {
  errorBox.textContent = '';
  errorBox.hidden = true;
}

function showStats(figures: [label: string, value: string][]): void {
  stats.replaceChildren(
    ...figures.map(([label, value]) => {
      const pair = document.createElement('div');
      const term = document.createElement('dt');
      term.textContent = label;
      const detail = document.createElement('dd');
      detail.textContent = value;
      pair.append(term, detail);
      return pair;
    }),
  );
}

function authHeaders(): Record<string, string> {
  const key = apiKey.value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function apiErrorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: ApiError };
    if (body.error?.message) return describeApiError(body.error);
  } catch {
    // Not JSON (a proxy's page, say): the status line below says enough.
  }
  return `The server answered ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 300)}` : ''}`;
}

function describeApiError(error: ApiError): string {
  return error.code ? `${error.message} (${error.code})` : (error.message ?? 'Unknown error');
}

async function modelId(signal?: AbortSignal): Promise<string> {
  if (model) return model;
  const response = await fetch('/v1/models', { headers: authHeaders(), signal: signal ?? null });
  if (!response.ok) throw new PageError(await apiErrorMessage(response), response.status);
  const list = (await response.json()) as { data?: { id?: string }[] };
  const id = list.data?.[0]?.id;
  if (!id) throw new PageError('The server lists no model (GET /v1/models).');
  model = id;
  modelLine.textContent = `Model: ${id}`;
  modelLine.hidden = false;
  return id;
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(new PageError(`Could not read ${file.name}.`));
    reader.readAsDataURL(file);
  });
}

function useImage(file: File | undefined): void {
  if (!file) return;
  if (!file.type.startsWith('image/')) {
    showError(`${file.name || 'That file'} is not an image.`);
    return;
  }
  clearError();
  const reading = readAsDataUrl(file);
  image = reading;
  reading.then(
    (url) => {
      if (image !== reading) return;
      preview.src = url;
      preview.alt = `The chosen image: ${file.name || 'pasted image'}`;
      preview.hidden = false;
      dropZone.classList.add('has-image');
      clearImage.hidden = false;
    },
    (error: unknown) => showError(messageOf(error)),
  );
}

function forgetImage(): void {
  image = Promise.resolve(null);
  imageInput.value = '';
  preview.removeAttribute('src');
  preview.alt = '';
  preview.hidden = true;
  dropZone.classList.remove('has-image');
  clearImage.hidden = true;
}

function askForKeyOn(error: unknown): void {
  if (error instanceof PageError && error.status === 401) apiKeyDetails.open = true;
}

function messageOf(error: unknown): string {
  if (error instanceof PageError) return error.message;
  // fetch rejects with a TypeError when the server cannot be reached at all.
  if (error instanceof TypeError) return `Could not reach the server: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `data:` payloads of a server-sent event stream, one string per event. A network chunk may end
 * anywhere, mid-line or mid-character, so events are cut only at their blank-line ends.
 */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      ended = done;
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A CR at the very end may be the first half of a CRLF that the next chunk completes.
      const held = !done && buffer.endsWith('\r') ? '\r' : '';
      const blocks = (held ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, '\n').split('\n\n');
      buffer = done ? '' : `${blocks.pop() ?? ''}${held}`;
      for (const block of blocks) {
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
        if (data.length > 0) yield data.join('\n');
      }
      if (done) return;
    }
  } finally {
    // The consumer stopped early ([DONE], an error event): read on to the end, which the server reaches
    // at once, because cancelling a response mid-way makes the browser report the request as failed.
    // A server that keeps the stream open afterwards is cut off.
    if (!ended) {
      const cutOff = setTimeout(() => reader.cancel().catch(() => {}), 2000);
      try {
        while (!(await reader.read()).done);
      } catch {
        // Aborted (Stop) or cut off: nothing more to read either way.
      } finally {
        clearTimeout(cutOff);
      }
    }
  }
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

async function ask(): Promise<void> {
  if (running) return;
  const run = new AbortController();
  running = run;
  answer.replaceChildren();
  clearError();
  stats.replaceChildren();
  setState('streaming');

  let tokens = 0;
  let targetTokens = 0;
  let firstTokenAt = 0;
  let tokensAtFirst = 0;
  let finishReason: string | null = null;
  let finished = false;
  const liveFigures = (): [string, string][] => {
    const seconds = (performance.now() - firstTokenAt) / 1000;
    const rate = tokens > tokensAtFirst && seconds > 0 ? (tokens - tokensAtFirst) / seconds : Number.NaN;
    return [
      ['tokens', String(tokens)],
      // Every target step ends with exactly one token of the target's own, so this is tokens per step.
      ['tau', targetTokens > 0 ? fixed(tokens / targetTokens, 2) : '-'],
      ['tokens/s', fixed(rate, 1)],
    ];
  };

  try {
    const [id, imageUrl] = await Promise.all([modelId(run.signal), image]);
    const text = question.value;
    const content = imageUrl
      ? [
          { type: 'image_url', image_url: { url: imageUrl } },
          { type: 'text', text },
        ]
      : [{ type: 'text', text }];
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...authHeaders() },
      body: JSON.stringify({
        model: id,
        messages: [{ role: 'user', content }],
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: maxTokens.valueAsNumber,
        temperature: 0,
        // msd's extension: off makes the target produce every token, for comparison.
        speculative: speculative.checked,
      }),
      signal: run.signal,
    });
    if (!response.ok) throw new PageError(await apiErrorMessage(response), response.status);
    if (!response.body) throw new PageError('The server sent no stream.');

    for await (const data of serverSentEvents(response.body)) {
      if (data === '[DONE]') {
        finished = true;
        break;
      }
      const chunk = JSON.parse(data) as ChatChunk;
      if (chunk.error) throw new PageError(describeApiError(chunk.error));
      const choice = chunk.choices?.[0];
      const delta = choice?.delta?.content;
      if (delta) {
        // A server without msd's extension sends no sources: count each delta as one target token.
        const sources = chunk.msd?.sources ?? [];
        const fromDraft = sources.length > 0 && sources.every((source) => source === 'draft');
        const span = document.createElement('span');
        span.className = `token ${fromDraft ? 'draft' : 'target'}`;
        span.textContent = delta;
        if (sources.length > 0) span.title = sources.join(', ');
        answer.append(span);
        if (tokens === 0) {
          firstTokenAt = performance.now();
          tokensAtFirst = Math.max(sources.length, 1);
        }
        tokens += Math.max(sources.length, 1);
        targetTokens += sources.length > 0 ? sources.filter((source) => source === 'target').length : 1;
        showStats(liveFigures());
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) showStats(finalFigures(chunk.usage.completion_tokens, chunk.usage.prompt_tokens, chunk.msd, finishReason));
    }
    if (!finished) throw new PageError('The stream ended before the answer was complete.');
    setState('done');
  } catch (error) {
    if (run.signal.aborted) {
      showStats([...liveFigures(), ['finish', 'stopped']]);
      setState('done');
    } else {
      showError(messageOf(error));
      askForKeyOn(error);
      setState('error');
    }
  } finally {
    running = null;
  }
}

function finalFigures(completion: number, prompt: number, figures: Partial<ServerFigures> | undefined, finishReason: string | null): [string, string][] {
  const result: [string, string][] = [
    ['tokens', String(completion)],
    ['prompt tokens', String(prompt)],
  ];
  if (figures) {
    const { tau, drafted_tokens: drafted, accepted_tokens: accepted } = figures;
    if (tau !== undefined) result.push(['tau', fixed(tau, 2)]);
    if (drafted !== undefined && accepted !== undefined) {
      result.push(['accepted / drafted', drafted > 0 ? `${accepted} / ${drafted} (${Math.round((100 * accepted) / drafted)}%)` : 'no drafts']);
    }
    if (figures.decode_tokens_per_second !== undefined) result.push(['decode tokens/s', fixed(figures.decode_tokens_per_second, 1)]);
    if (figures.time_to_first_token_ms !== undefined) result.push(['first token', `${Math.round(figures.time_to_first_token_ms)} ms`]);
  }
  if (finishReason) result.push(['finish', finishReason === 'length' ? 'max tokens reached' : finishReason]);
  return result;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void ask();
});
stopButton.addEventListener('click', () => running?.abort());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && running) running.abort();
});
question.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit();
  }
});

imageInput.addEventListener('change', () => useImage(imageInput.files?.[0]));
clearImage.addEventListener('click', forgetImage);
dropZone.addEventListener('dragover', (event) => {
  event.preventDefault();
  dropZone.classList.add('dragging');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropZone.classList.remove('dragging');
  useImage(event.dataTransfer?.files[0]);
});
// A file dropped beside the zone would otherwise replace the page with the file.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());
document.addEventListener('paste', (event) => {
  const file = [...(event.clipboardData?.files ?? [])].find((candidate) => candidate.type.startsWith('image/'));
  if (file) useImage(file);
});

apiKey.value = localStorage.getItem(API_KEY_STORAGE) ?? '';
apiKey.addEventListener('change', () => {
  const key = apiKey.value.trim();
  if (key) localStorage.setItem(API_KEY_STORAGE, key);
  else localStorage.removeItem(API_KEY_STORAGE);
  model = null;
  void modelId().catch(askForKeyOn);
});

setState('idle');
// Names the model early. A server started with --api-key answers 401 until the key is given: that opens
// the key field rather than showing an error before anything was asked.
void modelId().catch(askForKeyOn);
