# Sourced by the other scripts: creates .venv (once) and installs what requirements.txt and
# pyproject.toml name, again only when either file changes. Needs only python3 (>= 3.10).
#
# torch comes first, as the CPU build: on this project's machines `pip install torch==2.13.0`
# takes it from local disk. Elsewhere, set TORCH_SPEC and TORCH_INDEX, for example
#   TORCH_SPEC=torch TORCH_INDEX=https://download.pytorch.org/whl/cpu bash scripts/test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.attn_src-installed"
want="$(cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing the requirements into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    if [ -n "${TORCH_INDEX:-}" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${TORCH_SPEC:-torch}" --index-url "$TORCH_INDEX"
    else
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}"
    fi
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt)
    echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
# Quiet, deterministic runs: no stray progress bars, same thread count everywhere.
export PYDEVD_DISABLE_FILE_VALIDATION=1
export PYTHONHASHSEED=0
cd "$ROOT"
