#!/usr/bin/env bash
# tollgate benchmark harness (invoked by `make bench`).
#
# Measures req/s and p50/p90/p99 latency with wrk for two modes (json =
# non-streamed, sse = streamed) against up to five targets, in ONE run and
# interleaved point by point so that ratios between targets survive the
# noise of a small shared machine:
#   direct             canned nginx upstream (the floor)
#   nginx-proxy        nginx reverse proxy with an upstream keepalive pool in
#                      front of the same upstream (what a well-tuned proxy hop
#                      costs)
#   curl-proxy         bench/curl-proxy.c: the least a proxy on libcurl's multi
#                      interface can do, one epoll loop per core (what libcurl
#                      allows: the ceiling of tollgate's stack)
#   tollgate           tollgate in front of the same upstream (default loops)
#   tollgate-1loop     the same with `serve --loops 1`
#   tollgate-noledger  the same with `serve --no-ledger` (no ledger rows)
#   tollgate-quiet     the same with `serve --log-level warning`: no log line per
#                      request, as nginx runs here (`access_log off`); not in the
#                      default list, BENCH_TARGETS adds it
# Each tollgate variant is its own process on its own port. Afterwards a
# second step (bench/streams.py, BENCH_STREAMS) holds 1,000 slow streams open
# through a fresh tollgate and records its RSS.
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
BENCH_TARGETS=${BENCH_TARGETS:-"direct nginx-proxy curl-proxy tollgate tollgate-1loop tollgate-noledger"}
BENCH_THREADS=${BENCH_THREADS:-1}
BENCH_READY_TIMEOUT=${BENCH_READY_TIMEOUT:-10}
BENCH_ALLOW_ERRORS=${BENCH_ALLOW_ERRORS:-0}
PORT_A=${BENCH_PORT_A:-18081}   # canned JSON upstream
PORT_B=${BENCH_PORT_B:-18082}   # canned SSE upstream
PORT_C=${BENCH_PORT_C:-18083}   # nginx proxy -> A
PORT_D=${BENCH_PORT_D:-18084}   # nginx proxy -> B
PORT_E=${BENCH_PORT_E:-18085}   # curl-proxy -> A
PORT_F=${BENCH_PORT_F:-18086}   # curl-proxy -> B
PORT_T=${BENCH_PORT_T:-18090}   # tollgate
PORT_T1=${BENCH_PORT_T1:-18091} # tollgate-1loop
PORT_TN=${BENCH_PORT_TN:-18092} # tollgate-noledger
PORT_TQ=${BENCH_PORT_TQ:-18093} # tollgate-quiet
BENCH_STREAMS=${BENCH_STREAMS:-1000}   # concurrent slow streams in the memory step (0 = skip)
PYTHON_BIN=${PYTHON_BIN:-$(command -v python3 2>/dev/null || echo python3)}
TOLLGATE_BIN=${TOLLGATE_BIN:-.build/release/tollgate}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
WRK_BIN=${WRK_BIN:-$(command -v wrk 2>/dev/null || echo /usr/bin/wrk)}
CURL_BIN=${CURL_BIN:-$(command -v curl 2>/dev/null || echo curl)}
CC_BIN=${CC_BIN:-$(command -v cc 2>/dev/null || echo cc)}
CURL_PROXY_THREADS=${CURL_PROXY_THREADS:-$(nproc)}

LUA_SCRIPT="$BENCH_SRC/post.lua"
REQ_JSON="$BENCH_SRC/canned/request.json"
REQ_SSE="$BENCH_SRC/canned/request-stream.json"
RESP_JSON="$BENCH_SRC/canned/completion.json"
RESP_SSE="$BENCH_SRC/canned/stream.sse"

TSV="$OUT/results.tsv"
MD="$OUT/results.md"
RAW="$OUT/raw"
TOLLGATE_VARIANTS="tollgate tollgate-1loop tollgate-noledger tollgate-quiet"
STREAMS_MD="$OUT/streams.md"

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
  has_word "$t" direct nginx-proxy curl-proxy $TOLLGATE_VARIANTS ||
    die "unknown target '$t' in BENCH_TARGETS (want: direct nginx-proxy curl-proxy $TOLLGATE_VARIANTS)"
done
[[ -n ${BENCH_TARGETS// /} ]] || die "BENCH_TARGETS is empty"
is_uint "$BENCH_STREAMS" || die "BENCH_STREAMS must be a non-negative integer (got '$BENCH_STREAMS')"
WANT_PROXY=0; has_word nginx-proxy $BENCH_TARGETS && WANT_PROXY=1
WANT_CURLPROXY=0; has_word curl-proxy $BENCH_TARGETS && WANT_CURLPROXY=1
declare -A TG_PORT=([tollgate]=$PORT_T [tollgate-1loop]=$PORT_T1 [tollgate-noledger]=$PORT_TN [tollgate-quiet]=$PORT_TQ)
TG_TARGETS=""   # the tollgate variants selected, in BENCH_TARGETS order
for t in $BENCH_TARGETS; do
  [[ -n ${TG_PORT[$t]:-} ]] && ! has_word "$t" $TG_TARGETS && TG_TARGETS+="${TG_TARGETS:+ }$t"
done
WANT_TOLLGATE=0; [[ -n $TG_TARGETS ]] && WANT_TOLLGATE=1
WANT_STREAMS=0; (( WANT_TOLLGATE && BENCH_STREAMS > 0 )) && WANT_STREAMS=1

ports=("$PORT_A" "$PORT_B")
(( WANT_PROXY )) && ports+=("$PORT_C" "$PORT_D")
(( WANT_CURLPROXY )) && ports+=("$PORT_E" "$PORT_F")
for t in $TG_TARGETS; do ports+=("${TG_PORT[$t]}"); done
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
if (( WANT_CURLPROXY )); then
  need_exe cc "$CC_BIN" "install a C compiler (Debian: apt-get install gcc) or leave curl-proxy out of BENCH_TARGETS"
  [[ -f $BENCH_SRC/curl-proxy.c ]] || { printf '[bench] missing bench file: %s\n' "$BENCH_SRC/curl-proxy.c" >&2; missing=1; }
fi
for tool in awk sed sort; do
  need_exe "$tool" "$tool" "install it (coreutils/mawk/sed)"
done
if (( WANT_TOLLGATE )); then
  [[ $TOLLGATE_BIN == /* ]] || TOLLGATE_BIN="$ROOT/$TOLLGATE_BIN"
  need_exe tollgate "$TOLLGATE_BIN" \
    "build it first (swift build -c release), point TOLLGATE_BIN at it, or run with BENCH_TARGETS=\"direct nginx-proxy\""
fi
if (( WANT_STREAMS )); then
  need_exe python3 "$PYTHON_BIN" "install python3 or set BENCH_STREAMS=0 to skip the open-streams step"
  [[ -f $BENCH_SRC/streams.py ]] || { printf '[bench] missing bench file: %s\n' "$BENCH_SRC/streams.py" >&2; missing=1; }
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
declare -A TARGET_PID=()   # target -> pid whose RSS (with its children's) is reported

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
  LAST_PID=$pid
  track "$pid" "nginx-$name"
  for p in "$@"; do
    wait_http "nginx-$name" "$pid" "http://127.0.0.1:$p/" any "$prefix/error.log"
  done
  log "nginx-$name up (pid $pid, ports $*)"
}

# ----------------------------------------------------------- curl-proxy ----
# Two processes (json -> A, sse -> B), CURL_PROXY_THREADS loops each; the json one's RSS is reported.
start_curl_proxy() {
  local log="$OUT/curl-proxy.log" pid port upstream
  "$CC_BIN" -O2 -Wall -o "$OUT/curl-proxy" "$BENCH_SRC/curl-proxy.c" -lcurl -lpthread >"$log" 2>&1 ||
    { cat "$log" >&2; die "could not build bench/curl-proxy.c (libcurl's headers: apt-get install libcurl4-openssl-dev)"; }
  for port in "$PORT_E" "$PORT_F"; do
    upstream=http://127.0.0.1:$PORT_A
    [[ $port == "$PORT_F" ]] && upstream=http://127.0.0.1:$PORT_B
    "$OUT/curl-proxy" "$port" "$upstream" "$CURL_PROXY_THREADS" </dev/null >>"$log" 2>&1 &
    pid=$!
    track "$pid" "curl-proxy-$port"
    [[ $port == "$PORT_E" ]] && TARGET_PID[curl-proxy]=$pid
    wait_http curl-proxy "$pid" "http://127.0.0.1:$port/" any "$log"
  done
  log "curl-proxy up (ports $PORT_E $PORT_F, $CURL_PROXY_THREADS threads each)"
}

# ------------------------------------------------------------- tollgate ----
# rss_kb PID -> "RSS_KB HWM_KB" summed over PID and its direct children (an
# nginx master and its worker; tollgate is one process), or nothing if gone.
rss_kb() {
  local pid=$1 p rss=0 hwm=0 r h found=0
  for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    [[ -r /proc/$p/status ]] || continue
    read -r r h < <(awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {print r+0, h+0}' "/proc/$p/status" 2>/dev/null) || continue
    rss=$(( rss + r )); hwm=$(( hwm + h )); found=1
  done
  (( found )) && printf '%s %s' "$rss" "$hwm"
  return 0
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
rss_text() { # rss_text PID -> "31.2 MB (peak 40.1 MB)" or n/a
  local v
  v=$(rss_kb "$1")
  if [[ -n $v ]]; then printf '%s (peak %s)' "$(mb "${v% *}")" "$(mb "${v#* }")"; else printf 'n/a (process gone)'; fi
}

tg_cfg() { printf '%s/%s.json' "$OUT" "$1"; }
tg_log() { printf '%s/%s.log' "$OUT" "$1"; }
tg_ledger_rel() { printf '.build/bench/ledger-%s.sqlite' "$1"; }

start_tollgate() { # start_tollgate TARGET — each variant is its own process, port, config, log and ledger
  local target=$1 port=${TG_PORT[$1]} cfg log ledger pid args=()
  cfg=$(tg_cfg "$target"); log=$(tg_log "$target"); ledger=$(tg_ledger_rel "$target")
  case $target in
    tollgate)          args=() ;;
    tollgate-1loop)    args=(--loops 1) ;;
    tollgate-noledger) args=(--no-ledger) ;;
    tollgate-quiet)    args=(--log-level warning) ;;
  esac
  rm -f "$ROOT/$ledger" "$ROOT/$ledger-wal" "$ROOT/$ledger-shm" "$ROOT/$ledger-journal" "$ROOT/$ledger.lock"
  cat >"$cfg" <<EOF
{
  "listen": "127.0.0.1:$port",
  "ledger": "$ledger",
  "providers": {
    "canned":    { "type": "openai_compatible", "base_url": "http://127.0.0.1:$PORT_A/v1", "api_key": "bench-key", "priority": 1, "models": ["bench-model"] },
    "cannedsse": { "type": "openai_compatible", "base_url": "http://127.0.0.1:$PORT_B/v1", "api_key": "bench-key", "priority": 2, "models": ["bench-model-sse"] }
  },
  "routes": {}
}
EOF
  # One log line per request goes to stderr: keep it off the terminal.
  "$TOLLGATE_BIN" serve --config "$cfg" --listen "127.0.0.1:$port" "${args[@]}" \
    </dev/null >"$log" 2>&1 &
  pid=$!
  track "$pid" "$target"
  TARGET_PID[$target]=$pid
  wait_http "$target" "$pid" "http://127.0.0.1:$port/health" 200 "$log"
  log "$target up (pid $pid, port $port, serve${args[*]:+ ${args[*]}}, log ${log#"$ROOT"/})"
}

# ------------------------------------------------------------ targets ----
url_for() { # url_for TARGET MODE
  local port
  case "$1/$2" in
    direct/json)      port=$PORT_A ;;
    direct/sse)       port=$PORT_B ;;
    nginx-proxy/json) port=$PORT_C ;;
    nginx-proxy/sse)  port=$PORT_D ;;
    curl-proxy/json)  port=$PORT_E ;;
    curl-proxy/sse)   port=$PORT_F ;;
    tollgate*/*)      port=${TG_PORT[$1]} ;;
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
  printf '[bench]   %-17s %-4s c=%-4s %8s req/s   p50 %7s µs   p90 %7s µs   p99 %7s µs   errors %s%s\n' \
    "$target" "$mode" "$conns" "$rps" "$p50_us" "$p90_us" "$p99_us" "$errors${detail:+ ($detail)}" "${note:+   !! $note}" >&2
}

# ------------------------------------------------------------------ run ----
mkdir -p "$OUT"
rm -rf "$RAW"
mkdir -p "$RAW"
: >"$TSV"

rm -f "$STREAMS_MD"
start_nginx backend "$BENCH_SRC/nginx-backend.conf.in" "$PORT_A" "$PORT_B"
TARGET_PID[direct]=$LAST_PID
if (( WANT_PROXY )); then
  start_nginx proxy "$BENCH_SRC/nginx-proxy.conf.in" "$PORT_C" "$PORT_D"
  TARGET_PID[nginx-proxy]=$LAST_PID
fi
(( WANT_CURLPROXY )) && start_curl_proxy
TG_DESC="not benchmarked (BENCH_TARGETS=\"$BENCH_TARGETS\")"
if (( WANT_TOLLGATE )); then
  # Describe the binary before starting it (it may be rebuilt during the run).
  TG_VERSION=$({ timeout 5 "$TOLLGATE_BIN" --version 2>&1 || true; } | head -n 1)
  TG_DESC="$TOLLGATE_BIN, version ${TG_VERSION:-unknown}, $(stat -c '%s bytes, modified %y' "$TOLLGATE_BIN" | cut -d. -f1)"
  [[ $TOLLGATE_BIN == */debug/* ]] && TG_DESC+=" — WARNING: debug build"
  for t in $TG_TARGETS; do start_tollgate "$t"; done
fi
declare -A RSS_START=() RSS_END=()
for t in $BENCH_TARGETS; do
  [[ -n ${TARGET_PID[$t]:-} ]] || continue
  RSS_START[$t]=$(rss_text "${TARGET_PID[$t]}")
  log "RSS after start: $t ${RSS_START[$t]}"
done

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

for t in $BENCH_TARGETS; do
  [[ -n ${TARGET_PID[$t]:-} ]] || continue
  RSS_END[$t]=$(rss_text "${TARGET_PID[$t]}")
  if ! kill -0 "${TARGET_PID[$t]}" 2>/dev/null; then
    log "$t exited during the run${TG_PORT[$t]:+; see $(tg_log "$t")}"
    FAILED=1
  fi
  log "RSS after run:   $t ${RSS_END[$t]}"
done

# ------------------------------------------------------ open streams ----
# A fresh tollgate (own port, own slow upstream) holding BENCH_STREAMS streams
# open; bench/streams.py writes its section of the report to $STREAMS_MD.
if (( WANT_STREAMS )); then
  log "open streams: $BENCH_STREAMS concurrent slow streams through a fresh tollgate"
  if ! STREAMS_COUNT=$BENCH_STREAMS TOLLGATE_BIN=$TOLLGATE_BIN \
       "$PYTHON_BIN" "$BENCH_SRC/streams.py" --markdown "$STREAMS_MD" >/dev/null; then
    log "open-streams step FAILED (see above)"
    FAILED=1
  fi
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
  echo "One row per tollgate variant. added p50 = target p50 − direct p50 at the same mode and conns;"
  echo "ratios are the variant's against nginx-proxy, and in the last column against curl-proxy (the"
  echo "ceiling of a libcurl proxy). n/a where a point is missing, had errors or stalled."
  echo
  if [[ -z $TG_TARGETS ]]; then echo "(no tollgate variant in BENCH_TARGETS)"; else
  awk -F'\t' -v variants="$TG_TARGETS" '
    function ok(k) { return (k in rps) && rps[k] != "-" && errs[k] == 0 && note[k] == "" }
    function sgn(x) { return (x >= 0 ? "+" : "") x }
    {
      k = $1 SUBSEP $2 SUBSEP $3
      rps[k] = $4; p50[k] = $5; errs[k] = $8; note[k] = $10
      if (!(($2 SUBSEP $3) in seen)) { seen[$2 SUBSEP $3] = 1; order[++n] = $2 SUBSEP $3 }
    }
    END {
      nv = split(variants, v, " ")
      print "| mode | conns | variant | direct p50 (µs) | nginx-proxy added p50 (µs) | variant added p50 (µs) | variant ÷ nginx-proxy added p50 | variant ÷ nginx-proxy req/s | curl-proxy ÷ nginx-proxy req/s | variant ÷ curl-proxy req/s |"
      print "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
      for (i = 1; i <= n; i++) {
        split(order[i], mc, SUBSEP)
        d = "direct" SUBSEP order[i]; x = "nginx-proxy" SUBSEP order[i]; cp = "curl-proxy" SUBSEP order[i]
        cr = (ok(x) && ok(cp) && rps[x] > 0) ? sprintf("%.2f", rps[cp] / rps[x]) : "n/a"
        dp = ok(d) ? p50[d] : "n/a"
        xa = (ok(d) && ok(x)) ? p50[x] - p50[d] : "n/a"
        for (j = 1; j <= nv; j++) {
          t = v[j] SUBSEP order[i]
          ta = (ok(d) && ok(t)) ? p50[t] - p50[d] : "n/a"
          ar = (xa != "n/a" && ta != "n/a" && xa > 0) ? sprintf("%.2f×", ta / xa) : "n/a"
          rr = (ok(x) && ok(t) && rps[x] > 0) ? sprintf("%.2f", rps[t] / rps[x]) : "n/a"
          rc = (ok(cp) && ok(t) && rps[cp] > 0) ? sprintf("%.2f", rps[t] / rps[cp]) : "n/a"
          printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mc[1], mc[2], v[j], dp,
            (xa != "n/a" ? sgn(xa) : xa), (ta != "n/a" ? sgn(ta) : ta), ar, rr, cr, rc
        }
      }
    }' "$TSV"
  fi
  echo
  echo "## Memory (RSS)"
  echo
  echo "VmRSS (peak = VmHWM) from /proc; nginx targets count master + worker. direct is also every proxy's upstream."
  echo
  echo "| target | after start | after run |"
  echo "|---|---:|---:|"
  for t in $BENCH_TARGETS; do
    [[ -n ${RSS_START[$t]:-} ]] && echo "| $t | ${RSS_START[$t]} | ${RSS_END[$t]:-n/a} |"
  done
  if [[ -s $STREAMS_MD ]]; then
    echo
    cat "$STREAMS_MD"
  elif (( WANT_TOLLGATE && ! WANT_STREAMS )); then
    echo
    echo "(open-streams step skipped: BENCH_STREAMS=0)"
  fi
  echo
  echo "Raw wrk output: .build/bench/raw/. nginx configs: .build/bench/nginx-*/nginx.conf."
  for t in $TG_TARGETS; do
    echo "$t log: .build/bench/$t.log ($(wc -l <"$(tg_log "$t")" 2>/dev/null || echo 0) lines)."
  done
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
