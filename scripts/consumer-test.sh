#!/usr/bin/env bash
# The npm consumer test (issue 15): what a user gets from the registry, judged from outside.
#
#   bash scripts/consumer-test.sh [WORK_DIR]
#
# 1. builds and packs every package (pnpm pack: workspace: ranges become versions);
# 2. checks each tarball with publint and @arethetypeswrong/cli;
# 3. installs the tarballs with plain npm into a scratch project outside the workspace;
# 4. runs every TypeScript example of the packages' READMEs as written (blocks the README calls a
#    fragment are skipped), with the files the packages ship;
# 5. runs the CLI from there: --version, each command's --help, generate, prepare, bench --limit 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/msd-consumer.XXXX)}
rm -rf "$work/tarballs" "$work/app" && mkdir -p "$work/tarballs" "$work/app"
say() { echo "[consumer] $*" >&2; }

say "building and packing into $work/tarballs"
(cd "$root" && pnpm -s build >/dev/null)
for package in "$root"/packages/*/; do
  (cd "$package" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
ls "$work/tarballs" >&2

say "publint and @arethetypeswrong/cli on every tarball"
for tarball in "$work"/tarballs/*.tgz; do
  (cd "$root" && pnpm exec publint run "$tarball" --strict >&2)
  # node16 CJS: the packages are ESM with a CJS-requirable entry on Node >= 20.19 (require(esm)), which attw's
  # CJS resolution modes model as errors; ESM, bundler and node16-from-ESM must be clean.
  (cd "$root" && pnpm exec attw "$tarball" --profile esm-only --format table-flipped >&2)
done

say "installing the tarballs with npm into $work/app"
cd "$work/app"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
# onnxruntime-node's postinstall would download CUDA libraries; users offline or without CUDA skip it.
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz tsx@4 >&2

say "README examples"
python3 - "$root" "$work/app" <<'PY'
import pathlib, re, sys
root, app = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
count = 0
for readme in sorted(root.glob("packages/*/README.md")):
    text = readme.read_text()
    for number, match in enumerate(re.finditer(r"```ts\n(.*?)```", text, re.S)):
        # The paragraph just before the block says whether it is a fragment.
        before = " ".join(text[: match.start()].rstrip().split("\n\n")[-1:])
        if "fragment" in before.lower():
            continue
        name = f"readme-{readme.parent.name}-{number}.ts"
        (app / name).write_text(match.group(1))
        count += 1
print(f"[consumer] {count} README examples written", file=sys.stderr)
PY
for example in readme-*.ts; do
  say "running $example"
  timeout 300 npx tsx "$example" >"$example.out" 2>&1 || { cat "$example.out" >&2; say "FAILED: $example"; exit 1; }
done

say "the CLI"
npx msd --version
for command in generate serve bench tune prepare; do npx msd "$command" --help >/dev/null; done
image=$(node -e "import('@msd/tiny-llava').then((m) => console.log(m.tinyLlavaExampleImage()))")
npx msd generate --image "$image" --prompt "Describe the image in detail." --max-new-tokens 24 --threads 2 >answer.txt 2>generate.log
test -s answer.txt && ! grep -q "tau" answer.txt
npx msd prepare --image "$image" --prompt "What is this?" --json | node -e "let s='';process.stdin.on('data',(d)=>s+=d).on('end',()=>{const r=JSON.parse(s);if(r.types.image!==144)process.exit(1)})"
npx msd bench --set multimodal --limit 1 --rounds 1 --temperature 0 --max-new-tokens 16 --out bench-out >bench.txt 2>bench.log
test -f bench-out/report.md
say "the browser entries"
# Every package as a browser bundler sees it (the "browser" condition): no Node module may be reachable.
cat >browser-entry.ts <<'TS'
import { BrowserPipeline, decode } from 'msd';
import { resolveDevice } from '@msd/runtime';
import { urlModelSource } from '@msd/models';
import { Tokenizer } from '@msd/tokenizer';
import { ImagePreprocessor } from '@msd/vision';
console.log(BrowserPipeline, decode, resolveDevice, urlModelSource, Tokenizer, ImagePreprocessor);
TS
cat >browser-bundle.mjs <<'JS'
// esbuild comes from the workspace (the scratch project installs only msd's tarballs).
const { build } = await import(process.env.ESBUILD_MODULE);
const result = await build({ entryPoints: ['browser-entry.ts'], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'error' });
const text = result.outputFiles[0].text;
const nodeImports = text.match(/from\s*["']node:[\w/]+["']|import\(\s*["']node:[\w/]+["']\s*\)|require\(\s*["'](node:)?(fs|path|os|child_process)["']\s*\)/g);
if (nodeImports) {
  console.error('Node modules in the browser bundle:', nodeImports);
  process.exit(1);
}
console.error(`[consumer] browser bundle of the installed packages: ${text.length} bytes, no Node module`);
JS
ESBUILD_MODULE=$(node -e "console.log(require('node:url').pathToFileURL(require('node:module').createRequire('$root/packages/msd/package.json').resolve('esbuild')).href)") node browser-bundle.mjs
say "msd serve"
# The bin itself, not npx: SIGTERM must reach the server process.
./node_modules/.bin/msd serve --port 0 --threads 2 2>serve.log &
serve_pid=$!
for _ in $(seq 1 120); do grep -q "ready:" serve.log && break; sleep 0.5; done
url=$(grep -o "listening on http://[^ ]*" serve.log | cut -d" " -f3)
curl -sf "$url/health" | grep -q '"ok"'
curl -sf "$url/" | grep -q "<html"
curl -sf "$url/page.js" >/dev/null
curl -sf "$url/v1/chat/completions" -H "Content-Type: application/json" \
  -d '{"messages":[{"role":"user","content":"Which shapes can you draw?"}],"max_tokens":16}' | grep -q '"chat.completion"'
kill -TERM "$serve_pid"
wait "$serve_pid"
status=0; npx msd generate --prompt "Hi" --temperature -1 2>/dev/null || status=$?
test "$status" -eq 2
say "passed: $(ls readme-*.ts | wc -l) README examples, CLI, publint and attw on $(ls "$work"/tarballs/*.tgz | wc -l) tarballs"
