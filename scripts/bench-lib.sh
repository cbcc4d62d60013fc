# shellcheck shell=bash disable=SC2034,SC2154 # variables are shared with the sourcing script
# Helpers for the server benchmarks (scripts/bench-kv): sourced, not run. Processes are tracked by PID and ended
# by PID, never by name. The caller sets `out` (raw data dir), SERVER_CPU and defines note() and die().
#
#   start_server LABEL KIND ARGV...   KIND = plain | callgrind:FILE | strace:FILE | perf:FILE; {port} in ARGV is
#                                     replaced by a free port (or SRV_FIXED_PORT when set). Sets SRV_PORT SRV_PID
#                                     SRV_WRAP SRV_LOG.
#   stop_server                       SIGTERM to the server, wait for it (callgrind/strace/perf write their files)
#   wait_bounded PID SECONDS          wait for a child, kill it past the bound; returns its status (124: killed)
#   cpu_ticks PID                     utime + stime of a process (all threads), in clock ticks
#   cpu_split PID                     "utime stime" of a process, in clock ticks
#   cpu_line N / cpu_idle_steal A B   /proc/stat line of CPU N; "idle% steal%" between two such lines

SRV_WRAP="" # the process we started (taskset/valgrind/strace/perf, exec'd into the server or tracing it)
SRV_PID=""  # the server process itself
SRV_SEQ=0
LOAD_PID=""
CLK_TCK="$(getconf CLK_TCK)"

stop_pid() { # pid [grace-seconds]: TERM, wait, KILL
  local pid="$1" grace="${2:-5}" i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317 # run by the trap
bench_cleanup() {
  stop_pid "$LOAD_PID" 2
  stop_pid "$SRV_PID" 5
  stop_pid "$SRV_WRAP" 5
}

port_in_use() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
free_port() { # below the ephemeral range (32768..), so that client sockets never hold it
  local p=$((20000 + RANDOM % 12000)) i
  for ((i = 0; i < 200; i++)); do port_in_use "$p" || { echo "$p"; return 0; }; p=$((20000 + RANDOM % 12000)); done
  die "no free port found"
}
child_of() { # the first child of a process
  local c
  c="$(awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null)"
  [[ -n "$c" ]] || c="$(ps -o pid= --ppid "$1" 2>/dev/null | awk 'NR == 1 { print $1 }')"
  echo "$c"
}

start_server() {
  local label="$1" kind="$2" t wait_s=10 a
  shift 2
  local prefix=(taskset -c "$SERVER_CPU")
  SRV_PORT="${SRV_FIXED_PORT:-$(free_port)}" # fixed: a server whose port is in its config file (nginx)
  local argv=()
  for a in "$@"; do argv+=("${a//\{port\}/$SRV_PORT}"); done
  SRV_SEQ=$((SRV_SEQ + 1))
  SRV_LOG="$out/logs/server-$SRV_SEQ-$label-${kind%%:*}.log"
  # shellcheck disable=SC2054 # perf's "-x," is its CSV separator, not an array comma
  case "$kind" in
    plain) ;;
    callgrind:*) prefix+=(valgrind --tool=callgrind "--callgrind-out-file=${kind#*:}"); wait_s=60 ;;
    strace:*) prefix=(strace -f -c -o "${kind#*:}" -- "${prefix[@]}"); wait_s=30 ;;
    perf:*) prefix=(perf stat -x, -e raw_syscalls:sys_enter -o "${kind#*:}" -- "${prefix[@]}") ;;
  esac
  "${prefix[@]}" "${argv[@]}" >"$SRV_LOG" 2>&1 &
  SRV_WRAP=$!
  SRV_PID=""
  for ((t = 0; t < wait_s * 20; t++)); do
    kill -0 "$SRV_WRAP" 2>/dev/null || break
    port_in_use "$SRV_PORT" && break
    sleep 0.05
  done
  if ! kill -0 "$SRV_WRAP" 2>/dev/null || ! port_in_use "$SRV_PORT"; then
    note "$label did not come up on port $SRV_PORT ($kind): ${prefix[*]} ${argv[*]}"
    tail -5 "$SRV_LOG" >&2
    stop_pid "$SRV_WRAP"
    SRV_WRAP=""
    return 1
  fi
  case "$kind" in
    strace:* | perf:*) SRV_PID="$(child_of "$SRV_WRAP")" ;;
    *) SRV_PID="$SRV_WRAP" ;; # taskset and valgrind exec: the same process
  esac
  [[ -n "$SRV_PID" ]] || { note "cannot find the server process under $SRV_WRAP"; stop_pid "$SRV_WRAP"; return 1; }
}

stop_server() {
  local t
  if [[ -n "$SRV_PID" ]] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill -TERM "$SRV_PID" 2>/dev/null || true
  fi
  for ((t = 0; t < 300; t++)); do kill -0 "$SRV_WRAP" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SRV_WRAP" 2>/dev/null; then
    note "the server ($SRV_WRAP) did not exit within 30 s of SIGTERM; killing it"
    stop_pid "$SRV_PID" 1
    stop_pid "$SRV_WRAP" 1
  fi
  wait "$SRV_WRAP" 2>/dev/null || true
  SRV_WRAP=""
  SRV_PID=""
}

wait_bounded() {
  local pid="$1" limit="$2" t rc=0
  for ((t = 0; t < limit * 10; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    note "process $pid still running after $limit s: killing it"
    stop_pid "$pid" 2
    return 124
  fi
  wait "$pid" || rc=$?
  return "$rc"
}

cpu_ticks() { # field 2 may contain spaces
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  s="${s##*) }"
  awk '{ print $12 + $13 }' <<<"$s"
}
cpu_split() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo "0 0"; return; }
  s="${s##*) }"
  awk '{ print $12, $13 }' <<<"$s"
}
cpu_line() { grep -E "^cpu$1 " /proc/stat; }
cpu_idle_steal() {
  awk -v a="$1" -v b="$2" 'BEGIN{
    n = split(a, x, " "); split(b, y, " "); tot = 0
    for (i = 2; i <= 9 && i <= n; i++) tot += y[i] - x[i]
    if (tot <= 0) { print "0 0"; exit }
    printf "%.0f %.0f", ((y[5] - x[5]) + (y[6] - x[6])) / tot * 100, (y[9] - x[9]) / tot * 100 }'
}
