#!/usr/bin/env bash
# Install the Debian/Ubuntu packages in packaging/debian-packages.txt that this machine
# lacks: directly as root, through sudo where it is available; otherwise stop at once with
# the exact command to run. Elsewhere (no dpkg) it says so and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dpkg >/dev/null 2>&1; then
    echo "not a Debian/Ubuntu system: install the equivalents of packaging/debian-packages.txt yourself"
    exit 0
fi

mapfile -t wanted < <(grep -v '^\s*#' packaging/debian-packages.txt | grep -v '^\s*$')
missing=()
for package in "${wanted[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# `python3.11 -m venv` needs ensurepip, which Debian ships apart (python3.11-venv)
python=${PYTHON:-python3.11}
if command -v "$python" >/dev/null 2>&1 && ! "$python" -c "import ensurepip" >/dev/null 2>&1; then
    missing+=("$(basename "$python")-venv")
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

command_line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "Rememora needs these Debian packages: ${missing[*]}" >&2
    echo "Run as root, then run make again:" >&2
    echo "    apt-get update && $command_line" >&2
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
