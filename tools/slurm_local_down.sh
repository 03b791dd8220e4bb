#!/usr/bin/env bash
# Stop the one-node Slurm cluster of tools/slurm_local_up.sh: cancel this user's jobs, then
# stop slurmd, slurmctld and munged by the PIDs in their pid files (only if the PID is still
# that daemon; nothing is killed by name).  Idempotent: a cluster already down is fine.
# SLURM_DIR must match the one given to the up script (default ${TMPDIR:-/tmp}/slurm-local).
set -uo pipefail
SLURM_DIR="${SLURM_DIR:-${TMPDIR:-/tmp}/slurm-local}"

stop_pidfile() {
  local pidfile=$1 name=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ "$(ps -p "$pid" -o comm= 2>/dev/null)" = "$name" ]; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

if [ "$(id -u)" -ne 0 ]; then
  echo "[slurm-local] needs root"; exit 2
fi
if command -v scancel >/dev/null && [ -s "$SLURM_DIR/slurmctld.pid" ]; then
  timeout -k 2 10 scancel --user="$(id -un)" 2>/dev/null || true
fi
stop_pidfile "$SLURM_DIR/slurmd.pid" slurmd
stop_pidfile "$SLURM_DIR/slurmctld.pid" slurmctld
stop_pidfile /run/munge/munged.pid munged
echo "[slurm-local] stopped"
