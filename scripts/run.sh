#!/bin/sh
# Install everything Lingkar needs to run, then start it on the embedded defaults:
# SQLite and a self-signed certificate in ./data, https on port 8443.
. "$(dirname "$0")/common.sh"
# The PDF session report embeds DejaVu Sans (server/report_pdf.py).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core
ensure_venv run
cd "$ROOT"
exec "$VENV/bin/lingkar" serve "$@"
