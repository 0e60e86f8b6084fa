#!/usr/bin/env bash
# Every test: set everything up, then lint, unit tests, bad-input tests and the
# molecule scenarios on real containers, all through one pytest run.
# Extra arguments go to pytest (e.g. -k unit).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
# shellcheck source=/dev/null
source "$ROOT/.venv/bin/activate"
cd "$ROOT"
exec pytest "$@"
