#!/usr/bin/env bash
# Run any command inside the project's environment (created on first use), e.g.
#   bash scripts/run.sh python scripts/execute_notebooks.py
#   bash scripts/run.sh jupyter lab
source "$(dirname "$0")/_env.sh"
exec "$@"
