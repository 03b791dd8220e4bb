#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine, for the tests of the Slurm profile
# (tests/test_slurm.py) and for trying `--executor slurm` by hand.
#
# Debian 12, root, no systemd needed: munged, slurmctld and slurmd are started by hand.
# Idempotent: if the cluster already answers, only the health check runs again.
# Packages (slurmctld slurmd slurm-client munge) are installed with apt-get when missing.
# No slurmdbd: use `--slurm-status-command squeue` (the plugin's default, sacct, hangs).
#
# Tunables: SLURM_DIR (state, spool, logs, pid files; default ${TMPDIR:-/tmp}/slurm-local),
#           SLURM_PARTITION (default debug).  The config is /etc/slurm/slurm.conf, so every
#           client finds it without SLURM_CONF.  To change the partition, run
#           tools/slurm_local_down.sh first (a running cluster is not reconfigured).
# Exit status: 0 healthy; 2 cannot run here (not root, no apt-get); 1 anything else.
# Recipe and gotchas: ../shared/research/slurm_local.md (tested on a machine like CI's).
set -euo pipefail

SLURM_DIR="${SLURM_DIR:-${TMPDIR:-/tmp}/slurm-local}"
SLURM_PARTITION="${SLURM_PARTITION:-debug}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "[slurm-local] $*"; }

if [ "$(id -u)" -ne 0 ]; then
  log "needs root (starts munged, slurmctld, slurmd and writes /etc/slurm/slurm.conf)"; exit 2
fi

# --- 1. packages (Debian 12: slurm-wlm 22.05.8, munge 0.5.15) ---------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || { log "slurm is not installed and there is no apt-get"; exit 2; }
  log "installing slurmctld slurmd slurm-client munge"
  apt-get update -qq
  # --no-install-recommends: skips sview/GTK and docs. The postinst scripts print
  # "policy-rc.d denied execution of start" - expected, the daemons are started below.
  apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null
fi

# --- 2. munge ---------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key && chmod 0600 /etc/munge/munge.key
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  install -d -o munge -g munge -m 0755 /run/munge   # /run is a tmpfs: recreate every time
  # munged must run as the key's owner; --force tolerates a stale socket
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 1 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
munge -n </dev/null | unmunge >/dev/null

# --- 3. slurm.conf + daemons ------------------------------------------------------------
pid_alive() {      # pid file exists and names a running process called $2
  [ -s "$1" ] && [ "$(ps -p "$(cat "$1")" -o comm= 2>/dev/null)" = "$2" ]
}
cluster_ok() {     # both daemons ours and alive, node usable
  pid_alive "$SLURM_DIR/slurmctld.pid" slurmctld && pid_alive "$SLURM_DIR/slurmd.pid" slurmd \
    && case "$(sinfo -h -N -n localhost -o %t 2>/dev/null | head -1)" in
         idle|mix|alloc) true ;; *) false ;; esac
}
stop_pidfile() {   # stop a daemon by the PID in its pid file, only if it is that daemon
  local pidfile=$1 name=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ "$(ps -p "$pid" -o comm= 2>/dev/null)" = "$name" ]; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

if [ -f /etc/slurm/slurm.conf ] && cluster_ok; then
  log "cluster already up"
else
  stop_pidfile "$SLURM_DIR/slurmd.pid" slurmd
  stop_pidfile "$SLURM_DIR/slurmctld.pid" slurmctld
  mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool" "$SLURM_DIR/log"

  # Real hardware line from slurmd -C, renamed to localhost, memory lowered 5 %
  # (a RealMemory above what slurmd detects drains the node: "Low RealMemory").
  NODE_LINE=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]*/NodeName=localhost/')
  MEM=$(echo "$NODE_LINE" | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  NODE_LINE=$(echo "$NODE_LINE" | sed "s/RealMemory=[0-9]*/RealMemory=$((MEM * 95 / 100))/")

  mkdir -p /etc/slurm
  cat > /etc/slurm/slurm.conf <<EOF
# one-node test cluster, written by tools/slurm_local_up.sh
ClusterName=localcluster
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# finished jobs stay visible to 'squeue --states=all' this long; the Snakemake
# plugin only uses squeue for status when MinJobAge >= 3 x its first poll delay
MinJobAge=300
$NODE_LINE State=UNKNOWN
PartitionName=$SLURM_PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

  log "starting slurmctld and slurmd (state in $SLURM_DIR)"
  /usr/sbin/slurmctld -c        # -c: start clean, forget jobs of an earlier run
  /usr/sbin/slurmd
  for _ in $(seq 1 60); do cluster_ok && break; sleep 0.5; done
  if ! cluster_ok; then
    scontrol update nodename=localhost state=resume 2>/dev/null || true
    sleep 2
  fi
fi

# --- 4. health check --------------------------------------------------------------------
sinfo
cluster_ok || { echo "node not idle"; tail -n 30 "$SLURM_DIR"/log/*.log; exit 1; }
[ "$(srun -N1 -n1 -t 1 echo srun-ok)" = "srun-ok" ]
out="$SLURM_DIR/health-%j.out"
jobid=$(sbatch --parsable --wait -t 1 -o "$out" --wrap 'echo sbatch-ok')
grep -q sbatch-ok "$SLURM_DIR/health-$jobid.out"
squeue --states=all --noheader --format='%i|%T' --jobs "$jobid" | grep -q "^$jobid|COMPLETED$"
log "healthy: $(sinfo -V), partition $SLURM_PARTITION, $(sinfo -h -N -o '%c CPUs %m MB')"
