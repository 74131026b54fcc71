#!/usr/bin/env bash
# Debian packages the Python toolchain and the tests need. Idempotent.
set -euo pipefail
packages=(
  python3 python3-numpy python3-pil python3-sentencepiece python3-pytest python3-tqdm
  python3-torch python3-onnx libopenblas0-pthread lz4
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# The English package descriptions are the project's real-text corpus (see training/README.md).
corpus=$(ls /var/lib/apt/lists/*_i18n_Translation-en.lz4 2>/dev/null | head -n 1 || true)
if [ ${#missing[@]} -gt 0 ] || [ -z "$corpus" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[msd] apt-get install ${missing[*]:-} (and the English package descriptions)"
  $SUDO apt-get update -qq -o Acquire::Languages=en
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
echo "[msd] system packages ready"
