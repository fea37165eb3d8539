#!/bin/sh
# Three Verdict replicas behind a real nginx load balancer, a signed bundle
# served by another nginx, a rollout under load and a replica killed with
# SIGKILL; prints rollout time and failed requests. Needs nginx (Debian's
# nginx-light, or fetched without root into ~/.cache/verdict/nginx) and the
# repository's npm install. Everything listens on 127.0.0.1 and is stopped at
# the end. FLEET_CLIENTS sets the number of concurrent clients (default 4).
set -eu
cd "$(dirname "$0")/.."
exec node --import @tapjs/typescript/import scripts/fleet/demo.mjs
