// The browser example: msd's pipeline on onnxruntime-web, in the page itself. It loads the bundled
// tiny LLaVA from /model/ (kept in the Cache API), takes an image and a question, and streams the
// answer with the tokens the draft got right highlighted.
//
// Query parameters: ?device=wasm|webgpu (or a list, `webgpu,wasm`, the default), ?software=1 (use a
// software WebGPU adapter such as SwiftShader), ?threads=N (WASM threads; needs cross-origin isolation),
// ?cache=0 (fetch the model every time), ?warmup=0 (skip the warm-up generation).

import { BrowserPipeline } from 'msd';

type CreateOptions = NonNullable<Parameters<typeof BrowserPipeline.create>[0]>;
type GenerateOptions = Parameters<BrowserPipeline['generate']>[0];
type GenerateResult = Awaited<ReturnType<BrowserPipeline['generate']>>;
type DeviceName = 'wasm' | 'webgpu';
type TokenSource = 'draft' | 'target';
type PageState = 'loading' | 'ready' | 'streaming' | 'done' | 'error';

/** Options of `window.msdTest.run`: `generate()`'s, with images given as URLs the page fetches. */
export type TestRunOptions = Omit<GenerateOptions, 'images' | 'signal' | 'onToken'> & { images?: string[] };

/** What `window.msdTest.run` returns: plain data, so a test driver can read it across the page boundary. */
export interface TestRunResult {
  text: string;
  tokenIds: number[];
  finishReason: GenerateResult['finishReason'];
  stats: GenerateResult['stats'];
}

/** The hook the browser tests drive the pipeline through. */
export interface MsdTestHook {
  pipeline: BrowserPipeline;
  run(options: TestRunOptions): Promise<TestRunResult>;
}

declare global {
  interface Window {
    msdTest?: MsdTestHook;
  }
}

function element<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`index.html has no ${type.name} #${id}`);
  return found;
}

const form = element('ask-form', HTMLFormElement);
const imageInput = element('image-input', HTMLInputElement);
const dropZone = element('drop-zone', HTMLLabelElement);
const preview = element('preview', HTMLImageElement);
const useExample = element('use-example', HTMLButtonElement);
const clearImage = element('clear-image', HTMLButtonElement);
const question = element('question', HTMLTextAreaElement);
const maxTokens = element('max-tokens', HTMLInputElement);
const speculative = element('speculative', HTMLInputElement);
const askButton = element('ask', HTMLButtonElement);
const stopButton = element('stop', HTMLButtonElement);
const answer = element('answer', HTMLElement);
const stats = element('stats', HTMLElement);
const errorBox = element('error', HTMLElement);
const deviceLine = element('device', HTMLElement);
const loadProgress = element('load-progress', HTMLProgressElement);
const loadStatus = element('load-status', HTMLElement);

const EXAMPLE_IMAGE_URL = '/examples/scene.png';

let pipeline: BrowserPipeline | undefined;
// Reading a file is asynchronous: a request waits for the image chosen last instead of racing it.
let image: Promise<Uint8Array | null> = Promise.resolve(null);
let previewUrl: string | undefined;
let running: AbortController | null = null;

function setState(state: PageState): void {
  document.body.dataset.state = state;
  const streaming = state === 'streaming';
  askButton.disabled = streaming || state === 'loading' || (state === 'error' && !pipeline);
  stopButton.disabled = !streaming;
  answer.setAttribute('aria-busy', String(streaming));
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // msd's errors carry a hint on what to do about them.
  const hint = (error as { hint?: unknown }).hint;
  return typeof hint === 'string' && hint ? `${error.message}\n${hint}` : error.message;
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

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Bytes received and expected of each model file, for the progress bar. */
const downloads = new Map<string, { loaded: number; total: number }>();

/** The pipeline's settings from the page's query string. */
function createOptions(): CreateOptions {
  const query = new URLSearchParams(location.search);
  const devices = (query.get('device') ?? 'webgpu,wasm')
    .split(',')
    .map((device) => device.trim())
    .filter((device): device is DeviceName => device === 'wasm' || device === 'webgpu');
  const threads = Number(query.get('threads'));
  return {
    modelUrl: new URL('/model/', location.href).href,
    device: devices.length === 1 ? devices[0]! : devices.length > 1 ? devices : ['webgpu', 'wasm'],
    allowSoftwareAdapter: query.get('software') === '1',
    wasmPaths: new URL('/ort/', location.href).href,
    // Several WASM threads need SharedArrayBuffer, which only a cross-origin isolated page has.
    ...(Number.isInteger(threads) && threads > 0 ? { threads } : crossOriginIsolated ? { threads: Math.min(4, navigator.hardwareConcurrency || 1) } : {}),
    cache: query.get('cache') !== '0',
    warmUp: query.get('warmup') !== '0',
    onProgress: (event) => {
      if (event.file !== undefined && event.loadedBytes !== undefined) {
        downloads.set(event.file, { loaded: event.loadedBytes, total: event.totalBytes ?? event.loadedBytes });
        let loaded = 0;
        let total = 0;
        for (const file of downloads.values()) {
          loaded += file.loaded;
          total += file.total;
        }
        loadProgress.max = Math.max(total, 1);
        loadProgress.value = loaded;
        loadStatus.textContent = `${event.message} (${megabytes(loaded)} of ${megabytes(total)} received)`;
      } else {
        loadStatus.textContent = event.message;
      }
    },
  };
}

async function fetchBytes(url: string, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url, signal ? { signal } : {});
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

function showPreview(blob: Blob, name: string): void {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(blob);
  preview.src = previewUrl;
  preview.alt = `The chosen image: ${name}`;
  preview.hidden = false;
  dropZone.classList.add('has-image');
  clearImage.hidden = false;
}

function useImage(file: File | undefined): void {
  if (!file) return;
  if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
    showError(`${file.name || 'That file'} is not a PNG, JPEG, GIF or WebP image.`);
    return;
  }
  clearError();
  const reading = file.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  image = reading;
  reading.then(
    () => {
      if (image === reading) showPreview(file, file.name || 'pasted image');
    },
    (error: unknown) => showError(`Could not read ${file.name}: ${messageOf(error)}`),
  );
}

function useExampleImage(): void {
  clearError();
  const reading = fetchBytes(EXAMPLE_IMAGE_URL);
  image = reading;
  reading.then(
    (bytes) => {
      if (image === reading) showPreview(new Blob([bytes], { type: 'image/png' }), 'scene.png (the example image)');
    },
    (error: unknown) => showError(messageOf(error)),
  );
}

function forgetImage(): void {
  image = Promise.resolve(null);
  imageInput.value = '';
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = undefined;
  preview.removeAttribute('src');
  preview.alt = '';
  preview.hidden = true;
  dropZone.classList.remove('has-image');
  clearImage.hidden = true;
}

function finalFigures(result: GenerateResult, speculating: boolean): [string, string][] {
  const { stats: figures } = result;
  const figuresShown: [string, string][] = [
    ['tokens', String(figures.tokens)],
    ['tau', fixed(figures.tau, 2)],
  ];
  if (speculating) {
    const { draftedTokens: drafted, acceptedTokens: accepted } = figures;
    figuresShown.push(['accepted / drafted', drafted > 0 ? `${accepted} / ${drafted} (${Math.round((100 * accepted) / drafted)}%)` : 'no drafts']);
  }
  figuresShown.push(
    ['decode tokens/s', fixed(figures.decodeTokensPerSecond, 1)],
    ['tokens/s', fixed(figures.tokensPerSecond, 1)],
    ['first token', `${Math.round(figures.timeToFirstTokenMs)} ms`],
    ['finish', result.finishReason === 'length' ? 'max tokens reached' : result.finishReason],
  );
  return figuresShown;
}

async function ask(): Promise<void> {
  if (running || !pipeline) return;
  const run = new AbortController();
  running = run;
  answer.replaceChildren();
  clearError();
  stats.replaceChildren();
  setState('streaming');

  // Sources of the tokens whose text has not been shown yet (a token can end inside a character).
  let pending: TokenSource[] = [];
  let tokens = 0;
  let targetTokens = 0;
  let firstTokenAt = 0;
  const speculating = speculative.checked;
  const liveFigures = (): [string, string][] => {
    const seconds = (performance.now() - firstTokenAt) / 1000;
    // The first token comes from the prefill; every step after it ends with one token of the target's own.
    const steps = targetTokens - 1;
    return [
      ['tokens', String(tokens)],
      ['tau', steps > 0 ? fixed((tokens - 1) / steps, 2) : '-'],
      ['tokens/s', tokens > 1 && seconds > 0 ? fixed((tokens - 1) / seconds, 1) : '-'],
    ];
  };

  try {
    const bytes = await image;
    const stream = pipeline.stream({
      prompt: question.value,
      images: bytes ? [bytes] : [],
      maxNewTokens: maxTokens.valueAsNumber,
      temperature: 0,
      speculative: speculating,
      signal: run.signal,
      onToken: (token) => {
        if (tokens === 0) firstTokenAt = performance.now();
        tokens++;
        if (token.source === 'target') targetTokens++;
        pending.push(token.source);
      },
    });
    for await (const delta of stream) {
      const sources = pending;
      pending = [];
      const span = document.createElement('span');
      span.className = `token ${sources.length > 0 && sources.every((source) => source === 'draft') ? 'draft' : 'target'}`;
      span.textContent = delta;
      if (sources.length > 0) span.title = sources.join(', ');
      answer.append(span);
      showStats(liveFigures());
    }
    showStats(finalFigures(await stream.result, speculating));
    setState('done');
  } catch (error) {
    if (run.signal.aborted) {
      showStats([...liveFigures(), ['finish', 'stopped']]);
      setState('done');
    } else {
      showError(messageOf(error));
      setState('error');
    }
  } finally {
    running = null;
  }
}

/** `window.msdTest.run`: fetches the images, generates, and returns the result as plain data. */
async function testRun(options: TestRunOptions): Promise<TestRunResult> {
  if (!pipeline) throw new Error('The pipeline is not loaded yet.');
  const images = await Promise.all((options.images ?? []).map((url) => fetchBytes(url)));
  const result = await pipeline.generate({ ...options, images });
  return { text: result.text, tokenIds: [...result.tokenIds], finishReason: result.finishReason, stats: JSON.parse(JSON.stringify(result.stats)) };
}

async function load(): Promise<void> {
  setState('loading');
  const options = createOptions();
  try {
    pipeline = await BrowserPipeline.create(options);
  } catch (error) {
    deviceLine.textContent = 'none';
    showError(`The model did not load: ${messageOf(error)}`);
    setState('error');
    return;
  }
  const threads = pipeline.device === 'wasm' ? ` · ${options.threads ?? 1} thread${(options.threads ?? 1) === 1 ? '' : 's'}` : '';
  deviceLine.textContent = `${pipeline.device}${threads}${crossOriginIsolated ? ' · cross-origin isolated' : ''}`;
  window.msdTest = { pipeline, run: testRun };
  setState('ready');
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
useExample.addEventListener('click', useExampleImage);
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

void load();
