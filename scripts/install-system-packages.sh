#!/usr/bin/env bash
# Installs, from Debian's packages, the system programs the test suite uses and
# npm cannot provide: PostgreSQL (database tests on a real server) and Chromium
# (the HTML audit report rendered headless). Installs only what is missing.
set -euo pipefail

need=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && { echo "system packages: postgresql and chromium present"; exit 0; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install ${need[*]} (Debian packages) as root first" >&2; exit 1; }
  sudo=(sudo)
fi
echo "system packages: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
