#!/usr/bin/env bash
# tollgate benchmark harness (invoked by `make bench`).
#
# Measures req/s and p50/p90/p99 latency with wrk for two modes (json =
# non-streamed, sse = streamed) against up to three targets, in ONE run and
# interleaved point by point so that ratios between targets survive the
# noise of a small shared machine:
#   direct       canned nginx upstream (the floor)
#   nginx-proxy  nginx reverse proxy with an upstream keepalive pool in front
#                of the same upstream (what a well-tuned proxy hop costs)
#   tollgate     tollgate in front of the same upstream
#
# Everything runs on 127.0.0.1; every process we start is tracked by PID and
# only those PIDs are signalled on exit. See bench/README.md for the knobs.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BENCH_SRC="$ROOT/bench"
OUT="$ROOT/.build/bench"

# ---------------------------------------------------------------- knobs ----
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CONNS=${BENCH_CONNS:-"1 8 32 128"}
BENCH_MODES=${BENCH_MODES:-"json sse"}
BENCH_TARGETS=${BENCH_TARGETS:-"direct nginx-proxy tollgate"}
BENCH_THREADS=${BENCH_THREADS:-1}
BENCH_READY_TIMEOUT=${BENCH_READY_TIMEOUT:-10}
BENCH_ALLOW_ERRORS=${BENCH_ALLOW_ERRORS:-0}
PORT_A=${BENCH_PORT_A:-18081}   # canned JSON upstream
PORT_B=${BENCH_PORT_B:-18082}   # canned SSE upstream
PORT_C=${BENCH_PORT_C:-18083}   # nginx proxy -> A
PORT_D=${BENCH_PORT_D:-18084}   # nginx proxy -> B
PORT_T=${BENCH_PORT_T:-18090}   # tollgate
TOLLGATE_BIN=${TOLLGATE_BIN:-.build/release/tollgate}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
WRK_BIN=${WRK_BIN:-$(command -v wrk 2>/dev/null || echo /usr/bin/wrk)}
CURL_BIN=${CURL_BIN:-$(command -v curl 2>/dev/null || echo curl)}

LUA_SCRIPT="$BENCH_SRC/post.lua"
REQ_JSON="$BENCH_SRC/canned/request.json"
REQ_SSE="$BENCH_SRC/canned/request-stream.json"
RESP_JSON="$BENCH_SRC/canned/completion.json"
RESP_SSE="$BENCH_SRC/canned/stream.sse"

TSV="$OUT/results.tsv"
MD="$OUT/results.md"
RAW="$OUT/raw"
TOLLGATE_LOG="$OUT/tollgate.log"
TOLLGATE_CFG="$OUT/tollgate.json"
LEDGER_REL=".build/bench/ledger.sqlite"

# ------------------------------------------------------------- helpers ----
log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# curl that can only ever talk to 127.0.0.1 directly (ignore *_proxy env).
lcurl() { "$CURL_BIN" --noproxy '*' -sS "$@"; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

has_word() { # has_word WORD LIST...
  local w=$1; shift
  local x
  for x in $*; do [[ $x == "$w" ]] && return 0; done
  return 1
}

# ----------------------------------------------------- validate knobs ----
is_uint "$BENCH_SECONDS" && (( BENCH_SECONDS > 0 )) || die "BENCH_SECONDS must be a positive integer (got '$BENCH_SECONDS')"
is_uint "$BENCH_WARMUP" || die "BENCH_WARMUP must be a non-negative integer (got '$BENCH_WARMUP')"
is_uint "$BENCH_THREADS" && (( BENCH_THREADS > 0 )) || die "BENCH_THREADS must be a positive integer"
is_uint "$BENCH_READY_TIMEOUT" || die "BENCH_READY_TIMEOUT must be an integer (seconds)"
for c in $BENCH_CONNS; do
  is_uint "$c" && (( c > 0 )) || die "BENCH_CONNS entries must be positive integers (got '$c')"
done
[[ -n ${BENCH_CONNS// /} ]] || die "BENCH_CONNS is empty"
for m in $BENCH_MODES; do
  [[ $m == json || $m == sse ]] || die "unknown mode '$m' in BENCH_MODES (want: json sse)"
done
[[ -n ${BENCH_MODES// /} ]] || die "BENCH_MODES is empty"
for t in $BENCH_TARGETS; do
  [[ $t == direct || $t == nginx-proxy || $t == tollgate ]] ||
    die "unknown target '$t' in BENCH_TARGETS (want: direct nginx-proxy tollgate)"
done
[[ -n ${BENCH_TARGETS// /} ]] || die "BENCH_TARGETS is empty"
WANT_PROXY=0; has_word nginx-proxy $BENCH_TARGETS && WANT_PROXY=1
WANT_TOLLGATE=0; has_word tollgate $BENCH_TARGETS && WANT_TOLLGATE=1

ports=("$PORT_A" "$PORT_B")
(( WANT_PROXY )) && ports+=("$PORT_C" "$PORT_D")
(( WANT_TOLLGATE )) && ports+=("$PORT_T")
for p in "${ports[@]}"; do
  is_uint "$p" && (( p > 0 && p < 65536 )) || die "invalid port '$p'"
done
if [[ $(printf '%s\n' "${ports[@]}" | sort -u | wc -l) -ne ${#ports[@]} ]]; then
  die "bench ports must be distinct: ${ports[*]}"
fi

# -------------------------------------------------------- prerequisites ----
missing=0
need_exe() { # need_exe LABEL PATH HINT
  if [[ $2 == */* ]]; then
    [[ -f $2 && -x $2 ]] && return 0
  else
    command -v "$2" >/dev/null 2>&1 && return 0
  fi
  printf '[bench] missing prerequisite: %s (%s) — %s\n' "$1" "$2" "$3" >&2
  missing=1
}
need_exe wrk "$WRK_BIN" "install wrk (Debian: apt-get install wrk) or set WRK_BIN"
need_exe nginx "$NGINX_BIN" "install nginx (Debian: apt-get install nginx-light) or set NGINX_BIN"
need_exe curl "$CURL_BIN" "install curl or set CURL_BIN"
for tool in awk sed sort; do
  need_exe "$tool" "$tool" "install it (coreutils/mawk/sed)"
done
if (( WANT_TOLLGATE )); then
  [[ $TOLLGATE_BIN == /* ]] || TOLLGATE_BIN="$ROOT/$TOLLGATE_BIN"
  need_exe tollgate "$TOLLGATE_BIN" \
    "build it first (swift build -c release), point TOLLGATE_BIN at it, or run with BENCH_TARGETS=\"direct nginx-proxy\""
fi
for f in "$LUA_SCRIPT" "$REQ_JSON" "$REQ_SSE" "$RESP_JSON" "$RESP_SSE" \
         "$BENCH_SRC/nginx-backend.conf.in" "$BENCH_SRC/nginx-proxy.conf.in"; do
  [[ -f $f ]] || { printf '[bench] missing bench file: %s\n' "$f" >&2; missing=1; }
done
(( missing == 0 )) || die "prerequisites missing (see above)"

# Refuse to benchmark whatever else happens to listen on our ports.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "${ports[@]}"; do
  if port_in_use "$p"; then
    die "127.0.0.1:$p is already in use (stale bench run or another service?); free it or override the BENCH_PORT_* variables"
  fi
done

# ------------------------------------------------------- process control ----
PIDS=()        # every process this script started, in start order
PID_NAMES=()
TOLLGATE_PID=""

track() { PIDS+=("$1"); PID_NAMES+=("$2"); }

stop_pid() { # stop_pid PID NAME — TERM, wait up to 5 s, then KILL. Only our PIDs.
  local pid=$1 name=$2 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for (( i = 0; i < 50; i++ )); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for (( i = ${#PIDS[@]} - 1; i >= 0; i-- )); do
    stop_pid "${PIDS[i]}" "${PID_NAMES[i]}"
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------- templating ----
# Escape a file's content as the inside of an nginx single-quoted string.
# nginx understands \\ \' \n \t \r there; '$' would start a variable and
# cannot be escaped, so refuse it.
nginx_literal() { # nginx_literal FILE STRIP_TRAILING_NEWLINES(0|1)
  local s=""
  IFS= read -r -d '' s <"$1" || true
  if [[ $2 == 1 ]]; then
    while [[ $s == *$'\n' ]]; do s=${s%$'\n'}; done
  fi
  [[ $s != *'$'* ]] || die "$1 contains '\$', which nginx would treat as a variable"
  s=${s//\\/\\\\}
  s=${s//\'/\\\'}
  s=${s//$'\r'/\\r}
  s=${s//$'\n'/\\n}
  printf '%s' "$s"
}

# render TEMPLATE OUTPUT: replace @NAME@ with $TPL_NAME (literal, no regex).
render() {
  awk '
    function repl(s, from, to,   out, i) {
      out = ""
      while ((i = index(s, from)) > 0) {
        out = out substr(s, 1, i - 1) to
        s = substr(s, i + length(from))
      }
      return out s
    }
    {
      line = $0
      for (k in ENVIRON)
        if (substr(k, 1, 4) == "TPL_")
          line = repl(line, "@" substr(k, 5) "@", ENVIRON[k])
      print line
    }' "$1" >"$2"
  if grep -qE '@[A-Z_]+@' "$2"; then
    die "unsubstituted placeholder in $2: $(grep -oE '@[A-Z_]+@' "$2" | sort -u | tr '\n' ' ')"
  fi
}

# ------------------------------------------------------------ readiness ----
wait_http() { # wait_http NAME PID URL WANT_CODE(any|200) LOGFILE
  local name=$1 pid=$2 url=$3 want=$4 logf=$5 code deadline
  deadline=$(( SECONDS + BENCH_READY_TIMEOUT ))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during startup; last lines of $logf:"
      tail -n 20 "$logf" >&2 2>/dev/null || true
      die "$name failed to start"
    fi
    code=$(lcurl -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)
    if [[ $want == any && -n $code && $code != 000 ]] || [[ $code == "$want" ]]; then
      return 0
    fi
    if (( SECONDS >= deadline )); then
      log "$name not ready after ${BENCH_READY_TIMEOUT}s ($url -> '${code:-none}'); last lines of $logf:"
      tail -n 20 "$logf" >&2 2>/dev/null || true
      die "$name did not become ready"
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------- nginx ----
if (( EUID == 0 )); then
  # Master runs as root; keep the worker as root too so it can always reach
  # the prefix under the repo (the compiled-in default would be 'nobody').
  export TPL_USER_LINE="user root;"
else
  export TPL_USER_LINE="# (no 'user' directive: not started as root)"
fi
export TPL_PORT_A=$PORT_A TPL_PORT_B=$PORT_B TPL_PORT_C=$PORT_C TPL_PORT_D=$PORT_D
TPL_JSON_BODY=$(nginx_literal "$RESP_JSON" 1); export TPL_JSON_BODY
TPL_SSE_BODY=$(nginx_literal "$RESP_SSE" 0); export TPL_SSE_BODY

start_nginx() { # start_nginx NAME TEMPLATE PORT...
  local name=$1 tpl=$2; shift 2
  local prefix="$OUT/nginx-$name" p pid
  rm -rf "$prefix"
  mkdir -p "$prefix/tmp"
  TPL_PREFIX=$prefix render "$tpl" "$prefix/nginx.conf"
  if ! "$NGINX_BIN" -t -q -p "$prefix/" -e "$prefix/error.log" -c "$prefix/nginx.conf" \
       >"$prefix/configtest.log" 2>&1; then
    cat "$prefix/configtest.log" >&2
    die "nginx rejected $prefix/nginx.conf"
  fi
  "$NGINX_BIN" -p "$prefix/" -e "$prefix/error.log" -c "$prefix/nginx.conf" \
    -g 'daemon off;' </dev/null >>"$prefix/stdout.log" 2>&1 &
  pid=$!
  track "$pid" "nginx-$name"
  for p in "$@"; do
    wait_http "nginx-$name" "$pid" "http://127.0.0.1:$p/" any "$prefix/error.log"
  done
  log "nginx-$name up (pid $pid, ports $*)"
}

# ------------------------------------------------------------- tollgate ----
rss_of() { # rss_of PID -> "123456 kB (peak 234567 kB)" or n/a
  local st="/proc/$1/status" rss hwm
  if [[ -r $st ]]; then
    rss=$(awk '/^VmRSS:/ {print $2" "$3}' "$st")
    hwm=$(awk '/^VmHWM:/ {print $2" "$3}' "$st")
    printf '%s (peak %s)' "${rss:-n/a}" "${hwm:-n/a}"
  else
    printf 'n/a (process gone)'
  fi
}

start_tollgate() {
  rm -f "$ROOT/$LEDGER_REL" "$ROOT/$LEDGER_REL-wal" "$ROOT/$LEDGER_REL-shm" "$ROOT/$LEDGER_REL-journal"
  cat >"$TOLLGATE_CFG" <<EOF
{
  "listen": "127.0.0.1:$PORT_T",
  "ledger": "$LEDGER_REL",
  "providers": {
    "canned":    { "type": "openai_compatible", "base_url": "http://127.0.0.1:$PORT_A/v1", "api_key": "bench-key", "priority": 1, "models": ["bench-model"] },
    "cannedsse": { "type": "openai_compatible", "base_url": "http://127.0.0.1:$PORT_B/v1", "api_key": "bench-key", "priority": 2, "models": ["bench-model-sse"] }
  },
  "routes": {}
}
EOF
  # One log line per request goes to stderr: keep it off the terminal.
  "$TOLLGATE_BIN" serve --config "$TOLLGATE_CFG" --listen "127.0.0.1:$PORT_T" \
    </dev/null >"$TOLLGATE_LOG" 2>&1 &
  TOLLGATE_PID=$!
  track "$TOLLGATE_PID" tollgate
  wait_http tollgate "$TOLLGATE_PID" "http://127.0.0.1:$PORT_T/health" 200 "$TOLLGATE_LOG"
  log "tollgate up (pid $TOLLGATE_PID, port $PORT_T, log $TOLLGATE_LOG)"
}

# ------------------------------------------------------------ targets ----
url_for() { # url_for TARGET MODE
  local port
  case "$1/$2" in
    direct/json)      port=$PORT_A ;;
    direct/sse)       port=$PORT_B ;;
    nginx-proxy/json) port=$PORT_C ;;
    nginx-proxy/sse)  port=$PORT_D ;;
    tollgate/*)       port=$PORT_T ;;
  esac
  printf 'http://127.0.0.1:%s/v1/chat/completions' "$port"
}
body_for() { [[ $1 == sse ]] && printf '%s' "$REQ_SSE" || printf '%s' "$REQ_JSON"; }

# One real request per target/mode before measuring: status 200, the right
# content type and a plausible body. wrk only sees status codes, so this is
# what catches a 200 that carries the wrong thing.
sanity_check() { # sanity_check TARGET MODE -> 0 ok, 1 failed (reason on stderr)
  local target=$1 mode=$2 url body hdr out code
  url=$(url_for "$target" "$mode")
  body=$(body_for "$mode")
  hdr="$RAW/sanity-$mode-$target.headers"
  out="$RAW/sanity-$mode-$target.body"
  local auth=()
  [[ -n ${BENCH_AUTH_TOKEN:-} ]] && auth=(-H "Authorization: Bearer $BENCH_AUTH_TOKEN")
  code=$(lcurl -o "$out" -D "$hdr" -w '%{http_code}' --max-time 10 "${auth[@]}" \
           -H 'Content-Type: application/json' --data-binary "@$body" "$url" \
           2>"$RAW/sanity-$mode-$target.curl-err") || true
  if [[ $code != 200 ]]; then
    log "sanity check FAILED for $target/$mode: POST $url -> HTTP ${code:-none} $(tr '\n' ' ' <"$RAW/sanity-$mode-$target.curl-err")"
    log "  response body starts: $(head -c 300 "$out" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
  if [[ $mode == json ]]; then
    if ! grep -qi '^content-type: *application/json' "$hdr" ||
       ! grep -q 'chat\.completion' "$out" || ! grep -q '"usage"' "$out"; then
      log "sanity check FAILED for $target/$mode: not an application/json chat.completion with usage (see $out)"
      return 1
    fi
  else
    if ! grep -qi '^content-type: *text/event-stream' "$hdr" ||
       ! grep -q '^data: .*chat\.completion\.chunk' "$out" ||
       ! grep -q '^data: \[DONE\]' "$out"; then
      log "sanity check FAILED for $target/$mode: not a text/event-stream of chat.completion.chunk ending in [DONE] (see $out)"
      return 1
    fi
  fi
  return 0
}

# run_wrk TARGET MODE CONNS SECONDS OUTFILE
run_wrk() {
  local target=$1 mode=$2 conns=$3 secs=$4 outf=$5 threads=$BENCH_THREADS
  (( threads > conns )) && threads=$conns
  BENCH_BODY_FILE=$(body_for "$mode") \
    "$WRK_BIN" -t"$threads" -c"$conns" -d"${secs}s" --latency \
      -s "$LUA_SCRIPT" "$(url_for "$target" "$mode")" >"$outf" 2>&1
}

FAILED=0
declare -A SKIP=()   # "target/mode" -> reason

# measure TARGET MODE CONNS: run one point and append a row to the TSV.
measure() {
  local target=$1 mode=$2 conns=$3
  local outf="$RAW/$mode-c$conns-$target.txt" line kv key
  local requests=0 duration_us=0 p50_us=0 p90_us=0 p99_us=0
  local err_connect=0 err_read=0 err_write=0 err_status=0 err_timeout=0
  local rps errors detail="" note=""

  if [[ -n ${SKIP[$target/$mode]:-} ]]; then
    printf '%s\t%s\t%s\t-\t-\t-\t-\t-\t\t%s\n' "$target" "$mode" "$conns" "${SKIP[$target/$mode]}" >>"$TSV"
    return 0
  fi
  if ! run_wrk "$target" "$mode" "$conns" "$BENCH_SECONDS" "$outf"; then
    log "wrk failed for $target/$mode c=$conns (see $outf)"
    printf '%s\t%s\t%s\t-\t-\t-\t-\t-\t\twrk failed\n' "$target" "$mode" "$conns" >>"$TSV"
    FAILED=1
    return 0
  fi
  line=$(grep '^BENCH_RESULT ' "$outf" | tail -n 1 || true)
  if [[ -z $line ]]; then
    log "no BENCH_RESULT line from wrk for $target/$mode c=$conns (see $outf)"
    printf '%s\t%s\t%s\t-\t-\t-\t-\t-\t\tno result\n' "$target" "$mode" "$conns" >>"$TSV"
    FAILED=1
    return 0
  fi
  for kv in ${line#BENCH_RESULT }; do
    key=${kv%%=*}
    case $key in
      requests|duration_us|p50_us|p90_us|p99_us|err_connect|err_read|err_write|err_status|err_timeout)
        printf -v "$key" '%s' "${kv#*=}" ;;
    esac
  done
  rps=$(awk -v r="$requests" -v d="$duration_us" 'BEGIN { if (d > 0) printf "%.0f", r * 1e6 / d; else print 0 }')
  errors=$(( err_connect + err_read + err_write + err_status + err_timeout ))
  (( err_status  )) && detail+="${detail:+, }non-2xx/3xx $err_status"
  (( err_connect )) && detail+="${detail:+, }connect $err_connect"
  (( err_read    )) && detail+="${detail:+, }read $err_read"
  (( err_write   )) && detail+="${detail:+, }write $err_write"
  (( err_timeout )) && detail+="${detail:+, }timeout $err_timeout"
  (( requests == 0 )) && note="no requests completed" && FAILED=1
  # Hung requests are invisible to wrk: one that never completes before the
  # run ends is neither an error nor a latency sample. Little's law catches
  # them: with N connections always busy, conns x duration / requests is the
  # mean time per request; if that is far above even p99 (which wrk 4 already
  # inflates for stalls, see README), connections sat on requests that never
  # finished.
  if (( requests > 0 )); then
    local little_us=$(( conns * duration_us / requests ))
    if (( little_us > 3 * p99_us && little_us > p99_us + 1000 )); then
      note="stalled: conns×duration÷requests = ${little_us} µs ≫ p99, requests hung without completing"
      FAILED=1
    fi
  fi
  (( errors > 0 )) && FAILED=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$target" "$mode" "$conns" "$rps" "$p50_us" "$p90_us" "$p99_us" "$errors" "$detail" "$note" >>"$TSV"
  printf '[bench]   %-11s %-4s c=%-4s %8s req/s   p50 %7s µs   p90 %7s µs   p99 %7s µs   errors %s%s\n' \
    "$target" "$mode" "$conns" "$rps" "$p50_us" "$p90_us" "$p99_us" "$errors${detail:+ ($detail)}" "${note:+   !! $note}" >&2
}

# ------------------------------------------------------------------ run ----
mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
: >"$TSV"

start_nginx backend "$BENCH_SRC/nginx-backend.conf.in" "$PORT_A" "$PORT_B"
(( WANT_PROXY )) && start_nginx proxy "$BENCH_SRC/nginx-proxy.conf.in" "$PORT_C" "$PORT_D"
TOLLGATE_RSS_START="n/a"
TG_DESC="not benchmarked (BENCH_TARGETS=\"$BENCH_TARGETS\")"
if (( WANT_TOLLGATE )); then
  # Describe the binary before starting it (it may be rebuilt during the run).
  TG_VERSION=$({ timeout 5 "$TOLLGATE_BIN" --version 2>&1 || true; } | head -n 1)
  TG_DESC="$TOLLGATE_BIN, version ${TG_VERSION:-unknown}, $(stat -c '%s bytes, modified %y' "$TOLLGATE_BIN" | cut -d. -f1)"
  [[ $TOLLGATE_BIN == */debug/* ]] && TG_DESC+=" — WARNING: debug build"
  start_tollgate
  TOLLGATE_RSS_START=$(rss_of "$TOLLGATE_PID")
  log "tollgate RSS after start: $TOLLGATE_RSS_START"
fi

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)
RUN_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

n_points=0
for m in $BENCH_MODES; do for c in $BENCH_CONNS; do for t in $BENCH_TARGETS; do
  n_points=$(( n_points + 1 )); done; done; done
log "measuring $n_points points x ${BENCH_SECONDS}s (targets: $BENCH_TARGETS; modes: $BENCH_MODES; conns: $BENCH_CONNS)"

for mode in $BENCH_MODES; do
  for target in $BENCH_TARGETS; do
    if ! sanity_check "$target" "$mode"; then
      SKIP[$target/$mode]="sanity check failed"
      FAILED=1
      continue
    fi
    if (( BENCH_WARMUP > 0 )); then
      run_wrk "$target" "$mode" 8 "$BENCH_WARMUP" "$RAW/warmup-$mode-$target.txt" ||
        log "warm-up wrk failed for $target/$mode (see $RAW/warmup-$mode-$target.txt)"
    fi
  done
  log "mode $mode"
  # Interleave targets inside each connection count so slow drift of the
  # machine (thermal, neighbours) hits all targets alike.
  for conns in $BENCH_CONNS; do
    for target in $BENCH_TARGETS; do
      measure "$target" "$mode" "$conns"
    done
  done
done

TOLLGATE_RSS_END="n/a"
if (( WANT_TOLLGATE )); then
  TOLLGATE_RSS_END=$(rss_of "$TOLLGATE_PID")
  if ! kill -0 "$TOLLGATE_PID" 2>/dev/null; then
    log "tollgate exited during the run; see $TOLLGATE_LOG"
    FAILED=1
  fi
  log "tollgate RSS after run:   $TOLLGATE_RSS_END"
fi

# -------------------------------------------------------------- report ----
first_line() { local s; s=$("$@" 2>&1 || true); printf '%s' "${s%%$'\n'*}"; }
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[[ -n $CPU_MODEL ]] || CPU_MODEL=$(first_line lscpu | sed 's/.*: *//')
[[ -n $CPU_MODEL ]] || CPU_MODEL=unknown
NGINX_VERSION=$(first_line "$NGINX_BIN" -v); NGINX_VERSION=${NGINX_VERSION#nginx version: }
WRK_VERSION=$(first_line "$WRK_BIN" -v); WRK_VERSION=${WRK_VERSION%% Copyright*}
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "no commits")
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1) ]]; then GIT_REV+=" (dirty)"; fi

{
  echo "# tollgate benchmark"
  echo
  echo "- date: $RUN_DATE"
  echo "- host: nproc $(nproc), CPU \"$CPU_MODEL\", kernel $(uname -r), loadavg at start $LOADAVG_START"
  echo "- tools: nginx $NGINX_VERSION (worker_processes 1), $WRK_VERSION"
  echo "- tollgate: $TG_DESC"
  echo "- repo: $GIT_REV"
  echo "- wrk: -t$BENCH_THREADS, ${BENCH_SECONDS}s per point, ${BENCH_WARMUP}s warm-up per target/mode, targets interleaved per point"
  if (( WANT_TOLLGATE )); then
    echo "- tollgate RSS: after start $TOLLGATE_RSS_START; after run $TOLLGATE_RSS_END"
  fi
  echo
  echo "Latencies in µs. errors = socket errors (connect/read/write/timeout) + non-2xx/3xx responses, as counted by wrk."
  echo
  awk -F'\t' '
    BEGIN {
      print "| target | mode | conns | req/s | p50 (µs) | p90 (µs) | p99 (µs) | errors |"
      print "|---|---|---:|---:|---:|---:|---:|---:|"
    }
    {
      err = $8
      if ($9 != "") err = err " (" $9 ")"
      if ($10 != "") err = (err == "-" ? "" : err " ") "**" $10 "**"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, err
    }' "$TSV"
  echo
  echo "## Proxy overhead vs direct"
  echo
  echo "added p50 = target p50 − direct p50 at the same mode and conns. n/a where a point is missing or had errors."
  echo
  awk -F'\t' '
    function ok(k) { return (k in rps) && rps[k] != "-" && errs[k] == 0 && note[k] == "" }
    function sgn(x) { return (x >= 0 ? "+" : "") x }
    {
      k = $1 SUBSEP $2 SUBSEP $3
      rps[k] = $4; p50[k] = $5; errs[k] = $8; note[k] = $10
      if (!(($2 SUBSEP $3) in seen)) { seen[$2 SUBSEP $3] = 1; order[++n] = $2 SUBSEP $3 }
    }
    END {
      print "| mode | conns | direct p50 (µs) | nginx-proxy added p50 (µs) | tollgate added p50 (µs) | tollgate ÷ nginx-proxy added p50 | tollgate ÷ nginx-proxy req/s |"
      print "|---|---:|---:|---:|---:|---:|---:|"
      for (i = 1; i <= n; i++) {
        split(order[i], mc, SUBSEP)
        d = "direct" SUBSEP order[i]; x = "nginx-proxy" SUBSEP order[i]; t = "tollgate" SUBSEP order[i]
        dp = ok(d) ? p50[d] : "n/a"
        xa = (ok(d) && ok(x)) ? p50[x] - p50[d] : "n/a"
        ta = (ok(d) && ok(t)) ? p50[t] - p50[d] : "n/a"
        ar = (xa != "n/a" && ta != "n/a" && xa > 0) ? sprintf("%.2f×", ta / xa) : "n/a"
        rr = (ok(x) && ok(t) && rps[x] > 0) ? sprintf("%.2f", rps[t] / rps[x]) : "n/a"
        if (xa != "n/a") xa = sgn(xa)
        if (ta != "n/a") ta = sgn(ta)
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", mc[1], mc[2], dp, xa, ta, ar, rr
      }
    }' "$TSV"
  echo
  echo "Raw wrk output: .build/bench/raw/. nginx configs: .build/bench/nginx-*/nginx.conf."
  (( WANT_TOLLGATE )) && echo "tollgate log: .build/bench/tollgate.log ($(wc -l <"$TOLLGATE_LOG" 2>/dev/null || echo 0) lines)."
  true
} >"$MD"

echo
cat "$MD"
echo
log "results saved to ${MD#"$ROOT"/}"

if (( FAILED )); then
  if [[ $BENCH_ALLOW_ERRORS == 1 ]]; then
    log "WARNING: some points failed or saw errors (BENCH_ALLOW_ERRORS=1, exiting 0)"
  else
    log "FAILED: some points failed or saw errors; the numbers above are not trustworthy (BENCH_ALLOW_ERRORS=1 to exit 0 anyway)"
    exit 1
  fi
fi
