#!/usr/bin/env bash
# Installs the Debian packages planrun needs to build, test, demo and benchmark.
# Idempotent and quiet when everything is there. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libyaml-cpp-dev libpq-dev libcurl4-openssl-dev liblua5.4-dev libspdlog-dev
  catch2 libcli11-dev nlohmann-json3-dev libssl-dev
  postgresql postgresql-contrib postgresql-common
  python3 python3-jsonschema python3-yaml nginx
  pgloader hyperfine time
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
