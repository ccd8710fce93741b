#!/usr/bin/env bash
# Set up (if needed) and run the main job on the bundled sample: see README.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/qcedge demo "$@"
