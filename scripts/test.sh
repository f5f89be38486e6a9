#!/usr/bin/env bash
# The README's test command: installs the project with its test extras, then runs the suite offline.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e ".[dev]"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec python3 -m pytest "$@"
