#!/bin/sh
# Install everything Lingkar needs to run, then start it on the embedded defaults:
# SQLite and a self-signed certificate in ./data, https on port 8443.
. "$(dirname "$0")/common.sh"
# The PDF session report embeds DejaVu Sans (server/records/report_pdf.py). Without root the server
# still runs; only the PDF download answers that the font is missing.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || (apt_install fonts-dejavu-core) ||
    echo "lingkar: could not install fonts-dejavu-core; PDF reports will not work" >&2
# jemalloc keeps the server's memory flat over a long day of joins and leaves
# (server/platform/allocator.py); without it the server runs on glibc's malloc.
[ -f "$(jemalloc_lib)" ] || (apt_install libjemalloc2) ||
    echo "lingkar: could not install libjemalloc2; the server uses glibc's malloc" >&2
ensure_venv run
cd "$ROOT"
exec "$VENV/bin/lingkar" serve "$@"
