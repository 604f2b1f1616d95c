#!/usr/bin/env bash
# A one-node SLURM cluster for the tests, in a folder of its own: munged, slurmctld and slurmd,
# with a config generated there (free ports, state, spool, logs and pid files all inside it).
#
#   cluster.sh start DIR    starts the daemons; prints SLURM_CONF=DIR/slurm.conf once the node
#                           takes jobs; exit 3 (and why, on stderr) where they cannot start
#   cluster.sh stop DIR     stops the daemons it started, by their pid files
#
# Needs root (slurmd runs jobs as their user), Debian's slurm-wlm and munge. Clients (sbatch,
# squeue) find the cluster through SLURM_CONF.
set -uo pipefail
action=${1:?usage: cluster.sh start|stop DIR}
dir=${2:?usage: cluster.sh start|stop DIR}

stop() {
  for name in slurmd slurmctld; do
    [[ -f "$dir/$name.pid" ]] && kill "$(cat "$dir/$name.pid")" 2> /dev/null
  done
  local munge
  munge=$(cat "$dir/munge.dir" 2> /dev/null)
  [[ -n $munge && -f "$munge/munged.pid" ]] && kill "$(cat "$munge/munged.pid")" 2> /dev/null
  for _ in $(seq 50); do
    alive=0
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" ${munge:+"$munge/munged.pid"}; do
      [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2> /dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  [[ -n $munge && $munge == /tmp/kdpipe-munge-* ]] && rm -rf "$munge"
  return 0
}
cannot() { echo "cannot start a SLURM cluster here: $*" >&2; stop; exit 3; }

if [[ $action == stop ]]; then stop; exit 0; fi
[[ $action == start ]] || { echo "usage: cluster.sh start|stop DIR" >&2; exit 2; }
[[ $(id -u) == 0 ]] || cannot "not root"
for tool in munged slurmctld slurmd sbatch squeue sinfo; do
  command -v "$tool" > /dev/null || cannot "$tool not found (apt-get install slurm-wlm munge)"
done
id munge > /dev/null 2>&1 || cannot "no munge user"

mkdir -p "$dir"/{state,spool}
# munged runs as user munge, which must reach its files: a folder of its own under /tmp (DIR may
# sit inside a folder only root can enter), recorded for stop.
munge=$(mktemp -d /tmp/kdpipe-munge-XXXXXX) && chmod 755 "$munge" && echo "$munge" > "$dir/munge.dir"
chown munge: "$munge" && chmod 700 "$munge"
head -c 1024 /dev/urandom > "$munge/munge.key"
chown munge: "$munge/munge.key" && chmod 400 "$munge/munge.key"
su -s /bin/sh munge -c "munged --force --key-file=$munge/munge.key --socket=$munge/munge.sock \
  --pid-file=$munge/munged.pid --log-file=$munge/munged.log --seed-file=$munge/munged.seed" ||
  cannot "munged did not start ($(tail -1 "$munge/munged.log" 2> /dev/null))"

read -r ctld_port slurmd_port < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
cat > "$dir/slurm.conf" <<CONF
ClusterName=kdpipe-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$munge/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -i || cannot "slurmctld did not start ($(tail -1 "$dir/slurmctld.log" 2> /dev/null))"
slurmd || cannot "slurmd did not start ($(tail -1 "$dir/slurmd.log" 2> /dev/null))"
for _ in $(seq 100); do
  state=$(sinfo --noheader --format=%t 2> /dev/null | head -1)
  if [[ $state == idle* ]]; then echo "SLURM_CONF=$SLURM_CONF"; exit 0; fi
  sleep 0.2
done
cannot "the node never became idle (sinfo: ${state:-no answer}; $(tail -1 "$dir/slurmctld.log"))"
