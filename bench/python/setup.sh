#!/usr/bin/env bash
# Creates the Python venv the benchmarks use for the scikit-learn baselines and the plots, OUTSIDE
# the repository: ${XDG_CACHE_HOME:-$HOME/.cache}/label-loop/venv. Installs from PyPI only
# (bench/python/requirements.txt, pinned). Idempotent.
set -euo pipefail
dir="${XDG_CACHE_HOME:-$HOME/.cache}/label-loop"
mkdir -p "$dir"
[ -x "$dir/venv/bin/python" ] || python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install -q -r "$(dirname "$0")/requirements.txt"
echo "$dir/venv/bin/python"
