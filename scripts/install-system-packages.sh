#!/usr/bin/env bash
# Installs, from Debian's packages, the system programs that `npm run test:browser`
# (and CI) use and npm cannot provide: Chromium (the auditors' HTML report
# rendered headless) and nginx-light (the gateway tests' nginx; without it
# `npm test` fetches Debian's package into a cache itself, test/helpers/nginx.ts).
# Installs only what is missing; needs root (or sudo). Add a package as "<debian package>:<command>".
set -euo pipefail

packages=(
  chromium:chromium
  nginx-light:nginx
)

need=()
for entry in "${packages[@]}"; do
  command -v "${entry#*:}" >/dev/null 2>&1 || need+=("${entry%%:*}")
done
[ ${#need[@]} -eq 0 ] && { echo "system packages: all present"; exit 0; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install ${need[*]} (Debian packages) as root first" >&2; exit 1; }
  sudo=(sudo)
fi
echo "system packages: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
