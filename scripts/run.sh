#!/bin/sh
# Install everything Lingkar needs to run, then start it on the embedded defaults:
# SQLite and a self-signed certificate in ./data, https on port 8443.
. "$(dirname "$0")/common.sh"
# The PDF session report embeds DejaVu Sans (server/records/report_pdf.py). Without root the server
# still runs; only the PDF download answers that the font is missing.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || (apt_install fonts-dejavu-core) ||
    echo "lingkar: could not install fonts-dejavu-core; PDF reports will not work" >&2
ensure_venv run
cd "$ROOT"
exec "$VENV/bin/lingkar" serve "$@"
