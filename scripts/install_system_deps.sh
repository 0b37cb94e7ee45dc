#!/usr/bin/env bash
# Install the Debian packages the tests need: Chromium (driven by Playwright through
# /usr/bin/chromium; Playwright never downloads a browser of its own here), Thai fonts so Thai
# text renders as glyphs, not boxes, and PostgreSQL 15 with PostGIS 3 for the database tests
# (tests/support/postgres.py starts a throwaway cluster from /usr/lib/postgresql/15/bin). Does nothing when everything is already installed; runs
# `apt-get update` once, only when something is missing. Needs root (CI runs as root).
set -euo pipefail

PACKAGES=(chromium fonts-thai-tlwg postgresql-15 postgresql-15-postgis-3)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "System packages present: ${PACKAGES[*]}"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages (${missing[*]}) and no apt-get to install them." >&2
    echo "Install Chromium, Thai fonts, PostgreSQL 15 and PostGIS 3 with your system's package manager, then rerun." >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing system packages: ${missing[*]}" >&2
    echo "Installing them needs root. Run once:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "then rerun 'make test'." >&2
    exit 1
fi

echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
