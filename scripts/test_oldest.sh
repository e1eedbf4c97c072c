#!/usr/bin/env bash
# The unit tests (book build and student edition included) on the oldest releases that
# pyproject.toml and requirements.txt allow (scripts/oldest.txt), in a venv of their own,
# .venv-oldest/. Not part of CI: PyPI's torch 2.2.2 for Linux is a CUDA build (about 5 GB
# installed). The notebooks are not re-run: their stored outputs are those of the pinned
# torch 2.13.0 (module reprs and the number of aten calls differ between torch releases).
#   bash scripts/test_oldest.sh            # extra arguments go to pytest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-oldest}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
# Installed again whenever a file naming versions changes (or an install was cut short).
stamp="$VENV/.oldest-installed"
want="$(cat "$ROOT/scripts/oldest.txt" "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing the releases in scripts/oldest.txt into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/scripts/oldest.txt"
    (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c scripts/oldest.txt -r requirements.txt)
    echo "$want" > "$stamp"
fi
cd "$ROOT"
"$VENV/bin/python" -c "import matplotlib, numpy, pandas, sklearn, torch; print('== torch', torch.__version__, \
'numpy', numpy.__version__, 'pandas', pandas.__version__, 'matplotlib', matplotlib.__version__, \
'scikit-learn', sklearn.__version__)"
export PYDEVD_DISABLE_FILE_VALIDATION=1 PYTHONHASHSEED=0
# One test compares a chapter's printed output exactly; a CUDA build of torch on a machine with
# nvcc but no GPU adds its own line ("No CUDA runtime is found") to it.
"$VENV/bin/python" -m pytest tests -o addopts="" -p no:cacheprovider -q \
    --deselect tests/test_student_edition.py::test_the_runner_sees_not_yet_from_a_stub "$@"
