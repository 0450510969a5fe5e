#!/usr/bin/env bash
# Installs Open WebUI from PyPI into a virtual environment of its own, outside the clone and the
# project's .venv, for the chat-app browser test (tests/integration/test_open_webui.py).
#
#   make open-webui                                  # or: bash tests/chatapp/setup_open_webui.sh
#   bash tests/chatapp/setup_open_webui.sh --where   # prints where the environment is (or would be)
#
# Idempotent and cached: the environment is keyed by the Open WebUI version and reused when a
# previous run completed; pip's own cache makes a reinstall faster. Where: $ALIGN_OPEN_WEBUI_VENV,
# else ~/.cache/align-open-webui/<version>.
set -euo pipefail

VERSION="${OPEN_WEBUI_VERSION:-0.12.4}"
# The CPU build of torch goes in first: open-webui's unpinned torch would pull the CUDA build.
TORCH="${OPEN_WEBUI_TORCH:-torch==2.13.0}"
PY="${PY:-python3.11}"
VENV="${ALIGN_OPEN_WEBUI_VENV:-$HOME/.cache/align-open-webui/$VERSION}"
STAMP="open-webui==$VERSION $TORCH"

if [ "${1:-}" = "--where" ]; then
  echo "$VENV"
  exit 0
fi

if [ -x "$VENV/bin/open-webui" ] && [ "$(cat "$VENV/.complete" 2>/dev/null)" = "$STAMP" ]; then
  echo "Open WebUI $VERSION is ready in $VENV"
  exit 0
fi

pip_install() {
  # the machine's extra package indexes warn about every package they do not hold: keep the rest
  "$VENV/bin/pip" install --quiet "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

start=$(date +%s)
echo "Installing Open WebUI $VERSION into $VENV (a few minutes the first time)"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PY" -m venv "$VENV"
pip_install --upgrade pip wheel
pip_install "$TORCH"
pip_install "open-webui==$VERSION"
"$VENV/bin/open-webui" --help >/dev/null
echo "$STAMP" >"$VENV/.complete"
echo "Open WebUI $VERSION installed in $VENV in $(( $(date +%s) - start )) s ($(du -sh "$VENV" | cut -f1))"
