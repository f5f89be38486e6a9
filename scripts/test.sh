#!/usr/bin/env bash
# The README's test command: installs the project with its test extras, then runs the suite offline.
set -euo pipefail
cd "$(dirname "$0")/.."
# tests/test_browser.py drives the chat in Debian's chromium (Playwright's browser download needs its
# CDN, which CI cannot reach). Installed here when missing; skipped when it is already there.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[dev]"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python3 -m pytest "$@"
