#!/usr/bin/env bash
# Debian packages the Python toolchain and the tests need. Idempotent.
set -euo pipefail
packages=(
  python3 python3-numpy python3-pil python3-sentencepiece python3-pytest python3-tqdm
  python3-torch python3-onnx libopenblas0-pthread lz4
  python3-venv  # .venv-lint/ for ruff (scripts/install-lint-deps.sh)
  curl  # the consumer test talks to msd serve
  chromium fonts-dejavu-core  # the msd serve page test (packages/msd/test/serve-page.test.ts); the font renders its screenshot's text
)
# WebGPU on a GPU-less machine runs on Mesa's software Vulkan driver (lavapipe); bookworm's own Mesa
# 22.3 is too old ("No supported adapters"), backports' Mesa 25 works.
backports=(mesa-vulkan-drivers libvulkan1)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# The English package descriptions are the project's real-text corpus (see training/README.md).
corpus=$(ls /var/lib/apt/lists/*_i18n_Translation-en.lz4 2>/dev/null | head -n 1 || true)
missing_backports=()
for package in "${backports[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing_backports+=("$package")
done
if grep -q bookworm /etc/os-release 2>/dev/null && [ ! -f /etc/apt/sources.list.d/msd-backports.list ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" > /etc/apt/sources.list.d/msd-backports.list
  missing_backports=("${backports[@]}")
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_backports[@]} -gt 0 ] || [ -z "$corpus" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[msd] apt-get install ${missing[*]:-} (and the English package descriptions)"
  $SUDO apt-get update -qq -o Acquire::Languages=en
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ ${#missing_backports[@]} -gt 0 ]; then
    echo "[msd] apt-get install -t bookworm-backports ${missing_backports[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports --no-install-recommends "${missing_backports[@]}" >/dev/null
  fi
fi
echo "[msd] system packages ready"
