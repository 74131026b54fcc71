"""Lists the public API members that have no doc-comment summary; exits 1 when there is any.

Usage: python3 scripts/missing-summaries.py API.json, where API.json is typedoc's JSON output
(`pnpm exec typedoc --json API.json`). `pnpm run docs` runs it after typedoc (the `docs:api` script),
so a new export, field or enum member without a summary fails the docs build.

Typedoc's own `notDocumented` validation (typedoc.json) reports nothing here: it only checks symbols
of `packagesRequiringDocumentation`, by default the root package (`msd-monorepo`), not `@msd/*`. This
script walks every reflection of the typedoc project -- classes, functions, variables, interfaces and
their properties and methods, enum members, members of object-literal types inside an interface
(e.g. `BenchmarkReport.machine.cores`), re-exports -- except the project and its modules (typedoc
kinds 1 and 2) and constructors (kind 512, described by their class), and accepts a summary on the
member itself, on one of its call signatures or on its getter. Inherited members are skipped: their summary
is the parent's. References (kind 4194304: a browser entry re-exporting what the Node entry documents) are the same
symbol, documented where it is declared. `@msd/runtime`'s re-exports of `InferenceSession` and `Tensor` are excluded because
they are onnxruntime's own types, documented (or not) by onnxruntime, not by msd.

Prints one dotted name per member (`@msd/core.ModelManifest.eosTokenId`) and the count on stderr.
"""
import json, sys
d=json.load(open(sys.argv[1]))
missing=[]
def walk(node, path):
    kind=node.get('kind'); name=node.get('name'); p=path+[name]
    if node.get('flags',{}).get('isInherited') or node.get('inheritedFrom'): return
    if '.'.join(p[1:]).startswith(('@msd/runtime.InferenceSession', '@msd/runtime.Tensor', '@msd/runtime/browser.InferenceSession', '@msd/runtime/browser.Tensor')): return  # onnxruntime's own types, re-exported
    if kind == 4194304: return  # a reference: the same symbol exported by another entry, documented there
    if kind not in (1,2,512):
        has = bool(node.get('comment',{}).get('summary')) or any(s.get('comment',{}).get('summary') for s in node.get('signatures',[]) or []) or bool(node.get('getSignature',{}).get('comment',{}).get('summary'))
        if not has: missing.append('.'.join(p[1:]))
    for c in node.get('children',[]) or []: walk(c,p)
    t=node.get('type') or {}
    if t.get('type')=='reflection':
        for c in t.get('declaration',{}).get('children',[]) or []: walk(c,p)
walk(d,[])
print('\n'.join(missing)); print(f'{len(missing)} public members without a summary', file=sys.stderr)
sys.exit(1 if missing else 0)
