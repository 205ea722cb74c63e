#!/bin/sh
# Install everything the tests need (Debian's chromium and Node.js included), then run the
# linters, the type checkers and the whole test suite.
. "$(dirname "$0")/common.sh"

[ -x /usr/bin/chromium ] || apt_install chromium
# The PDF report embeds DejaVu Sans; its tests read the PDF back with pdftotext.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core
command -v pdftotext >/dev/null 2>&1 || apt_install poppler-utils
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
# The TURN tests start Debian's coturn themselves; the package's own service stays disabled.
[ -x /usr/bin/turnserver ] || apt_install coturn
# The cluster tests start Debian's redis-server themselves (tests/redisserver.py).
[ -x /usr/bin/redis-server ] || apt_install redis-server
# The servers the tests start use jemalloc, as `make run` does (server/platform/allocator.py).
[ -f "$(jemalloc_lib)" ] || apt_install libjemalloc2
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
ensure_venv test
cd "$ROOT"

if [ ! -x node_modules/.bin/tsc ] || [ package-lock.json -nt node_modules/.installed ]; then
    echo "==> npm ci (TypeScript, for checking the client's JavaScript)"
    npm ci --no-audit --no-fund --loglevel=error
    touch node_modules/.installed
fi

echo "==> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "==> mypy (strict) on server/ and rtc/"
"$VENV/bin/mypy"
if find web/static -name '*.js' | grep -q .; then
    echo "==> tsc (checkJs, strict) on web/static"
    node_modules/.bin/tsc -p web/jsconfig.json
else
    echo "==> tsc: web/static has no JavaScript yet, nothing to check"
fi
echo "==> pytest"
exec "$VENV/bin/pytest" "$@"
