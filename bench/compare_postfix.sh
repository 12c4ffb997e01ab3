#!/usr/bin/env bash
# Side-by-side SMTP acceptance rate: ternd vs a stock Postfix (vs smtp-sink), one load generator.
#
# Every peer gets the same Postfix smtp-source command (SESSIONS parallel sessions, MESSAGES
# messages of SIZE bytes, one message per connection, smtp-source's default) against a loopback
# port, and is timed from the first connection to the last QUIT. Then the script checks that the
# peer really holds every message:
#   ternd    --spool_sync=fdatasync (its default); tern_smtp_messages_total{result="accepted"} summed over shards
#   postfix  a private instance (own config, queue and data directories under the run dir), its
#            defaults (fsync per queue file) except: listens on 127.0.0.1 only, no DNS, mail from
#            127.0.0.0/8 is relayed and put on HOLD (written to the queue, never delivered; the
#            only transports defined are error(8)/retry), default_process_limit >= 100.
#            Counted as files in its queue directories.
#   sink     smtp-sink -u nobody (no disk at all), counted with its -c counter.
# Set POSTFIX_QUEUE=defer to leave the mail in Postfix's incoming queue instead, so qmgr moves
# every message to active and then to deferred (defer_transports), as a relay would under load.
#
# MODE=relay measures end-to-end relaying instead: each peer gets its own smtp-sink
# (-c -u nobody) as next hop (ternd: --smarthost=[127.0.0.1]:PORT; Postfix: relayhost with its
# smtp(8) client and stock connection caching) and is timed from the first connection of
# smtp-source until the sink has counted every message. PEERS defaults to "ternd postfix".
# RELAY_SINK=tern-bench gives each peer a `tern-bench sink --exit_after=MESSAGES` instead
# (checks every body; faster than smtp-sink, which a relay at several thousand messages a
# second can saturate), counted from its JSON summary when it exits.
#
# MODE=internet is relaying that looks like the Internet: the generator spreads the messages
# over DOMAINS (1000) recipient domains (tern-bench source --to_domains), each domain is its own
# next hop (a port of its own on 127.0.0.1), and behind them are four tern-bench sinks, one per
# delay in SINK_DELAYS ("20ms 30ms 40ms 50ms"), each holding every reply (greeting, EHLO, MAIL,
# RCPT, DATA/BDAT, end of data, QUIT) that long: a round trip to a remote server. Each domain
# reaches its port by a route (ternd --route, Postfix transport_maps, Haraka a get_mx plugin),
# and every peer gets the same concurrency: DEST_CONNECTIONS (20) connections per destination,
# TOTAL_CONNECTIONS (100) in all. Timed from the generator's start until every sink has counted
# its share (--exit_after). PEERS defaults to "ternd postfix haraka".
#
# Usage: bench/compare_postfix.sh     (as root: Postfix runs its daemons as user postfix)
# Env: LOADGEN (smtp-source|tern-bench) MODE (accept|relay|internet) MESSAGES (20000) SESSIONS (50) SIZE (4096) PEERS ("ternd postfix sink")
#      POSTFIX_QUEUE (hold|defer) POSTFIX_PROCESS_LIMIT (100) RUN_TIMEOUT (seconds, 900)
#      BENCH_DIR (repo/var/bench-compare: must be on the disk under test, not tmpfs)
#      TERND_FLAGS (extra ternd flags) KEEP=1 (keep the run directory) BUILD=0 (skip ninja)
#      MODE=internet: DOMAINS (1000) SINK_DELAYS ("20ms 30ms 40ms 50ms") DEST_CONNECTIONS (20)
#      TOTAL_CONNECTIONS (100) TERND_TOTAL_LIMIT (1; 0: ternd without a total limit, its default)
# Exit status: 0 when every peer accepted every message, 1 otherwise, 2 on a set-up error.
set -euo pipefail

readonly REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly MESSAGES="${MESSAGES:-20000}"
readonly SESSIONS="${SESSIONS:-50}"
readonly SIZE="${SIZE:-4096}"
readonly MODE="${MODE:-accept}"
if [[ "$MODE" == relay ]]; then
  readonly PEERS="${PEERS:-ternd postfix}"
elif [[ "$MODE" == internet ]]; then
  readonly PEERS="${PEERS:-ternd postfix haraka}"
else
  readonly PEERS="${PEERS:-ternd postfix sink}"
fi
readonly POSTFIX_QUEUE="${POSTFIX_QUEUE:-hold}"
readonly POSTFIX_PROCESS_LIMIT="${POSTFIX_PROCESS_LIMIT:-100}"
readonly RUN_TIMEOUT="${RUN_TIMEOUT:-900}"
readonly BENCH_DIR="${BENCH_DIR:-$REPO/var/bench-compare}"
readonly TERND_FLAGS="${TERND_FLAGS:-}"
readonly DOMAINS="${DOMAINS:-1000}"
read -r -a SINK_DELAY_LIST <<<"${SINK_DELAYS:-20ms 30ms 40ms 50ms}"
readonly DEST_CONNECTIONS="${DEST_CONNECTIONS:-20}"
readonly TOTAL_CONNECTIONS="${TOTAL_CONNECTIONS:-100}"
# MODE=internet: recipients are b@d0.bench.test .. b@d(DOMAINS-1).bench.test.
readonly INTERNET_DOMAIN=bench.test
readonly SMTP_SOURCE=/usr/sbin/smtp-source
# The load generator: smtp-source (Postfix's) or tern-bench (tern-bench source: io_uring,
# pipelined, many messages per connection unless --messages_per_connection=1).
readonly LOADGEN="${LOADGEN:-smtp-source}"
# Extra generator flags for every peer, e.g. SOURCE_FLAGS=-d (smtp-source: many messages per
# connection) or SOURCE_FLAGS=--messages_per_connection=1 (tern-bench).
SOURCE_FLAGS="${SOURCE_FLAGS:-}"
readonly SMTP_SINK=/usr/sbin/smtp-sink
readonly TERND="$REPO/build/bin/ternd"
readonly TERNCTL="$REPO/build/bin/ternctl"
readonly TERN_BENCH="$REPO/build/bin/tern-bench"
# RESULTS_DIR: also write results.tsv lines (mode size peer messages seconds msgs/s ok
# server-cpu-s generator-cpu-s) and each peer's generator output there (bench/compare.py).
readonly RESULTS_DIR="${RESULTS_DIR:-}"
readonly START_WAIT_S=20 # bound on any server's start-up
readonly STOP_WAIT_S=30  # bound on any server's shutdown
readonly CLK_TCK="$(getconf CLK_TCK)"

log() { printf '%s\n' "$*" >&2; }
die() {
  log "compare_postfix: $*"
  exit 2
}

for v in MESSAGES SESSIONS SIZE POSTFIX_PROCESS_LIMIT RUN_TIMEOUT DOMAINS DEST_CONNECTIONS TOTAL_CONNECTIONS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
[[ "$POSTFIX_QUEUE" == hold || "$POSTFIX_QUEUE" == defer ]] || die "POSTFIX_QUEUE: hold or defer"
[[ "$MODE" == accept || "$MODE" == relay || "$MODE" == internet ]] ||
  die "MODE: accept, relay or internet"
if [[ "$MODE" == internet ]]; then
  [[ "$LOADGEN" == tern-bench ]] || die "MODE=internet needs LOADGEN=tern-bench (--to_domains)"
  ((${#SINK_DELAY_LIST[@]} >= 1 && DOMAINS % ${#SINK_DELAY_LIST[@]} == 0)) ||
    die "DOMAINS must be a multiple of the number of SINK_DELAYS"
fi
((POSTFIX_PROCESS_LIMIT >= SESSIONS * 2)) ||
  log "note: POSTFIX_PROCESS_LIMIT=$POSTFIX_PROCESS_LIMIT < 2*SESSIONS: smtpd and cleanup" \
    "processes share that limit, Postfix may not serve $SESSIONS sessions in parallel"
[[ $EUID -eq 0 ]] || die "run as root (Postfix and smtp-sink -u need it)"
[[ -x "$SMTP_SOURCE" ]] || die "$SMTP_SOURCE missing (apt-get install postfix)"

# ---------------------------------------------------------------------------------------------
# Run directory, stale instances, cleanup.

mkdir -p "$BENCH_DIR"
# One run at a time: two would share the CPUs and disk, and each would take the other's run
# directory for a stale one. (Every process started below gets 9>&-, so that none of them
# holds the lock after the script.)
exec 9>"$BENCH_DIR/lock"
flock -n 9 || die "another compare_postfix.sh is running (lock: $BENCH_DIR/lock)"
# A previous run killed with SIGKILL may have left its Postfix behind: stop it before we start.
for stale in "$BENCH_DIR"/run.*; do
  [[ -d "$stale" ]] || continue
  if [[ -f "$stale/postfix/queue/pid/master.pid" ]]; then
    pid="$(tr -d ' ' <"$stale/postfix/queue/pid/master.pid" || true)"
    if [[ -n "$pid" ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == master ]]; then
      log "stopping a Postfix left by an earlier run ($stale, master pid $pid)"
      postfix -c "$stale/postfix/conf" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < STOP_WAIT_S * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$stale"
done

RUN="$(mktemp -d "$BENCH_DIR/run.XXXXXX")"
chmod 755 "$RUN" # the postfix user must reach its queue below it
TERND_PID=""
SINK_PID=""
RELAY_SINK_PID=""
RELAY_SINK_PORT=""
SOURCE_PID=""
PEER_SOURCE_FLAGS="" # generator flags for the peer being measured only
PF_CONF=""
PF_MASTER=""

# Stop a process we started and wait (bounded) for it; SIGKILL after the bound.
stop_pid() {
  local pid="$1" sig="${2:-TERM}"
  [[ -n "$pid" ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_WAIT_S * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid ignored SIG$sig for ${STOP_WAIT_S}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

postfix_stop() {
  [[ -n "$PF_CONF" ]] || return 0
  local children=""
  if [[ -n "$PF_MASTER" ]]; then children="$(pgrep -P "$PF_MASTER" || true)"; fi
  # Bounded: on a loaded host "postfix stop" has been seen to hang in "master -t".
  timeout "$STOP_WAIT_S" postfix -c "$PF_CONF" stop >/dev/null 2>&1 || true
  if [[ -n "$PF_MASTER" ]]; then
    stop_pid "$PF_MASTER" TERM
    # The daemons exit when their master's status pipe closes; bound that too.
    for c in $children; do
      for ((i = 0; i < STOP_WAIT_S * 10; i++)); do
        kill -0 "$c" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$c" 2>/dev/null || true
    done
  fi
  PF_CONF=""
  PF_MASTER=""
}

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SOURCE_PID" ]]; then # the python timer and its smtp-source
    pkill -TERM -P "$SOURCE_PID" 2>/dev/null
    stop_pid "$SOURCE_PID" TERM
  fi
  stop_pid "$TERND_PID" TERM
  stop_pid "$SINK_PID" TERM
  stop_pid "$RELAY_SINK_PID" TERM
  stop_internet_sinks
  stop_pid "${HARAKA_PID:-}" TERM
  postfix_stop
  if [[ "${KEEP:-0}" == 1 ]]; then
    log "kept $RUN"
  else
    rm -rf "$RUN"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------------------------------------
# Helpers.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # host port seconds
  python3 - "$@" <<'EOF'
import socket, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.settimeout(10); s.recv(512)  # the greeting: the server is really serving
            sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# CPU seconds (user+sys) of a process, plus its reaped children when $2 == tree.
# Reads Prometheus text on stdin; prints the upper bound (in ms) of the bucket of histogram
# $1 (summed over shards) where quantile $2 falls, e.g. "<=2.048ms", or "n/a".
histogram_quantile() {
  awk -v name="$1" -v q="$2" '
    index($0, name "_bucket{") == 1 {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      if (!(le in count)) order[n++] = le
      count[le] += $NF
    }
    END {
      total = n ? count[order[n - 1]] : 0
      if (!total) { print "n/a"; exit }
      for (i = 0; i < n; i++) if (count[order[i]] >= q * total) break
      if (order[i] == "+Inf") print ">" order[i - 1] * 1000 "ms"; else print "<=" order[i] * 1000 "ms"
    }'
}

proc_cpu_ticks() {
  local pid="$1" mode="${2:-self}" stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || {
    echo 0
    return
  }
  stat="${stat##*) }" # fields from 3 on; comm may hold spaces
  read -r -a f <<<"$stat"
  if [[ "$mode" == tree ]]; then
    echo $((f[11] + f[12] + f[13] + f[14])) # utime stime cutime cstime
  else
    echo $((f[11] + f[12]))
  fi
}

# CPU ticks of a master process with its reaped children, plus its live children.
family_cpu_ticks() { # pid
  local total c
  total="$(proc_cpu_ticks "$1" tree)"
  for c in $(pgrep -P "$1" || true); do
    total=$((total + $(proc_cpu_ticks "$c")))
  done
  echo "$total"
}

postfix_cpu_ticks() { family_cpu_ticks "$PF_MASTER"; } # master, reaped and live daemons

host_cpu_snapshot() { # "total idle iowait" jiffies of all CPUs
  awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $5, $6; exit}' /proc/stat
}

# Runs smtp-source (bounded) and prints "rc wall_s cpu_s" (cpu: smtp-source's user+sys).
timed_source() { # port logfile
  local port="$1" out="$2"
  python3 -c '
import resource, subprocess, sys, time
t0 = time.monotonic()
with open(sys.argv[1], "w") as out:
    try:
        rc = subprocess.call(sys.argv[3:], stdout=out, stderr=subprocess.STDOUT,
                             timeout=float(sys.argv[2]))
    except subprocess.TimeoutExpired:
        rc = 124
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, "%.3f" % wall, "%.2f" % (ru.ru_utime + ru.ru_stime))
' "$out" "$RUN_TIMEOUT" $(source_cmd "$port")
}

# The generator's command line against 127.0.0.1:$1 (word-split by the callers).
source_cmd() {
  if [[ "$LOADGEN" == tern-bench ]]; then
    local to="--to=b@example.net"
    [[ "$MODE" == internet ]] && to="--to=b@$INTERNET_DOMAIN --to_domains=$DOMAINS"
    echo "$TERN_BENCH source --target=127.0.0.1:$1 --connections=$SESSIONS --messages=$MESSAGES --size=$SIZE --sender=a@example.com $to --quiet --json${SOURCE_FLAGS:+ $SOURCE_FLAGS}${PEER_SOURCE_FLAGS:+ $PEER_SOURCE_FLAGS}"
  else
    echo "$SMTP_SOURCE ${SOURCE_FLAGS:+$SOURCE_FLAGS }-s $SESSIONS -m $MESSAGES -l $SIZE -f a@example.com -t b@example.net 127.0.0.1:$1"
  fi
}

# MODE=relay: a fresh smtp-sink per peer, the peer's next hop.
start_relay_sink() { # name
  RELAY_SINK_PORT="$(free_port)"
  if [[ "${RELAY_SINK:-smtp-sink}" == tern-bench ]]; then
    local cmd=("$TERN_BENCH" sink "--listen=127.0.0.1:$RELAY_SINK_PORT" "--exit_after=$MESSAGES"
      --quiet --json)
    "${cmd[@]}" >"$RUN/$1.relay-sink.out" 2>"$RUN/$1.relay-sink.err" 9>&- &
    RELAY_SINK_PID=$!
    wait_port 127.0.0.1 "$RELAY_SINK_PORT" "$START_WAIT_S" || die "tern-bench sink did not start"
    COMMANDS+=("sink:    ${cmd[*]}   (next hop of $1)")
    return
  fi
  "$SMTP_SINK" -c -u nobody "127.0.0.1:$RELAY_SINK_PORT" 256 >"$RUN/$1.relay-sink.out" 2>&1 9>&- &
  RELAY_SINK_PID=$!
  wait_port 127.0.0.1 "$RELAY_SINK_PORT" "$START_WAIT_S" || die "smtp-sink did not start"
  COMMANDS+=("sink:    $SMTP_SINK -c -u nobody 127.0.0.1:$RELAY_SINK_PORT 256   (next hop of $1)")
}

# Messages the relay sink of peer $1 has counted (-c prints "... mesg=N" lines ended by CR;
# tern-bench sink's JSON summary, written when it exits, says "messages":N).
relay_sink_count() { # name
  if [[ "${RELAY_SINK:-smtp-sink}" == tern-bench ]]; then
    sed -n 's/.*"messages":\([0-9][0-9]*\).*/\1/p' "$RUN/$1.relay-sink.out" | tail -n 1 || true
    return
  fi
  tr '\r' '\n' <"$RUN/$1.relay-sink.out" | sed -n 's/.*mesg=\([0-9][0-9]*\).*/\1/p' |
    tail -n 1 || true
}

stop_relay_sink() {
  stop_pid "$RELAY_SINK_PID" TERM
  RELAY_SINK_PID=""
}

# MODE=internet: DOMAINS next hops, 127.0.0.1:INTERNET_BASE_PORT+j for domain dj, served by one
# tern-bench sink per delay (a block of DOMAINS/#delays consecutive ports each), fresh per peer.
INTERNET_BASE_PORT=""
declare -a INTERNET_SINK_PIDS=()

# A base port with DOMAINS free ports above it, below the ephemeral range.
free_port_block() {
  python3 - "$DOMAINS" <<'PYEOF'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(50):
    base = random.randrange(20000, 32000 - count)
    socks = []
    try:
        for port in range(base, base + count):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", port))
        print(base)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
sys.exit(1)
PYEOF
}

# Messages the generator sends to domain j: MESSAGES/DOMAINS, one more for the first ones.
domain_messages() { echo $((MESSAGES / DOMAINS + ($1 < MESSAGES % DOMAINS ? 1 : 0))); }

internet_port() { echo $((INTERNET_BASE_PORT + $1)); } # of domain j

internet_routes() { # prints "domain port" per line
  local j
  for ((j = 0; j < DOMAINS; j++)); do echo "d$j.$INTERNET_DOMAIN $((INTERNET_BASE_PORT + j))"; done
}

start_internet_sinks() { # name
  local name="$1" k j share per=$((DOMAINS / ${#SINK_DELAY_LIST[@]})) attempt started
  for attempt in 1 2 3; do # a port can be taken between the probe and the bind
    INTERNET_BASE_PORT="$(free_port_block)" || die "no block of $DOMAINS free ports"
    INTERNET_SINK_PIDS=()
    started=1
    for ((k = 0; k < ${#SINK_DELAY_LIST[@]}; k++)); do
      local d="${SINK_DELAY_LIST[$k]}" first=$((INTERNET_BASE_PORT + k * per))
      share=0
      for ((j = k * per; j < (k + 1) * per; j++)); do share=$((share + $(domain_messages "$j"))); done
      local cmd=("$TERN_BENCH" sink "--listen=127.0.0.1:$first-$((first + per - 1))"
        "--delay=connect:$d,ehlo:$d,mail:$d,rcpt:$d,data:$d,dot:$d,quit:$d"
        "--exit_after=$share" --ready_file="$RUN/$name.isink$k.ready" --quiet --json)
      rm -f "$RUN/$name.isink$k.ready"
      "${cmd[@]}" >"$RUN/$name.isink$k.json" 2>"$RUN/$name.isink$k.err" 9>&- &
      INTERNET_SINK_PIDS+=($!)
      ((attempt == 1)) &&
        COMMANDS+=("sink:    ${cmd[*]}   ($name's: domains d$((k * per)) .. d$(((k + 1) * per - 1)), $share messages)")
    done
    for ((k = 0; k < ${#SINK_DELAY_LIST[@]}; k++)); do
      local ok=0
      for ((i = 0; i < START_WAIT_S * 10; i++)); do
        [[ -s "$RUN/$name.isink$k.ready" ]] && ok=1 && break
        job_running "${INTERNET_SINK_PIDS[$k]}" || break
        sleep 0.1
      done
      ((ok)) || started=0
    done
    ((started)) && return 0
    log "internet sinks did not start (attempt $attempt): $(cat "$RUN/$name".isink*.err | head -n 3)"
    stop_internet_sinks
  done
  die "tern-bench sinks did not start"
}

# Messages the sinks of peer $1 answered 250 at end of data (their JSON summaries).
internet_sink_count() { # name
  cat "$RUN/$1".isink*.json 2>/dev/null |
    sed -n 's/.*"messages":\([0-9][0-9]*\).*/\1/p' | awk '{s+=$1} END{print s+0}'
}

# Whether background job $1 of this shell still runs (a sink that exited at --exit_after has
# been reaped, and its pid may belong to someone else by now: never signal it).
job_running() { [[ " $(jobs -pr | tr '\n' ' ') " == *" $1 "* ]]; }

stop_internet_sinks() {
  local pid
  for pid in "${INTERNET_SINK_PIDS[@]}"; do
    if job_running "$pid"; then stop_pid "$pid" TERM; fi
  done
  INTERNET_SINK_PIDS=()
}

declare -A R_MSGS R_WALL R_SRV_CPU R_CLI_CPU R_HOST_BUSY R_HOST_IOWAIT R_NOTE R_OK
declare -a R_ORDER=() COMMANDS=()

# Measures one run against a server already listening on $port. $2: function printing the
# server's CPU ticks so far (empty: none).
measure() { # name port cpu_fn
  local name="$1" port="$2" cpu_fn="$3" srv0=0 srv1=0 h0 h1 res rc wall cli t0 t1 i0 i1 w0 w1
  sync # do not make this peer pay for the previous one's dirty pages
  [[ -n "$cpu_fn" ]] && srv0="$($cpu_fn)"
  h0="$(host_cpu_snapshot)"
  local started_ns
  started_ns="$(date +%s%N)"
  # In the background and waited for: bash runs the trap at once on a signal during "wait",
  # but only after a foreground command ends.
  timed_source "$port" "$RUN/$name.source.log" >"$RUN/$name.timing" 9>&- &
  SOURCE_PID=$!
  wait "$SOURCE_PID" || true
  SOURCE_PID=""
  res="$(cat "$RUN/$name.timing")"
  if [[ "$MODE" == internet ]]; then
    # End to end: until every sink has counted its share and exited (bounded by RUN_TIMEOUT).
    local source_rc pid alive
    read -r source_rc _ <<<"$res"
    for ((i = 0; i < RUN_TIMEOUT * 50; i++)); do
      [[ "$source_rc" != 0 ]] && ((i >= 50)) && break
      alive=0
      for pid in "${INTERNET_SINK_PIDS[@]}"; do job_running "$pid" && alive=1 && break; done
      ((alive)) || break
      sleep 0.02
    done
    local relay_wall
    relay_wall="$(awk -v a="$started_ns" -v b="$(date +%s%N)" 'BEGIN{printf "%.3f", (b-a)/1e9}')"
    read -r rc wall cli <<<"$res"
    res="$rc $relay_wall $cli"
    stop_internet_sinks
    RELAY_DELIVERED="$(internet_sink_count "$name")"
    if [[ -n "$RESULTS_DIR" ]]; then # the sinks' summaries: connections, replies
      mkdir -p "$RESULTS_DIR"
      for f in "$RUN/$name".isink*.json; do cp "$f" "$RESULTS_DIR/$MODE-$SIZE-${f##*/}"; done
    fi
  elif [[ "$MODE" == relay || "${MEASURE_UNTIL_SINK:-0}" == 1 ]]; then
    # End to end: until the next hop has every message (bounded by RUN_TIMEOUT).
    local got=0 source_rc
    read -r source_rc _ <<<"$res"
    for ((i = 0; i < RUN_TIMEOUT * 20; i++)); do
      # A generator that failed will not send the rest: wait one second for stragglers only.
      [[ "$source_rc" != 0 ]] && ((i >= 20)) && break
      got="$(relay_sink_count "$name")"
      ((${got:-0} >= MESSAGES)) && break
      sleep 0.05
    done
    local relay_wall
    relay_wall="$(awk -v a="$started_ns" -v b="$(date +%s%N)" 'BEGIN{printf "%.3f", (b-a)/1e9}')"
    read -r rc wall cli <<<"$res"
    res="$rc $relay_wall $cli"
    RELAY_DELIVERED="${got:-0}"
  fi
  h1="$(host_cpu_snapshot)"
  [[ -n "$cpu_fn" ]] && srv1="$($cpu_fn)"
  read -r rc wall cli <<<"$res"
  R_ORDER+=("$name")
  R_WALL[$name]="$wall"
  R_CLI_CPU[$name]="$cli"
  R_SRV_CPU[$name]="$(awk -v a="$srv0" -v b="$srv1" -v t="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/t}')"
  read -r t0 i0 w0 <<<"$h0"
  read -r t1 i1 w1 <<<"$h1"
  R_HOST_BUSY[$name]="$(awk -v t=$((t1 - t0)) -v i=$((i1 - i0)) -v w=$((w1 - w0)) \
    'BEGIN{printf "%.0f", t ? 100*(t-i-w)/t : 0}')"
  R_HOST_IOWAIT[$name]="$(awk -v t=$((t1 - t0)) -v w=$((w1 - w0)) 'BEGIN{printf "%.0f", t ? 100*w/t : 0}')"
  R_NOTE[$name]=""
  if [[ "$rc" != 0 ]]; then
    R_NOTE[$name]="$LOADGEN exit $rc: $(tail -n 2 "$RUN/$name.source.log" | tr '\n' ' ')"
  fi
  log "$name: $LOADGEN finished in ${wall}s (exit $rc)"
}

# Records the count a peer reports and whether it is complete.
verdict() { # name count [note]
  local name="$1" count="$2"
  R_MSGS[$name]="$count"
  if [[ "$count" == "$MESSAGES" && -z "${R_NOTE[$name]}" ]]; then
    R_OK[$name]=1
  else
    R_OK[$name]=0
    R_NOTE[$name]="${R_NOTE[$name]:+${R_NOTE[$name]}; }accepted $count of $MESSAGES${3:+; $3}"
  fi
}

# ---------------------------------------------------------------------------------------------
# Peer 1: ternd, fdatasync group commit.

run_ternd() {
  [[ -x "$TERND" && -x "$TERNCTL" ]] || die "$TERND or $TERNCTL missing"
  local dir="$RUN/ternd" ready port admin next_hop=(--deliver=false)
  mkdir -p "$dir"
  ready="$dir/ready"
  if [[ "$MODE" == relay ]]; then
    start_relay_sink ternd
    next_hop=(--smarthost="[127.0.0.1]:$RELAY_SINK_PORT")
  elif [[ "$MODE" == internet ]]; then
    # A route per domain to its own port (a destination of its own, with its own connection
    # limit), in a flag file; the total limit is the one egress source's shaping limit.
    start_internet_sinks ternd
    internet_routes | awk '{printf "--route=%s=[127.0.0.1]:%s\n", $1, $2}' >"$dir/routes.flags"
    # TERND_TOTAL_LIMIT=0: no total (ternd's default), for comparison.
    next_hop=(--flagfile="$dir/routes.flags" --shaping="$dir/shaping.toml"
      --max_connections_per_destination="$DEST_CONNECTIONS" --delivery_log="$dir/delivery.jsonl")
    printf '[default]\nconnection_limit = %s\n' "$DEST_CONNECTIONS" >"$dir/shaping.toml"
    if [[ "${TERND_TOTAL_LIMIT:-1}" != 0 ]]; then
      printf '\n[source.lo]\nconnection_limit = %s\n' "$TOTAL_CONNECTIONS" >>"$dir/shaping.toml"
      next_hop+=(--egress_source=lo=127.0.0.1 --egress_pool=all=lo --default_pool=all)
    fi
  fi
  # shellcheck disable=SC2206
  local cmd=("$TERND" --listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --spool_dir="$dir/spool"
    --ready_file="$ready" "${next_hop[@]}" $TERND_FLAGS)
  COMMANDS+=("ternd:   ${cmd[*]}")
  "${cmd[@]}" >"$dir/ternd.log" 2>&1 9>&- &
  TERND_PID=$!
  for ((i = 0; i < START_WAIT_S * 10; i++)); do
    grep -q '^admin=' "$ready" 2>/dev/null && break
    kill -0 "$TERND_PID" 2>/dev/null || break
    sleep 0.1
  done
  port="$(sed -n 's/^smtp=127\.0\.0\.1://p' "$ready" 2>/dev/null | head -n 1)"
  admin="$(sed -n 's/^admin=//p' "$ready" 2>/dev/null | head -n 1)"
  if [[ -z "$port" || -z "$admin" ]]; then
    log "ternd did not start:"
    tail -n 20 "$dir/ternd.log" >&2
    R_ORDER+=(ternd)
    R_OK[ternd]=0 R_MSGS[ternd]=0 R_WALL[ternd]=0 R_NOTE[ternd]="did not start"
    stop_pid "$TERND_PID" KILL
    TERND_PID=""
    return
  fi
  COMMANDS+=("load:    $(source_cmd "$port")")
  ternd_cpu() { proc_cpu_ticks "$TERND_PID"; }
  local sampler=""
  if [[ "$MODE" == internet ]]; then
    # Every 0.25 s: seconds, accepted, delivered, open outbound connections, opened, reused.
    (
      while true; do
        "$TERNCTL" --admin="$admin" metrics 2>/dev/null | awk -v t="$(date +%s.%N)" '
          /^tern_smtp_messages_total\{.*result="accepted"/ {a += $NF}
          /^tern_delivery_recipients_total\{.*result="delivered"/ {d += $NF}
          /^tern_delivery_open_connections[{ ]/ {o += $NF}
          /^tern_delivery_connections_total\{.*result="opened"/ {n += $NF}
          /^tern_delivery_connections_total\{.*result="reused"/ {r += $NF}
          END {printf "%.2f %d %d %d %d %d\n", t, a, d, o, n, r}'
        sleep 0.25
      done
    ) >"$dir/timeline" 2>/dev/null 9>&- &
    sampler=$!
  fi
  measure ternd "$port" ternd_cpu
  if [[ -n "$sampler" ]]; then
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null || true
    awk '$4 > p {p = $4} END {print p + 0}' "$dir/timeline" >"$dir/peak_open"
    [[ -n "$RESULTS_DIR" ]] && mkdir -p "$RESULTS_DIR" && cp "$dir/timeline" "$RESULTS_DIR/$MODE-$SIZE-ternd.timeline"
  fi
  local metrics
  metrics="$("$TERNCTL" --admin="$admin" metrics 2>&1)" || metrics=""
  local accepted commits records
  accepted="$(awk '/^tern_smtp_messages_total\{.*result="accepted"/{s+=$NF} END{printf "%d", s}' <<<"$metrics")"
  commits="$(awk '/^tern_spool_commits_total\{.*result="ok"/{s+=$NF} END{printf "%d", s}' <<<"$metrics")"
  records="$(awk '/^tern_spool_records_per_commit_sum[{ ]/{s+=$NF} END{printf "%d", s}' <<<"$metrics")"
  TERND_COMMITS="$commits"
  TERND_RECORDS_PER_COMMIT="$(awk -v r="$records" -v c="$commits" 'BEGIN{printf "%.2f", c ? r/c : 0}')"
  TERND_SHARDS="$(grep -c '^tern_smtp_messages_total{.*result="accepted"' <<<"$metrics" || true)"
  TERND_COMMIT_LATENCY="commit p50 $(histogram_quantile tern_spool_commit_duration_seconds 0.5 <<<"$metrics")"
  TERND_COMMIT_LATENCY+=" p99 $(histogram_quantile tern_spool_commit_duration_seconds 0.99 <<<"$metrics")"
  TERND_COMMIT_LATENCY+="; a record's wait from append to durable p50 $(histogram_quantile tern_spool_record_wait_seconds 0.5 <<<"$metrics")"
  TERND_COMMIT_LATENCY+=" p99 $(histogram_quantile tern_spool_record_wait_seconds 0.99 <<<"$metrics")"
  stop_pid "$TERND_PID" TERM
  TERND_PID=""
  if [[ "$MODE" == relay || "$MODE" == internet ]]; then
    TERND_OUTBOUND="$(awk '/^tern_delivery_connections_total\{.*result="opened"/{s+=$NF} END{printf "%d", s}' <<<"$metrics")"
    [[ "$MODE" == relay ]] && stop_relay_sink
    if [[ "$MODE" == internet ]]; then
      TERND_OUTBOUND+=" opened, $(awk '/^tern_delivery_connections_total\{.*result="reused"/{s+=$NF} END{printf "%d", s}' <<<"$metrics") reused"
      TERND_OUTBOUND+=", $(awk '/^tern_delivery_transactions_total/{s+=$NF} END{printf "%d", s}' <<<"$metrics") transactions"
      TERND_OUTBOUND+=", peak open $(cat "$dir/peak_open" 2>/dev/null || echo '?')"
      echo "$metrics" >"$dir/metrics.txt"
      [[ -n "$RESULTS_DIR" ]] && mkdir -p "$RESULTS_DIR" && cp "$dir/metrics.txt" "$RESULTS_DIR/$MODE-$SIZE-ternd.metrics"
    fi
    verdict ternd "$RELAY_DELIVERED" "delivered to the sink"
  else
    verdict ternd "$accepted"
  fi
}

# ---------------------------------------------------------------------------------------------
# Peer 2: a private stock Postfix that queues and never delivers.

postfix_write_config() { # dir port
  local dir="$1" port="$2" conf="$1/conf" hold=""
  mkdir -p "$conf" "$dir/queue"
  chmod 755 "$dir" "$conf" "$dir/queue"
  [[ "$POSTFIX_QUEUE" == hold && "$MODE" == accept ]] && hold="check_client_access static:HOLD"
  cat >"$conf/main.cf" <<EOF
# Written by bench/compare_postfix.sh: a throw-away instance that queues and never delivers.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# No DNS anywhere: not for the client's name, not for a next hop.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject
# hold: every message accepted from 127.0.0.0/8 lands in the hold queue, where qmgr never looks.
smtpd_recipient_restrictions = $hold
# Nothing can leave: every address resolves to "nodelivery", which qmgr defers without
# contacting it (defer_transports), and which master.cf defines as error(8) anyway; smtp(8)
# and the local delivery agents are not defined at all. (Not "retry" or "error": smtpd would
# refuse those recipients at RCPT time.)
default_transport = nodelivery
relay_transport = nodelivery
local_transport = nodelivery
virtual_transport = nodelivery
defer_transports = nodelivery
alias_maps =
alias_database =
local_recipient_maps =
biff = no
# 50 sessions need 50 smtpd plus their cleanup processes; Postfix's default limit is 100.
default_process_limit = $POSTFIX_PROCESS_LIMIT
maillog_file = $dir/data/maillog
maillog_file_prefixes = $dir
EOF
  cat >"$conf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$port inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
nodelivery unix -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  if [[ "$MODE" == internet ]]; then
    # Each domain to its own port through its stock smtp(8) client; the same concurrency as
    # the others: DEST_CONNECTIONS per destination, TOTAL_CONNECTIONS smtp(8) processes.
    internet_routes | awk '{printf "%s smtp:[127.0.0.1]:%s\n", $1, $2}' >"$conf/transport"
    cat >>"$conf/main.cf" <<EOF
# MODE=internet: a route per domain (stock client settings, connection cache on demand).
transport_maps = texthash:$conf/transport
default_transport = smtp
relay_transport = smtp
defer_transports =
default_destination_concurrency_limit = $DEST_CONNECTIONS
smtp_destination_concurrency_limit = $DEST_CONNECTIONS
EOF
    echo "smtp      unix  -       -       n       -       $TOTAL_CONNECTIONS     smtp" >>"$conf/master.cf"
  elif [[ "$MODE" == relay ]]; then
    # End to end: everything goes to the relay sink through Postfix's stock smtp(8) client.
    cat >>"$conf/main.cf" <<EOF
# MODE=relay: deliver everything to the benchmark's smtp-sink (stock client settings).
relayhost = [127.0.0.1]:$RELAY_SINK_PORT
default_transport = smtp
relay_transport = smtp
defer_transports =
EOF
    echo "smtp      unix  -       -       n       -       -       smtp" >>"$conf/master.cf"
  fi
}

postfix_count_queued() { # queue dir
  local q="$1" n=0 d
  for d in maildrop incoming active deferred hold; do
    [[ -d "$q/$d" ]] && n=$((n + $(find "$q/$d" -type f | wc -l)))
  done
  echo "$n"
}

run_postfix() {
  command -v postfix >/dev/null || die "postfix missing (apt-get install postfix)"
  local dir="$RUN/postfix" port started=0
  [[ "$MODE" == relay ]] && start_relay_sink postfix
  [[ "$MODE" == internet ]] && start_internet_sinks postfix
  for attempt in 1 2 3; do # a free port can be taken between the probe and the bind
    port="$(free_port)"
    rm -rf "$dir"
    postfix_write_config "$dir" "$port"
    PF_CONF="$dir/conf"
    if ! postfix -c "$PF_CONF" check >"$dir/check.log" 2>&1; then
      cat "$dir/check.log" >&2
      die "postfix check failed"
    fi
    postfix -c "$PF_CONF" start >"$dir/start.log" 2>&1 9>&- || true
    for ((i = 0; i < START_WAIT_S * 10; i++)); do
      [[ -s "$dir/queue/pid/master.pid" ]] && break
      sleep 0.1
    done
    PF_MASTER="$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null || true)"
    if [[ -n "$PF_MASTER" ]] && wait_port 127.0.0.1 "$port" "$START_WAIT_S"; then
      started=1
      break
    fi
    log "postfix did not come up on port $port (attempt $attempt):"
    cat "$dir/start.log" >&2
    tail -n 5 "$dir/data/maillog" >&2 2>/dev/null || true
    postfix_stop
  done
  if ((!started)); then
    [[ "$MODE" == relay ]] && stop_relay_sink
    stop_internet_sinks
    R_ORDER+=(postfix)
    R_OK[postfix]=0 R_MSGS[postfix]=0 R_WALL[postfix]=0 R_NOTE[postfix]="did not start"
    return
  fi
  COMMANDS+=("postfix: postfix -c $PF_CONF start   (main.cf/master.cf: KEEP=1 keeps them)")
  COMMANDS+=("load:    $(source_cmd "$port")")
  measure postfix "$port" postfix_cpu_ticks
  # A cleanup may still be renaming its last file: wait (bounded) for the count to settle.
  local count prev=-1
  for ((i = 0; i < 50; i++)); do
    count="$(postfix_count_queued "$dir/queue")"
    [[ "$count" == "$prev" || "$count" == "$MESSAGES" ]] && break
    prev="$count"
    sleep 0.2
  done
  POSTFIX_QUEUE_REPORT="$(postqueue -c "$PF_CONF" -p 2>/dev/null | tail -n 1 || true)"
  postfix_stop
  if [[ "$MODE" == relay || "$MODE" == internet ]]; then
    [[ "$MODE" == relay ]] && stop_relay_sink
    verdict postfix "$RELAY_DELIVERED" "delivered to the sink; postqueue: ${POSTFIX_QUEUE_REPORT:-?}"
  else
    verdict postfix "$count" "postqueue: ${POSTFIX_QUEUE_REPORT:-?}"
  fi
  if [[ -n "${R_NOTE[postfix]}" ]]; then
    log "postfix log tail:"
    grep -E 'warning|fatal|error|panic' "$dir/data/maillog" 2>/dev/null | tail -n 10 >&2 || true
  fi
}

# ---------------------------------------------------------------------------------------------
# Peer 3: smtp-sink, no disk.

run_sink() {
  [[ -x "$SMTP_SINK" ]] || die "$SMTP_SINK missing"
  local port out="$RUN/sink.out"
  port="$(free_port)"
  local cmd=("$SMTP_SINK" -c -u nobody "127.0.0.1:$port" 256)
  COMMANDS+=("sink:    ${cmd[*]}")
  "${cmd[@]}" >"$out" 2>&1 9>&- &
  SINK_PID=$!
  if ! wait_port 127.0.0.1 "$port" "$START_WAIT_S"; then
    R_ORDER+=(sink)
    R_OK[sink]=0 R_MSGS[sink]=0 R_WALL[sink]=0 R_NOTE[sink]="did not start: $(head -c 200 "$out")"
    stop_pid "$SINK_PID" KILL
    SINK_PID=""
    return
  fi
  COMMANDS+=("load:    $(source_cmd "$port")")
  sink_cpu() { proc_cpu_ticks "$SINK_PID"; }
  measure sink "$port" sink_cpu
  sleep 0.2 # let the counter print the last message
  stop_pid "$SINK_PID" TERM
  SINK_PID=""
  # -c prints "sess=N quit=N mesg=N" lines ended by carriage returns; the last one is the total.
  local count
  count="$(tr '\r' '\n' <"$out" | sed -n 's/.*mesg=\([0-9][0-9]*\).*/\1/p' | tail -n 1 || true)"
  verdict sink "${count:-0}"
}

# ---------------------------------------------------------------------------------------------
# Peer 4: Haraka (Node.js, from npm), forwarding in line: its 250 comes after the next hop's.
# With queue/smtp_forward Haraka keeps no queue of its own, so in both modes it relays to its
# own smtp-sink, is timed until that sink counted every message, and is counted there.

readonly HARAKA_DIR="${HARAKA_DIR:-$REPO/var/haraka}"
readonly HARAKA_VERSION="${HARAKA_VERSION:-3}"
HARAKA_PID=""

haraka_install() {
  [[ -x "$HARAKA_DIR/node_modules/.bin/haraka" ]] && return 0
  command -v npm >/dev/null || die "npm missing (apt-get install npm) for the haraka peer"
  log "installing Haraka $HARAKA_VERSION from npm into $HARAKA_DIR"
  mkdir -p "$HARAKA_DIR"
  timeout 600 npm install --prefix "$HARAKA_DIR" --no-audit --no-fund --loglevel=error \
    "Haraka@$HARAKA_VERSION" >&2 || die "npm install Haraka failed"
}

haraka_cpu_ticks() { family_cpu_ticks "$HARAKA_PID"; } # the master and its cluster workers

haraka_write_config() { # dir port
  local conf="$1/config"
  # One worker per CPU (Haraka's performance advice), loopback only, in-line forwarding to
  # the sink, relaying for 127.0.0.0/8, no DNS-based checks.
  printf 'listen=127.0.0.1:%s\nnodes=cpus\n' "$2" >"$conf/smtp.ini"
  printf 'relay\nqueue/smtp_forward\n' >"$conf/plugins"
  printf '[relay]\nacl=true\nforce_routing=false\nall=false\ndest_domains=false\n' >"$conf/relay.ini"
  echo "127.0.0.0/8" >"$conf/relay_acl_allow"
  # enable_outbound: relayed mail (our clients are in the relay ACL) goes through
  # smtp_forward too, never into Haraka's own outbound queue (which would look up MX hosts).
  printf 'host=127.0.0.1\nport=%s\nenable_tls=false\nenable_outbound=true\n' "$RELAY_SINK_PORT" \
    >"$conf/smtp_forward.ini"
  printf '[main]\nlevel=warn\n' >"$conf/log.ini"
  echo "haraka-bench.localdomain" >"$conf/me"
  if [[ "$MODE" == internet ]]; then
    # A relay with a queue: relayed mail goes to Haraka's outbound queue (no smtp_forward),
    # which asks the get_mx hook for each domain's next hop: a plugin answering from the
    # route table. outbound's concurrency_max is per worker process (nodes=cpus).
    printf 'relay\nbench_routes\n' >"$conf/plugins"
    internet_routes | awk 'BEGIN {printf "{"} {printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $1, $2}
      END {print "}"}' >"$conf/bench_routes.json"
    mkdir -p "$1/plugins"
    cat >"$1/plugins/bench_routes.js" <<'JSEOF'
// bench/compare_postfix.sh MODE=internet: each domain's next hop from config/bench_routes.json.
exports.register = function () {
  this.routes = this.config.get('bench_routes.json')
}
exports.hook_get_mx = function (next, hmail, domain) {
  const port = this.routes[domain.toLowerCase()]
  if (!port) return next()
  next(OK, { priority: 0, exchange: '127.0.0.1', port })
}
JSEOF
    printf '[main]\nconcurrency_max=%s\nenable_tls=false\n' \
      "$((TOTAL_CONNECTIONS / $(nproc)))" >"$conf/outbound.ini"
  fi
}

run_haraka() {
  haraka_install
  local dir="$RUN/haraka" port version
  if [[ "$MODE" == internet ]]; then start_internet_sinks haraka; else start_relay_sink haraka; fi
  port="$(free_port)"
  "$HARAKA_DIR/node_modules/.bin/haraka" -i "$dir" >"$RUN/haraka.init.log" 2>&1 ||
    die "haraka -i failed: $(tail -n 3 "$RUN/haraka.init.log")"
  haraka_write_config "$dir" "$port"
  "$HARAKA_DIR/node_modules/.bin/haraka" -c "$dir" >"$RUN/haraka.log" 2>&1 9>&- &
  HARAKA_PID=$!
  if ! wait_port 127.0.0.1 "$port" "$START_WAIT_S"; then
    R_ORDER+=(haraka)
    R_OK[haraka]=0 R_MSGS[haraka]=0 R_WALL[haraka]=0
    R_NOTE[haraka]="did not start: $(tail -n 3 "$RUN/haraka.log" | tr '\n' ' ')"
    stop_pid "$HARAKA_PID" KILL
    HARAKA_PID=""
    stop_relay_sink
    stop_internet_sinks
    return
  fi
  # Haraka 3 answers 503 to a MAIL pipelined behind the previous message's end of data (which
  # RFC 2920 3.1 allows), so tern-bench waits for each 250 there.
  [[ "$LOADGEN" == tern-bench ]] && PEER_SOURCE_FLAGS="--pipeline_messages=false"
  version="$(node -p "require('$HARAKA_DIR/node_modules/Haraka/package.json').version" 2>/dev/null || echo '?')"
  if [[ "$MODE" == internet ]]; then
    COMMANDS+=("haraka:  haraka -c $dir   (Haraka $version, nodes=cpus, relay ACL, outbound queue, get_mx plugin bench_routes, outbound concurrency_max=$((TOTAL_CONNECTIONS / $(nproc))) per worker)")
  else
    COMMANDS+=("haraka:  haraka -c $dir   (Haraka $version, nodes=cpus, queue/smtp_forward to its sink)")
  fi
  COMMANDS+=("load:    $(source_cmd "$port")")
  MEASURE_UNTIL_SINK=1 measure haraka "$port" haraka_cpu_ticks
  PEER_SOURCE_FLAGS=""
  stop_pid "$HARAKA_PID" TERM
  HARAKA_PID=""
  stop_relay_sink
  verdict haraka "$RELAY_DELIVERED" "delivered to its sink"
  [[ "${R_OK[haraka]}" == 1 ]] || tail -n 10 "$RUN/haraka.log" >&2 || true
}

# ---------------------------------------------------------------------------------------------
# Main.

if [[ "${BUILD:-1}" != 0 ]]; then
  log "building ternd, ternctl and tern-bench"
  # An existing build keeps its options (its tests stay registered); a new one is lean.
  if [[ -f "$REPO/build/CMakeCache.txt" ]]; then
    cmake -S "$REPO" -B "$REPO/build" >/dev/null
  else
    cmake -S "$REPO" -B "$REPO/build" -G Ninja -DTERN_BENCHMARKS=OFF -DTERN_TESTS=OFF >/dev/null
  fi
  ninja -C "$REPO/build" ternd ternctl tern-bench >/dev/null
fi
[[ "$LOADGEN" != tern-bench || -x "$TERN_BENCH" ]] || die "$TERN_BENCH missing"

TERND_COMMITS="" TERND_RECORDS_PER_COMMIT="" TERND_COMMIT_LATENCY="" TERND_SHARDS="" POSTFIX_QUEUE_REPORT=""
LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
for peer in $PEERS; do
  case "$peer" in
    ternd) run_ternd ;;
    postfix) run_postfix ;;
    sink) run_sink ;;
    haraka) run_haraka ;;
    *) die "unknown peer '$peer' (ternd, postfix, haraka, sink)" ;;
  esac
done

fs="$(findmnt -n -o FSTYPE,SOURCE,OPTIONS -T "$RUN" 2>/dev/null || df -T "$RUN" | tail -n 1)"
echo
echo "== host"
echo "nproc:      $(nproc)   ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
echo "kernel:     $(uname -r)"
echo "spool fs:   $RUN -> $fs"
echo "loadavg:    $LOADAVG_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  "(Postfix's own processes count too)"
echo "tern:       $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" \
  "  postfix: $(postconf -d -h mail_version 2>/dev/null || echo '?')"
echo "load:       LOADGEN=$LOADGEN MODE=$MODE MESSAGES=$MESSAGES SESSIONS=$SESSIONS SIZE=$SIZE ${SOURCE_FLAGS:+SOURCE_FLAGS=$SOURCE_FLAGS}"
[[ "$MODE" == relay ]] &&
  echo "            timed from the generator's start until the peer's smtp-sink counted every message"
[[ "$MODE" == internet ]] &&
  echo "            $DOMAINS domains, sinks delaying every reply by ${SINK_DELAY_LIST[*]}," \
    "$DEST_CONNECTIONS connections per destination, $TOTAL_CONNECTIONS in all; timed from the" \
    "generator's start until every sink counted its share"
echo
echo "== commands"
printf '%s\n' "${COMMANDS[@]}"
echo
echo "== results"
pf_rate=""
if [[ -n "${R_WALL[postfix]:-}" && "${R_OK[postfix]:-0}" == 1 ]]; then
  pf_rate="$(awk -v m="$MESSAGES" -v w="${R_WALL[postfix]}" 'BEGIN{printf "%.6f", (w > 0 ? m / w : 0)}')"
fi
printf '%-8s %9s %9s %9s %10s %8s %8s %8s %8s %6s %6s\n' peer messages seconds msgs/s \
  vs-postfix srv-us/m srv-cpu% src-cpu% rest-cpu% busy% iowt%
status=0
for name in "${R_ORDER[@]}"; do
  wall="${R_WALL[$name]:-0}"
  awk -v n="$name" -v m="${R_MSGS[$name]:-0}" -v w="$wall" -v pf="$pf_rate" \
    -v sc="${R_SRV_CPU[$name]:-0}" -v cc="${R_CLI_CPU[$name]:-0}" \
    -v np="$(nproc)" -v hb="${R_HOST_BUSY[$name]:-0}" -v hw="${R_HOST_IOWAIT[$name]:-0}" 'BEGIN{
      r = w > 0 ? m / w : 0
      ratio = (pf != "" && pf > 0) ? sprintf("%.2fx", r / pf) : "n/a"
      sp = w > 0 ? 100 * sc / w : 0; cp = w > 0 ? 100 * cc / w : 0
      rest = hb * np - sp - cp; if (rest < 0) rest = 0
      printf "%-8s %9d %9.2f %9.0f %10s %8.0f %7.0f%% %7.0f%% %7.0f%% %5s%% %5s%%\n", n, m, w, r,
        ratio, (m > 0 ? 1e6 * sc / m : 0), sp, cp, rest, hb, hw }'
  [[ "${R_OK[$name]}" == 1 ]] || status=1
  if [[ -n "$RESULTS_DIR" ]]; then
    mkdir -p "$RESULTS_DIR"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$MODE" "$SIZE" "$name" "${R_MSGS[$name]:-0}" \
      "$wall" "$(awk -v m="${R_MSGS[$name]:-0}" -v w="$wall" 'BEGIN{printf "%.1f", (w > 0 ? m / w : 0)}')" \
      "${R_OK[$name]:-0}" "${R_SRV_CPU[$name]:-0}" "${R_CLI_CPU[$name]:-0}" >>"$RESULTS_DIR/results.tsv"
    cp "$RUN/$name.source.log" "$RESULTS_DIR/$MODE-$SIZE-$name.out" 2>/dev/null || true
  fi
done
echo
echo "srv-us/m: server CPU time (user+sys, all its processes) per message, in microseconds."
echo "srv-cpu%/src-cpu%: CPU time of the server and of the generator ($LOADGEN) over the wall time (100% = one"
echo "core); rest-cpu%: all other CPU use on the host in that time (kernel threads, softirq not"
echo "charged to either, other users' work); busy%/iowt%: whole host, % of all $(nproc) CPUs."
[[ -n "$TERND_COMMITS" ]] &&
  echo "ternd: $TERND_SHARDS shards, $TERND_COMMITS group commits," \
    "$TERND_RECORDS_PER_COMMIT records per commit (tern_spool_records_per_commit_sum / tern_spool_commits_total{result=\"ok\"})"
[[ -n "$TERND_COMMIT_LATENCY" ]] &&
  echo "ternd: commits: $TERND_COMMIT_LATENCY, all shards (upper bucket bounds of" \
    "tern_spool_commit_duration_seconds and tern_spool_record_wait_seconds)"
[[ -n "${TERND_OUTBOUND:-}" ]] &&
  echo "ternd: outbound connections: $TERND_OUTBOUND (tern_delivery_connections_total{result=\"opened\"}...)"
[[ -n "$POSTFIX_QUEUE_REPORT" ]] &&
  echo "postfix ($([[ "$MODE" == relay ]] && echo relaying || echo "$POSTFIX_QUEUE queue"), default_process_limit=$POSTFIX_PROCESS_LIMIT): postqueue -p says '$POSTFIX_QUEUE_REPORT'"
for name in "${R_ORDER[@]}"; do
  [[ "${R_OK[$name]}" == 1 ]] || echo "FAILED $name: ${R_NOTE[$name]}"
done
exit "$status"
