#!/usr/bin/env bash
# The whole test suite: unit tests and strict nbval over every notebook.
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --twice    # everything, twice in a row (determinism check)
#   bash scripts/test.sh tests/test_se.py -x   # extra arguments go to pytest
source "$(dirname "$0")/_env.sh"
if [ "${1:-}" = "--twice" ]; then
    shift
    python -m pytest "$@"
    echo "== second run (determinism)"
fi
python -m pytest "$@"
