#!/usr/bin/env bash
# Chinese UI catalog (issue 2 item 7): extract → update (or init) → compile.
#
# Re-runnable at any time: it re-extracts every _()/_l() string from backoffice/, jobs/ and
# templates/, merges new msgids into translations/zh_Hans_CN/LC_MESSAGES/messages.po (existing
# translations are kept; fuzzy matching is off so no guessed translation sneaks in), compiles the
# .mo, and lists the msgids that still need a Chinese translation. Exit status 0 even when some
# are untranslated; `--check` makes it exit 1 in that case (for CI). A run that finds nothing new
# changes no file.
#
# Workflow: wrap English source text in _() / _l() (Python) or {{ _('...') }} (templates), run
# this script, fill the listed msgids in the .po with Simplified Chinese (SPEC §1 glossary terms),
# run it again so the .mo is recompiled, and commit the .pot, .po and .mo together.
# tests/test_i18n.py fails while any msgid is untranslated or fuzzy, or the .mo is stale.
#
# Keywords: Flask-Babel's _ _l gettext lazy_gettext ngettext lazy_ngettext, plus Babel's
# defaults (N_ marks "translate later", as in backoffice/services/importer.py).
set -euo pipefail

cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
LOCALE=zh_Hans_CN
DIR=translations
POT="$DIR/messages.pot"
PO="$DIR/$LOCALE/LC_MESSAGES/messages.po"

mkdir -p "$DIR"
NEW_POT="$(mktemp)"
trap 'rm -f "$NEW_POT"' EXIT
"$PYBABEL" -q extract -F babel.cfg \
    -k _ -k _l -k gettext -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
    --no-location --sort-output \
    --project=Qingqian --version=0.1 --copyright-holder=Qingqian --msgid-bugs-address="" \
    -o "$NEW_POT" .
# Keep the old template when only its timestamp differs, so a re-run changes no file.
if [[ -f "$POT" ]] && diff -q -I '^"POT-Creation-Date:' "$POT" "$NEW_POT" >/dev/null; then
    echo "messages.pot unchanged"
else
    cp "$NEW_POT" "$POT"
fi

if [[ -f "$PO" ]]; then
    "$PYBABEL" -q update -i "$POT" -d "$DIR" -l "$LOCALE" --no-fuzzy-matching \
        --ignore-obsolete
else
    "$PYBABEL" -q init -i "$POT" -d "$DIR" -l "$LOCALE"
fi

# Compile even when some entries are still empty (-f), so the app keeps running; empty ones fall
# back to English until translated.
"$PYBABEL" compile -d "$DIR" -l "$LOCALE" -f --statistics

.venv/bin/python - "$PO" "${1:-}" <<'PY'
import sys

from babel.messages.pofile import read_po

po_path, mode = sys.argv[1], sys.argv[2]
with open(po_path, "rb") as fh:
    catalog = read_po(fh)
missing = [
    m.id for m in catalog
    if m.id and (m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))
]
for msgid in missing:
    print("untranslated:", msgid if isinstance(msgid, str) else msgid[0])
print(f"{len(missing)} msgid(s) need a Chinese translation in {po_path}")
sys.exit(1 if missing and mode == "--check" else 0)
PY
