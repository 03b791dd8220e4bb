#!/usr/bin/env bash
# Make sure the system libraries GPAW compiles against are present.
# As root on Debian/Ubuntu: install what is missing with apt-get.
# Otherwise: never call apt; print what to install and fail if something is missing.
set -euo pipefail
pkgs=(libxc-dev libopenblas-dev libfftw3-dev g++ make python3-venv pkg-config)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[setup] system packages present: ${pkgs[*]}"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[setup] installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[setup] missing system packages: ${missing[*]}" >&2
  echo "[setup] ask an administrator to run: apt-get install ${missing[*]}" >&2
  echo "[setup] (or use the conda environment: conda env create -f environment.yml)" >&2
  # python3-venv may be absent when python3 comes from pyenv/conda: only fail on build deps.
  for m in "${missing[@]}"; do
    case "$m" in python3-venv|pkg-config) ;; *) exit 1 ;; esac
  done
fi
