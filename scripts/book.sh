#!/usr/bin/env bash
# Build the book into _build/html with warnings as errors and nitpicky references.
# Notebooks are not executed here: their stored outputs are shown as they are
# (scripts/execute_notebooks.py produces them; strict nbval checks them).
source "$(dirname "$0")/_env.sh"
OUT="${BOOK_OUT:-.}"   # BOOK_OUT=/tmp/x builds into /tmp/x/_build (parallel builds)
rm -rf "$OUT/_build"
jupyter-book build -W -n --keep-going --path-output "$OUT" .
echo "== open $OUT/_build/html/index.html"
