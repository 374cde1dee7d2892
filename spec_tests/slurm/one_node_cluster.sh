# shellcheck shell=bash
# A throw-away one-node SLURM cluster (munged, slurmctld, slurmd as background processes under
# one mktemp folder), for tests. Source it from bash; see /work/shared/notes/slurm-one-node.md.
#   cluster_start           starts it; exports SLURM_CONF and CLUSTER_DIR. Where this machine cannot
#                           run a cluster (packages missing, not root, no free port) prints one
#                           line `SKIP: <reason>` and returns 1; where it can but a daemon does not
#                           start (this file's configuration, or a container that forbids it)
#                           prints `FAIL: <reason>` and the daemons' logs and returns 2. Either
#                           way nothing is left running.
#   cluster_stop            kills the daemons by PID, waits for them, removes the folder.
#   wait_for_job ID SECS    waits until every task of job ID has ended (or left the queue);
#                           returns 1 on timeout.
#   cluster_logs            prints the daemons' logs.
# Needs root (slurmd runs the jobs as the submitting user) and the packages slurmctld slurmd
# slurm-client munge. The ports are picked free at random, so another cluster does not clash.

CLUSTER_DIR=
CLUSTER_PIDS=

# A TCP port nobody listens on (random, so that two clusters started at once rarely pick the same).
_cluster_free_port() {
  local port tries=0
  while [ $tries -lt 50 ]; do
    port=$((20000 + RANDOM % 40000))
    # Connecting fails when nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
    tries=$((tries + 1))
  done
  return 1
}

# A daemon that did not start, on a machine that should run it: a failure, not a skip (a broken
# generated configuration must not read as "cannot run here").
_cluster_fail() {
  echo "FAIL: $*"
  cluster_logs
  cluster_stop
  return 2
}

# The last non-empty line of a log, to say why a daemon failed in the one SKIP line.
_cluster_last_line() {
  [ -f "$1" ] && grep -v '^[[:space:]]*$' "$1" | tail -n 1
}

cluster_start() {
  local bin var w port_ctld port_d t0 state pid entry _
  for bin in munged mungekey slurmctld slurmd sbatch scontrol sinfo; do
    command -v "$bin" > /dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$bin" > /dev/null || {
      echo "SKIP: $bin not found (apt-get install slurmctld slurmd slurm-client munge)"
      return 1
    }
  done
  PATH=$PATH:/usr/sbin:/sbin
  # Run inside a job of a real cluster, its SLURM_*/SBATCH_* variables would steer our sbatch
  # (and make an unsharded vqvae run a shard).
  for var in $(compgen -e); do
    case $var in SLURM_* | SBATCH_* | SALLOC_* | SRUN_*) unset "$var" ;; esac
  done
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: not root (slurmd must run as root)"; return 1; }
  if ! { port_ctld=$(_cluster_free_port) && port_d=$(_cluster_free_port) && [ "$port_ctld" != "$port_d" ]; }; then
    echo "SKIP: no free TCP port for slurmctld/slurmd"
    return 1
  fi

  w=$(mktemp -d "${TMPDIR:-/tmp}/slurm_cluster_XXXXXX") || { echo "SKIP: mktemp -d failed"; return 1; }
  CLUSTER_DIR=$w
  mkdir -p "$w/munge" "$w/state" "$w/spool" "$w/log"
  chmod 755 "$w" "$w/munge"   # munged refuses a socket folder that is not 755 (nor its parent)
  mungekey -c -k "$w/munge/munge.key" > /dev/null 2>&1 || { _cluster_fail "mungekey -c failed"; return 2; }
  chmod 600 "$w/munge/munge.key"

  # Node: 2 CPUs at most (the test's arrays run 2 at a time); RealMemory under what slurmd -C
  # reports, or the node drains.
  local cpus
  cpus=$(nproc 2>/dev/null || echo 1)
  [ "$cpus" -le 2 ] || cpus=2
  cat > "$w/slurm.conf" <<CONF
ClusterName=onenode
SlurmctldHost=localhost
SlurmctldPort=$port_ctld
SlurmdPort=$port_d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$w/munge/munge.sock
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
StateSaveLocation=$w/state
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/log/slurmctld.log
SlurmdLogFile=$w/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$w/slurm.conf

  # In the foreground, as our child: its PID is $!, and `wait` reaps it (a daemonized munged
  # leaves a zombie here, where PID 1 does not reap).
  munged --foreground --key-file="$w/munge/munge.key" --socket="$w/munge/munge.sock" \
    --pid-file="$w/munge/munged.pid" --log-file="$w/log/munged.log" --seed-file="$w/munge/munged.seed" \
    > "$w/log/munged.stdout" 2>&1 &
  CLUSTER_PIDS="munged:$!"
  for _ in $(seq 50); do [ -S "$w/munge/munge.sock" ] && break; sleep 0.1; done
  [ -S "$w/munge/munge.sock" ] ||
    { _cluster_fail "munged did not start: $(_cluster_last_line "$w/log/munged.stdout")"; return 2; }

  slurmctld -D -f "$w/slurm.conf" > "$w/log/slurmctld.stdout" 2>&1 &
  CLUSTER_PIDS="$CLUSTER_PIDS slurmctld:$!"
  slurmd -D -f "$w/slurm.conf" -N localhost > "$w/log/slurmd.stdout" 2>&1 &
  CLUSTER_PIDS="$CLUSTER_PIDS slurmd:$!"

  t0=$SECONDS
  while :; do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null)
    [ "$state" = idle ] && return 0
    for entry in $CLUSTER_PIDS; do
      kill -0 "${entry#*:}" 2>/dev/null && continue
      _cluster_fail "${entry%%:*} exited: $(_cluster_last_line "$w/log/${entry%%:*}.stdout")"
      return 2
    done
    if [ $((SECONDS - t0)) -ge 30 ]; then
      _cluster_fail "node not idle after 30 s (state '${state:-none}'): $(_cluster_last_line "$w/log/slurmd.stdout")"
      return 2
    fi
    sleep 0.2
  done
}

cluster_stop() {
  local entry pid _
  # Jobs still running would outlive slurmd (slurmstepd): cancel them while slurmctld is up.
  if [ -n "${SLURM_CONF:-}" ] && [ -n "$CLUSTER_PIDS" ]; then
    scancel --quiet --partition=debug 2>/dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h -t R,CG 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  for entry in $CLUSTER_PIDS; do kill "${entry#*:}" 2>/dev/null; done
  for entry in $CLUSTER_PIDS; do
    pid=${entry#*:}
    # Not our child when the caller's shell is not the one that started it: then poll.
    wait "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  CLUSTER_PIDS=
  [ -n "$CLUSTER_DIR" ] && rm -rf "$CLUSTER_DIR"
  CLUSTER_DIR=
  unset SLURM_CONF
  return 0
}

cluster_logs() {
  local f
  [ -n "$CLUSTER_DIR" ] || return 0
  # *.log only: the *.stdout files (the daemons' stderr under -D) repeat them.
  for f in "$CLUSTER_DIR"/log/*.log; do
    [ -s "$f" ] || continue
    echo "---- $(basename "$f") (last 40 lines)"
    tail -n 40 "$f"
  done
}

# Every task of job $1 has ended: COMPLETED, FAILED, CANCELLED, TIMEOUT, ... or is no longer
# known (it left the queue after MinJobAge). Returns 1 after $2 seconds.
wait_for_job() {
  local job=$1 timeout=$2 t0=$SECONDS out
  while :; do
    out=$(scontrol -o show job "$job" 2>&1) || {
      printf '%s\n' "$out" | grep -q 'Invalid job id' && return 0
    }
    printf '%s\n' "$out" | grep -qE 'JobState=(PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|SIGNALING|STAGE_OUT)' ||
      return 0
    [ $((SECONDS - t0)) -lt "$timeout" ] || return 1
    sleep 0.5
  done
}

# One line per task of job $1: JobId, ArrayTaskId, JobState, Reason, ExitCode.
job_states() {
  scontrol -o show job "$1" 2>&1 | tr ' ' '\n' | grep -E '^(JobId|ArrayTaskId|JobState|Reason|ExitCode)=|^$|error' |
    paste -sd' ' | sed 's/ JobId=/\nJobId=/g'
}
