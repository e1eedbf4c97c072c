#!/usr/bin/env bash
# The book as a student meets it on Colab, on this machine: not part of CI (a CUDA build of torch
# is several GB). In a venv of its own, .venv-colab/:
#   - Python 3.12 where there is one (Colab's), else python3;
#   - the newest torch pip offers (on Linux a CUDA build, which runs here on the CPU as on Colab's CPU
#     runtime), numpy 2, pandas 2.2 and the newest matplotlib, as Colab ships them;
#   - attn_src installed from a clone of this repository, not editable, as the set-up cell installs it;
#   - every chapter (with its stored outputs, strict nbval) and every student notebook (the student
#     edition, which must run to its end) executed in an empty folder outside the repository;
#   - with every warning shown, any output on stderr (a warning, a deprecation) fails, as a student
#     would see it in red.
#   bash scripts/test_colab.sh               # extra arguments go to pytest
#   PYTHON=python3.11 bash scripts/test_colab.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-colab}"
colab_python() {  # the first Python 3.12 that runs (a pyenv shim may exist without the version active)
    for candidate in python3.12 "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python3.12; do
        if "$candidate" --version >/dev/null 2>&1; then echo "$candidate"; return; fi
    done
    echo python3
}
PYTHON="${PYTHON:-$(colab_python)}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV with $("$PYTHON" --version)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --upgrade pip
"${PIP[@]}" --upgrade torch "numpy>=2" "pandas==2.2.*" matplotlib \
    "nbval>=0.11" "nbclient>=0.10" nbformat ipykernel "pytest>=8" pyyaml

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git clone --quiet "$ROOT" "$WORK/clone"             # what is committed, as git+https would fetch it
"${PIP[@]}" --force-reinstall --no-deps "$WORK/clone"
"${PIP[@]}" "$WORK/clone"                            # its dependencies, at the versions pip picks

mkdir -p "$WORK/run/student"
cp "$WORK"/clone/book/*.ipynb "$WORK/clone/tests/sanitize.cfg" "$WORK/run/"
printf '[pytest]\n' > "$WORK/run/pytest.ini"   # the folder's own settings, not the repository's
"$VENV/bin/python" "$WORK/clone/scripts/student_edition.py" --out "$WORK/run/student" >/dev/null
"$VENV/bin/python" -c "import sys, numpy, pandas, matplotlib, torch; print('== Python', sys.version.split()[0], \
'torch', torch.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, 'matplotlib', matplotlib.__version__)"

cd "$WORK/run"
# Every warning shown (numpy 2's deprecations included), as to a student who turns them on.
export PYDEVD_DISABLE_FILE_VALIDATION=1 PYTHONHASHSEED=0 PYTHONWARNINGS=default
# Strict nbval over the chapters; the student notebooks, which store no output, must only run.
"$VENV/bin/python" -m pytest -p no:cacheprovider -q --nbval --nbval-current-env \
    --nbval-sanitize-with sanitize.cfg ./*.ipynb student/*.ipynb "$@"
# nbval compares stored outputs; a new stream on stderr in a cell that stores none would pass it.
"$VENV/bin/python" - student/*.ipynb <<'PY'
import sys

import nbformat
from nbclient import NotebookClient

errors = []
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, allow_errors=False).execute()
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("name") == "stderr":
                errors.append(f"{path} cell {index}: {out['text'].strip()[:300]}")
print("\n".join(errors) or "== nothing on stderr in the student notebooks")
sys.exit(1 if errors else 0)
PY
