# Shared by scripts/run.sh and scripts/test.sh: find Python 3.11-3.13, install missing Debian
# packages, keep .venv in step with pyproject.toml. Sourced, not run.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "lingkar: need root (or sudo) to run: $*" >&2; exit 1
    fi
}

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        echo "==> apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    echo "==> apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Debian's libjemalloc2, where its package puts it on this architecture.
jemalloc_lib() {
    echo "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2"
}

# Python 3.11 to 3.13 (pyproject.toml's requires-python): 3.11 first, the version CI runs.
find_python() {
    for candidate in python3.11 python3.13 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'
        then
            command -v "$candidate"
            return 0
        fi
    done
    echo "lingkar: Python 3.11, 3.12 or 3.13 is needed (python3.11 on PATH, say)" >&2
    exit 1
}

# Create .venv and install the project with the given extras; reinstall when pyproject changes.
ensure_venv() {
    extras=$1
    python=$(find_python)
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            # Debian's Pythons ship venv separately (python3.11-venv, python3-venv, ...).
            rm -rf "$VENV"
            apt_install "$(basename "$python")-venv"
            "$python" -m venv "$VENV"
        fi
    fi
    stamp="$VENV/.installed-$extras"
    want=$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "==> installing Lingkar and its Python packages into .venv ($extras)"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        if [ "$extras" = "run" ]; then
            "$VENV/bin/python" -m pip install -q -e "$ROOT"
        else
            "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras]"
        fi
        echo "$want" >"$stamp"
    fi
}
