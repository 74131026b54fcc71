/**
 * Typechecks every `@example` of the packages' doc comments against the real API (issue 15).
 *
 *   pnpm exec tsx scripts/check-doc-snippets.ts [--list]
 *
 * Each snippet becomes a module of its own, type-checked with the workspace's compiler options. Many
 * examples are fragments that use a value from around them (`pipeline`, `tokenizer`, `tree`): names a
 * snippet uses without defining are declared for it, with their real type where the name is one of the
 * well-known ones below and `any` otherwise, and the rest must compile: imports, the API's names, the
 * arguments given to it, the shape of what comes back. Prints every failure; exits 1 on any.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The snippets live (virtually) inside the msd package, which depends on every other package.
const home = join(root, 'packages', 'msd', '.doc-snippets');

/** Free names with a known type: declared as that type instead of `any`. */
const KNOWN: Record<string, { type: string; from: string }> = {
  pipeline: { type: 'MsdPipeline', from: 'msd' },
  tokenizer: { type: 'Tokenizer', from: '@msd/tokenizer' },
  preprocessor: { type: 'ImagePreprocessor', from: '@msd/vision' },
  manifest: { type: 'ModelManifest', from: '@msd/core' },
  tree: { type: 'DraftTree', from: '@msd/core' },
  tags: { type: 'TokenTypeTags', from: '@msd/core' },
};

interface Snippet {
  file: string;
  line: number;
  code: string;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

function snippets(): Snippet[] {
  const found: Snippet[] = [];
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const src = join(root, 'packages', pkg, 'src');
    if (!statSync(join(root, 'packages', pkg)).isDirectory()) continue;
    for (const file of sourceFiles(src)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/@example\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```ts\n((?:\s*\*.*\n)*?)\s*\*\s*```/g)) {
        const code = match[2]!
          .split('\n')
          .map((line) => line.replace(/^\s*\* ?/, ''))
          .join('\n');
        found.push({ file: relative(root, file), line: text.slice(0, match.index).split('\n').length, code });
      }
    }
  }
  return found;
}

const baseOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  customConditions: ['@msd/source'],
  types: ['node'],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  allowImportingTsExtensions: true,
  noUnusedLocals: false,
};

/**
 * Snippets of browser entries (`browser.ts`, `browser/`, `*-browser.ts`) compile as a browser bundle
 * sees the packages: with the `browser` export condition, where `BrowserPipeline` and onnxruntime-web's
 * adapters live.
 */
const isBrowserFile = (file: string) => /(^|\/)browser(\/|\.ts$)|-browser\.ts$/.test(file);

/** Diagnostics of the snippets compiled together, each as its own module. */
function compile(files: Map<string, string>, browser: boolean): readonly ts.Diagnostic[] {
  const options = browser
    ? { ...baseOptions, customConditions: ['@msd/source', 'browser'], lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'] }
    : baseOptions;
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.readFile = (name) => files.get(name) ?? read(name);
  host.fileExists = (name) => files.has(name) || exists(name);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, create) =>
    files.has(name) ? ts.createSourceFile(name, files.get(name)!, language, true) : getSourceFile(name, language, onError, create);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).filter((diagnostic) => diagnostic.file && files.has(diagnostic.file.fileName));
}

function moduleText(snippet: Snippet, free: Set<string>): string {
  const declarations = [...free].map((name) => {
    const known = KNOWN[name];
    return known
      ? `import type { ${known.type} as __${name} } from '${known.from}';\ndeclare let ${name}: __${name};`
      : `declare let ${name}: any;\ntype ${name} = any;`;
  });
  // `export {}` makes every snippet a module: top-level await, and no names shared between snippets.
  return `export {};\n${declarations.join('\n')}\n${snippet.code}`;
}

const all = snippets();
const names = all.map((_, index) => join(home, `snippet-${index}.ts`));
const free = all.map(() => new Set<string>());
const failures: ts.Diagnostic[] = [];
for (const browser of [false, true]) {
  const group = all.flatMap((snippet, index) => (isBrowserFile(snippet.file) === browser ? [index] : []));
  const files = () => new Map(group.map((index) => [names[index]!, moduleText(all[index]!, free[index]!)]));
  // Passes: first find the names each snippet uses without defining (TS2304 "Cannot find name",
  // TS2552 "Cannot find name ... Did you mean"), then compile with them declared.
  for (let pass = 0; pass < 3; pass++) {
    let added = 0;
    for (const diagnostic of compile(files(), browser)) {
      if (diagnostic.code !== 2304 && diagnostic.code !== 2552 && diagnostic.code !== 18004) continue;
      const index = names.indexOf(diagnostic.file!.fileName);
      const name = diagnostic.file!.text.slice(diagnostic.start!, diagnostic.start! + diagnostic.length!);
      if (/^[A-Za-z_$][\w$]*$/.test(name) && !free[index]!.has(name)) {
        free[index]!.add(name);
        added++;
      }
    }
    if (added === 0) break;
  }
  failures.push(...compile(files(), browser));
}
if (process.argv.includes('--list'))
  for (const [index, snippet] of all.entries()) console.log(`${snippet.file}:${snippet.line} free: ${[...free[index]!].join(', ')}`);
const byFile = new Map<number, string[]>();
for (const diagnostic of failures) {
  const index = names.indexOf(diagnostic.file!.fileName);
  const messages = byFile.get(index) ?? [];
  const { line } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const declared = free[index]!.size + 1 + [...free[index]!].filter((name) => KNOWN[name]).length;
  messages.push(`  line ${line - declared + 1}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ')}`);
  byFile.set(index, messages);
}
for (const [index, messages] of byFile) {
  console.error(`${all[index]!.file}:${all[index]!.line} @example does not compile:\n${messages.join('\n')}`);
}
console.error(`[doc snippets] ${all.length} examples checked, ${byFile.size} fail`);
process.exit(byFile.size === 0 ? 0 : 1);
