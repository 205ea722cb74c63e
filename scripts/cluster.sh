#!/bin/sh
# A three-node Lingkar cluster on this machine, to try it (docs/deploy.md, "A cluster"):
# installs Debian's postgresql and redis-server when missing, then runs scripts/cluster_local.py.
. "$(dirname "$0")/common.sh"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
[ -x /usr/bin/redis-server ] || apt_install redis-server
[ -f "$(jemalloc_lib)" ] || (apt_install libjemalloc2) || true
ensure_venv run
cd "$ROOT"
exec "$VENV/bin/python" scripts/cluster_local.py "$@"
