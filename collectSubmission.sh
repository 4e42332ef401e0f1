#!/usr/bin/env bash
# Check your work, export the notebooks for reading and zip what you submit.
#
#   bash collectSubmission.sh               (from the kit folder, with the kit's environment active)
#   PYTHON=/path/to/python bash collectSubmission.sh
#
# Refuses (exit 1, listing every problem) only when grading is impossible: a file to submit is
# missing or unreadable. Unfinished work (functions still raising their stub, a module that does not
# import, notebook cells never run, error outputs, a notebook run in quick mode) is packed, with a
# warning for each, so that it earns partial credit. Writes cs231n_submission.zip (overwriting it)
# and the exports in submission_exports/.
set -uo pipefail
cd "$(dirname "$0")" || exit 1

ZIP_NAME="cs231n_submission.zip"
EXPORT_DIR="submission_exports"

if [ -z "${PYTHON:-}" ]; then
  if command -v python >/dev/null 2>&1; then PYTHON=python; else PYTHON=python3; fi
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "ERROR: no Python found (tried '$PYTHON'); activate the kit's environment or set PYTHON=/path/to/python." >&2
  exit 1
fi
echo "Using $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

# Output of an earlier run may no longer match the work: never leave it behind to be uploaded.
old_output=""
if [ -e "$ZIP_NAME" ] || [ -e "$EXPORT_DIR" ]; then
  old_output="yes"
  rm -rf "$ZIP_NAME" "$EXPORT_DIR"
fi
fail() {
  if [ -n "$old_output" ]; then
    echo "Removed the old $ZIP_NAME and $EXPORT_DIR/ so that an outdated submission cannot be uploaded." >&2
  fi
  echo "Nothing was zipped. $1" >&2
  exit 1
}

if [ ! -f collect_submission_check.py ]; then
  fail "collect_submission_check.py is missing beside collectSubmission.sh; restore it from the kit."
fi
recap="$(mktemp)"
trap 'rm -f "$recap"' EXIT
echo "Checking the submission..."
"$PYTHON" collect_submission_check.py check --recap "$recap" ||
  fail "Fix the problems above, then run 'bash collectSubmission.sh' again."

mkdir -p "$EXPORT_DIR"
log="$EXPORT_DIR/.nbconvert.log"
# Built with read rather than mapfile: macOS still ships bash 3.2.
notebooks=()
while IFS= read -r nb; do notebooks+=("$nb"); done < <("$PYTHON" collect_submission_check.py notebooks)

# One nbconvert run for all notebooks: its start-up is most of its time.
echo "Exporting the notebooks to HTML..."
if ! "$PYTHON" -m jupyter nbconvert --to html --output-dir "$EXPORT_DIR" "${notebooks[@]}" </dev/null >"$log" 2>&1; then
  echo "ERROR: could not export the notebooks to HTML:" >&2
  tail -n 5 "$log" >&2
  fail "Is nbconvert installed for $PYTHON? 'pip install -r requirements.txt' installs it."
fi

# PDF: LaTeX (xelatex, with pandoc for the Markdown cells) or a headless Chromium driven by playwright;
# either may be missing.
pdf_via=""
if command -v xelatex >/dev/null 2>&1 && command -v pandoc >/dev/null 2>&1; then
  pdf_via="pdf"
elif "$PYTHON" -c "import playwright" >/dev/null 2>&1; then
  pdf_via="webpdf"
fi
pdf_note=""
if [ -z "$pdf_via" ]; then
  pdf_note="PDF skipped: this machine has neither xelatex and pandoc (for nbconvert --to pdf) nor playwright (for --to webpdf)."
else
  echo "Exporting the notebooks to PDF (nbconvert --to $pdf_via)..."
  if ! "$PYTHON" -m jupyter nbconvert --to "$pdf_via" --output-dir "$EXPORT_DIR" "${notebooks[@]}" </dev/null >"$log" 2>&1; then
    pdf_note="PDF skipped: nbconvert --to $pdf_via failed ($(tail -n 1 "$log"))."
    rm -f "$EXPORT_DIR"/*.pdf
  fi
fi
rm -f "$log"

"$PYTHON" collect_submission_check.py zip "$ZIP_NAME" "$EXPORT_DIR" || fail "Writing $ZIP_NAME failed (see above)."

echo
echo "Done. Upload $ZIP_NAME to the Gradescope programming assignment."
if [ -n "$pdf_note" ]; then
  echo "$pdf_note"
  echo "For the written part, open each HTML file in $EXPORT_DIR/ in a browser, print it to PDF, and upload the PDFs."
else
  echo "For the written part, upload the PDFs in $EXPORT_DIR/."
fi
if [ -s "$recap" ]; then
  echo
  cat "$recap"
fi
