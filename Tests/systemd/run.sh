#!/usr/bin/env bash
# make test-systemd: tollgate installed as the README says (`make install`), in a throw-away
# container booted with systemd as PID 1 (systemd-nspawn --volatile=yes from this machine's
# own /usr), then every service promise checked under that real systemd:
#   1 start (Type=notify, READY=1, STATUS=, curl + openai SDK, ledger by the dynamic user, restart)
#   2 reload (good config: new model served; bad config: old kept, status + journal say why)
#   3 watchdog (SIGSTOP the daemon: systemd kills and restarts it, it serves again)
#   4 stop during a stream (drained, STOPPING=1, exit 0, the row in the ledger)
#   5 socket activation (a connection starts it; connections during a restart are queued)
#   6 journal fields (TOLLGATE_PROVIDER=, TOLLGATE_REQUEST_ID=; no secret in the journal)
#   7 encrypted credentials (systemd-creds encrypt + LoadCredentialEncrypted= + credential:NAME)
#   8 the sandbox (no writes outside the state directory; systemd-analyze security score)
# Clients (curl, the openai SDK) and the fake upstream are this machine's programs run in the
# container's network namespace (--private-network: only its loopback exists there).
# Skips with the reason when the machine cannot boot the container. Never leaves it running.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
LIMIT="${TEST_SYSTEMD_LIMIT:-600}"    # seconds for the whole run
PORT_UPSTREAM=18080
VENV_PY="$ROOT/.build/venv/bin/python"
ENV_KEY="sk-systemd-envkey-$RANDOM$RANDOM-0123456789"
CRED_KEY="sk-systemd-sealed-$RANDOM$RANDOM-9876543210"

say() { printf '[%3ds] %s\n' "$SECONDS" "$*"; }
skip() { echo "test-systemd: SKIPPED: $*"; exit 0; }
PASSED=()
FAILED=()
pass() { say "PASS  $*"; PASSED+=("$*"); }
fail() { say "FAIL  $*"; FAILED+=("$*"); }
# check "description" command...: passes when the command succeeds.
check() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# --- can this machine boot the container? -------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root: systemd-nspawn boots a container (run as root, e.g. in CI)"
if ! command -v systemd-nspawn >/dev/null; then
	if command -v apt-get >/dev/null; then
		echo "installing systemd-container (systemd-nspawn)"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container) >/dev/null 2>&1
	fi
	command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is missing and the Debian package systemd-container could not be installed"
fi
[ -x /usr/lib/systemd/systemd ] || skip "no /usr/lib/systemd/systemd to boot"
for tool in nsenter curl python3 systemd-id128; do
	command -v "$tool" >/dev/null || skip "$tool is missing"
done
[ -x "$VENV_PY" ] || skip "no $VENV_PY (make venv)"

work="$(mktemp -d /tmp/tollgate-systemd.XXXXXX)"
chmod 755 "$work"
machine="tollgate-test-$$"
NSPAWN=""
LEADER=""
FAKE=""
TIMER=""

cleanup() {
	set +e
	[ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		# SIGRTMIN+3 asks systemd to halt; SIGINT would reboot it, SIGKILL to nspawn leaves it running.
		[ -n "$LEADER" ] && kill -RTMIN+3 "$LEADER" 2>/dev/null
		for _ in $(seq 1 40); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$NSPAWN" 2>/dev/null; then
			echo "test-systemd: container $machine did not halt in 20 s; killing it"
			[ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
			kill -KILL "$NSPAWN" 2>/dev/null
		fi
		wait "$NSPAWN" 2>/dev/null
	fi
	[ -n "$TIMER" ] && kill "$TIMER" 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "test-systemd: interrupted"; exit 130' INT TERM
# The time limit: a watcher that ends the run (and with it the container, through the trap).
(
	trap 'kill "$nap" 2>/dev/null; exit 0' TERM
	sleep "$LIMIT" & nap=$!
	wait "$nap" && { echo "test-systemd: time limit of $LIMIT s reached" >&2; kill -TERM $$; }
) 2>/dev/null &
TIMER=$!

# Commands in the container (all its namespaces), with a time limit and a clean environment.
inside() {
	timeout "${T:-60}" nsenter -t "$LEADER" -m -u -i -n -p -- \
		/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_PAGER= SYSTEMD_COLORS=0 LANG=C.UTF-8 "$@"
}
# This machine's programs in the container's network namespace only.
net() { timeout "${T:-60}" nsenter -t "$LEADER" -n -- "$@"; }
show() { inside systemctl show tollgate.service -p "$1" --value; }
# chat MODEL [STREAM]: one request with curl; prints the status; headers in $work/h, body in $work/b.
chat() {
	net curl -sS --max-time 30 -o "$work/b" -D "$work/h" -w '%{http_code}' \
		-H 'Host: localhost' -H 'Content-Type: application/json' http://127.0.0.1:4100/v1/chat/completions \
		-d "{\"model\": \"$1\", \"stream\": ${2:-false}, \"messages\": [{\"role\": \"user\", \"content\": \"${3:-ping}\"}]}" 2>>"$work/curl.err"
}
# Ledger rows (read-only, as root in the container), optionally a WHERE clause.
rows() {
	inside python3 -c "import sqlite3,sys; c=sqlite3.connect('file:/var/lib/tollgate/ledger.sqlite?mode=ro', uri=True); print(c.execute('select count(*) from requests ' + sys.argv[1]).fetchone()[0])" "${1:-}"
}
# wait_for SECONDS command...: polls every 0.25 s.
wait_for() {
	local limit=$(( $1 * 4 )); shift
	for _ in $(seq 1 "$limit"); do "$@" && return 0; sleep 0.25; done
	return 1
}
write_config() {  # write_config API_KEY_REFERENCE MODELS_JSON
	cat > "$work/stage/etc/tollgate/config.json" <<-EOF
	{
	  "listen": "127.0.0.1:4100",
	  "ledger": "/var/lib/tollgate/ledger.sqlite",
	  "log_level": "info",
	  "listen_unix": "/run/tollgate/tollgate.sock",
	  "listen_unix_mode": "0666",
	  "clients": { "operator": { "unix_user": "root" }, "anonymous": {} },
	  "providers": {
	    "fake": { "type": "openai_compatible", "base_url": "http://127.0.0.1:$PORT_UPSTREAM/v1",
	              "api_key": "$1", "models": $2 }
	  }
	}
	EOF
}

# --- install as the README says, into a staging folder the container mounts --------------
say "make install DESTDIR=$work/stage PREFIX=/usr/local (release build)"
if ! make --no-print-directory install DESTDIR="$work/stage" PREFIX=/usr/local > "$work/install.log" 2>&1; then
	cat "$work/install.log"; echo "test-systemd: make install failed"; exit 1
fi
bin="$work/stage/usr/local/bin/tollgate"
# The binary uses the Swift runtime of the toolchain that built it (README): mount it too.
core="$(ldd "$bin" | awk '/libswiftCore.so/ {print $3}')"
swift_root="${core%/usr/lib/swift/linux/libswiftCore.so}"
binds=()
case "$swift_root" in
	""|/usr|/usr/*) ;;
	*) binds+=("--bind-ro=$swift_root") ;;
esac
systemd-id128 new > "$work/machine-id"

# --- boot ---------------------------------------------------------------------------------
say "booting container $machine (systemd-nspawn --volatile=yes --boot --private-network)"
systemd-nspawn -D / --volatile=yes --boot --private-network --register=no --keep-unit -M "$machine" \
	--console=pipe --bind-ro="$work/machine-id:/etc/machine-id" \
	--bind-ro="$work/stage/usr/local:/usr/local" --bind="$work/stage/etc/tollgate:/etc/tollgate" "${binds[@]}" \
	-- systemd.firstboot=off systemd.mask=systemd-machine-id-commit.service \
	> "$work/boot.log" 2>&1 < /dev/null &
NSPAWN=$!
for _ in $(seq 1 80); do
	LEADER="$(ps --ppid "$NSPAWN" -o pid=,comm= 2>/dev/null | awk '$2 == "systemd" {print $1; exit}')"
	[ -n "$LEADER" ] && break
	kill -0 "$NSPAWN" 2>/dev/null || break
	sleep 0.25
done
if [ -z "$LEADER" ]; then
	reason="$(tail -n 5 "$work/boot.log" | tr '\n' ' ')"
	skip "the container did not boot: ${reason:-systemd-nspawn printed nothing}"
fi
# Right after the exec, PID 1 may not answer yet (no /run/systemd/private): retry until it does.
booted() {
	state="$(T=90 inside systemctl is-system-running --wait 2>/dev/null)"
	case "$state" in running|degraded|maintenance|stopping|offline) return 0 ;; esac
	return 1
}
state=""
if ! wait_for 60 booted; then
	skip "the container's systemd did not finish booting in 60 s (state \"$state\"): $(tail -n 3 "$work/boot.log" | tr '\n' ' ')"
fi
say "container up (leader pid $LEADER): $state"
if [ "$state" != "running" ]; then
	say "failed units: $(inside systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
fi

say "fake upstream on the container's 127.0.0.1:$PORT_UPSTREAM"
: > "$work/upstream.log"
nsenter -t "$LEADER" -n -- python3 "$ROOT/Tests/systemd/fake_upstream.py" "$PORT_UPSTREAM" "$work/upstream.log" \
	> "$work/fake.out" 2>&1 &
FAKE=$!

# As the README: config in /etc/tollgate/config.json, the key in tollgate.env (mode 600).
write_config "env:OPENAI_API_KEY" '["gpt-sys"]'
install -m 600 /dev/null "$work/stage/etc/tollgate/tollgate.env"
echo "OPENAI_API_KEY=$ENV_KEY" > "$work/stage/etc/tollgate/tollgate.env"

# --- 1. start -----------------------------------------------------------------------------
say "1. systemctl start tollgate (the unit as shipped)"
check "1 installed unit is deploy/tollgate.service unchanged" \
	diff -q "$ROOT/deploy/tollgate.service" "$work/stage/usr/local/lib/systemd/system/tollgate.service"
inside systemctl daemon-reload
started=0
T=90 inside systemctl start tollgate.service && started=1
check "1 systemctl start returned after READY=1 (Type=$(show Type))" test "$started" = 1
check "1 active (running)" test "$(show ActiveState)/$(show SubState)" = "active/running"
code="$(chat gpt-sys)"
check "1 curl: 200 from the fake upstream (got $code)" grep -q "pong from the fake" "$work/b"
check "1 the env key reached the upstream" grep -q "Bearer $ENV_KEY" "$work/upstream.log"
sdk_out="$(net "$VENV_PY" - <<-'EOF' 2>&1
	from openai import OpenAI
	client = OpenAI(base_url="http://127.0.0.1:4100/v1", api_key="unused", default_headers={"Host": "localhost"})
	answer = client.chat.completions.create(model="gpt-sys", messages=[{"role": "user", "content": "hi"}])
	parts = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
	    model="gpt-sys", stream=True, messages=[{"role": "user", "content": "hi"}]) if c.choices]
	print(answer.choices[0].message.content, "|", "".join(parts).strip())
	EOF
)"
check "1 openai SDK: plain and streamed answers ($sdk_out)" test "$sdk_out" = "pong from the fake | part0 part1 part2"
sleep 2.5   # STATUS= is refreshed every two seconds
status_text="$(inside systemctl status tollgate.service --no-pager -l)"
status_line="$(printf '%s\n' "$status_text" | grep -m1 'Status: ')"
say "   ${status_line# *}"
check "1 systemctl status shows the live STATUS= line" grep -q 'Status: ".*provider.*served' <<< "$status_line"
main_pid="$(show MainPID)"
# (awk is an /etc/alternatives link, absent from the container's fresh /etc: parse here.)
svc_uid="$(inside cat "/proc/$main_pid/status" | awk '/^Uid:/ {print $2}')"
ledger_uid="$(inside stat -c %u /var/lib/tollgate/ledger.sqlite)"
say "   daemon uid $svc_uid, ledger $(inside readlink -f /var/lib/tollgate/ledger.sqlite) uid $ledger_uid"
check "1 ledger written under /var/lib/tollgate by the dynamic user (uid $ledger_uid)" \
	test "$svc_uid" = "$ledger_uid" -a "$svc_uid" -ge 61184 -a "$svc_uid" -le 65519
# The Unix socket in the unit's RuntimeDirectory; its caller known by SO_PEERCRED (root: "operator").
unix_code="$(inside curl -sS --max-time 30 -o /dev/null -D "/tmp/unix-h" -w '%{http_code}' --unix-socket /run/tollgate/tollgate.sock \
	-H 'Host: localhost' -H 'Content-Type: application/json' http://localhost/v1/chat/completions \
	-d '{"model": "gpt-sys", "messages": [{"role": "user", "content": "over unix"}]}' 2>&1)"
unix_rid="$(inside sh -c "grep -i '^x-tollgate-request-id' /tmp/unix-h | cut -d' ' -f2 | tr -d '\r'")"
check "1 listen_unix: /run/tollgate/tollgate.sock answers (got $unix_code)" test "$unix_code" = 200
check "1 the Unix socket's caller is the client its uid names" \
	test "$(rows "where request_id = '$unix_rid' and client = 'operator'")" = 1
before="$(rows)"
T=90 inside systemctl restart tollgate.service
after="$(rows)"
chat gpt-sys > /dev/null
check "1 ledger survives a restart ($before rows before, $after after, $(rows) after one more request)" \
	test "$before" -ge 3 -a "$after" = "$before" -a "$(rows)" = $((before + 1))

# --- 2. reload ----------------------------------------------------------------------------
say "2. systemctl reload"
pid_before="$(show MainPID)"
check "2 gpt-new is unknown before the reload" test "$(chat gpt-new)" = 404
write_config "env:OPENAI_API_KEY" '["gpt-sys", "gpt-new"]'
inside systemctl reload tollgate.service
served_new() { test "$(chat gpt-new)" = 200; }
check "2 good config: gpt-new served after reload, same process" wait_for 10 served_new
check "2 main pid unchanged ($pid_before)" test "$(show MainPID)" = "$pid_before"
cat > "$work/stage/etc/tollgate/config.json" <<-'EOF'
	{"providers": {"broken": {"base_url": "http://127.0.0.1:1/v1"}}}
EOF
inside systemctl reload tollgate.service
reload_failed() { inside journalctl -u tollgate.service --no-pager -o cat | grep -q "reload failed, keeping the current configuration"; }
check "2 bad config: the journal says why" wait_for 10 reload_failed
say "   journal: $(inside journalctl -u tollgate.service --no-pager -o cat | grep -m1 'reload failed')"
sleep 2.5
status_says_failed() { inside systemctl status tollgate.service --no-pager -l | grep -q 'last reload failed'; }
check "2 bad config: systemctl status says the reload failed" status_says_failed
check "2 bad config: the old config still serves gpt-new, still running" \
	test "$(chat gpt-new)/$(show ActiveState)/$(show MainPID)" = "200/active/$pid_before"
write_config "env:OPENAI_API_KEY" '["gpt-sys", "gpt-new"]'
inside systemctl reload tollgate.service
sleep 1

# --- 6. journal ---------------------------------------------------------------------------
say "6. journal fields"
chat gpt-sys > /dev/null
rid="$(tr -d '\r' < "$work/h" | awk -F': ' 'tolower($1) == "x-tollgate-request-id" {print $2}')"
inside journalctl -u tollgate.service TOLLGATE_REQUEST_ID="$rid" -o json --no-pager > "$work/entry.json"
fields="$(python3 -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print(len(e), e[-1].get("TOLLGATE_PROVIDER"), e[-1].get("TOLLGATE_MODEL"), e[-1].get("TOLLGATE_STATUS"), e[-1].get("PRIORITY")) if e else print(0)' "$work/entry.json")"
say "   TOLLGATE_REQUEST_ID=$rid: entries, provider, model, status, priority = $fields"
check "6 journalctl TOLLGATE_REQUEST_ID= finds the request with its fields" test "$fields" = "1 fake gpt-sys 200 6"
by_provider="$(inside journalctl -u tollgate.service TOLLGATE_PROVIDER=fake -o json --no-pager | grep -c "\"TOLLGATE_REQUEST_ID\":\"$rid\"")"
check "6 journalctl TOLLGATE_PROVIDER=fake finds it too" test "$by_provider" = 1

# --- 3. watchdog --------------------------------------------------------------------------
say "3. watchdog: SIGSTOP the daemon (WatchdogSec=$(show WatchdogUSec))"
pid_before="$(show MainPID)"
restarts_before="$(show NRestarts)"
inside kill -STOP "$pid_before"
stopped_at=$SECONDS
restarted() { local p; p="$(show MainPID)"; [ "$p" != 0 ] && [ "$p" != "$pid_before" ] && [ "$(show ActiveState)" = active ]; }
T=150 wait_for 120 restarted
took=$((SECONDS - stopped_at))
check "3 systemd killed and restarted the stuck daemon (${took}s after SIGSTOP; restarts $restarts_before -> $(show NRestarts))" \
	test "$(show NRestarts)" -gt "$restarts_before"
inside journalctl -u tollgate.service --no-pager -o short-monotonic \
	| grep -E 'Watchdog timeout|Killing process|Main process exited|Scheduled restart' | sed 's/^/     /' | cut -c1-160
check "3 the journal names the watchdog" sh -c "nsenter -t $LEADER -m -u -i -n -p -- journalctl -u tollgate.service --no-pager | grep -qi 'watchdog timeout'"
check "3 it serves again" test "$(chat gpt-sys)" = 200

# --- 4. stop during a stream --------------------------------------------------------------
say "4. systemctl stop during a streamed answer"
before="$(rows "where streamed = 1 and outcome = 'ok'")"
net curl -sSN --max-time 40 -H 'Host: localhost' -H 'Content-Type: application/json' \
	http://127.0.0.1:4100/v1/chat/completions \
	-d '{"model": "gpt-sys", "stream": true, "messages": [{"role": "user", "content": "#slow 8"}]}' \
	> "$work/stream.out" 2>&1 &
curl_pid=$!
streaming() { grep -q part0 "$work/stream.out"; }
wait_for 10 streaming
inside systemd-analyze log-level debug
stop_at=$SECONDS
T=60 inside systemctl stop tollgate.service
stop_took=$((SECONDS - stop_at))
inside systemd-analyze log-level info
wait "$curl_pid"
check "4 the stream finished during the stop (${stop_took}s, TimeoutStopSec=45s)" \
	sh -c "grep -q part7 '$work/stream.out' && grep -q 'data: \[DONE\]' '$work/stream.out' && [ $stop_took -lt 45 ]"
check "4 STOPPING=1 reached systemd" sh -c "nsenter -t $LEADER -m -u -i -n -p -- journalctl _PID=1 --no-pager -o cat | grep -q 'tollgate.service: Got notification message from PID .*STOPPING=1'"
check "4 exit status 0 (Result=$(show Result), ExecMainStatus=$(show ExecMainStatus))" \
	test "$(show Result)/$(show ExecMainStatus)" = "success/0"
check "4 the streamed row is in the ledger" test "$(rows "where streamed = 1 and outcome = 'ok'")" = $((before + 1))

# --- 5. socket activation -----------------------------------------------------------------
say "5. socket activation"
# queue_during_restart FILE: 40 requests, one connection each, while the service restarts.
queue_during_restart() {
	: > "$1"
	(
		for _ in $(seq 1 40); do
			net curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' -H 'Host: localhost' \
				-H 'Content-Type: application/json' http://127.0.0.1:4100/v1/chat/completions \
				-d '{"model": "gpt-sys", "messages": [{"role": "user", "content": "queued"}]}' >> "$1" 2>/dev/null
			sleep 0.05
		done
	) &
	local loop=$!
	sleep 0.3
	T=60 inside systemctl restart tollgate.service
	wait "$loop"
}
# Control: without the socket, the same restart refuses some of those connections (000).
T=90 inside systemctl start tollgate.service
queue_during_restart "$work/control.codes"
say "   without tollgate.socket, during a restart: $(sort "$work/control.codes" | uniq -c | tr -s ' \n' ' ')"
T=60 inside systemctl stop tollgate.service
inside systemctl enable --now tollgate.socket > /dev/null 2>&1
check "5 tollgate.socket listening, service inactive" \
	test "$(inside systemctl is-active tollgate.socket)/$(show ActiveState)" = "active/inactive"
check "5 the first connection starts the service and is answered" test "$(chat gpt-sys)" = 200
check "5 the service was started by the socket" test "$(show ActiveState)" = active
pid_before="$(show MainPID)"
queue_during_restart "$work/queue.codes"
codes="$(sort "$work/queue.codes" | uniq -c | tr -s ' \n' ' ')"
check "5 connections during the restart waited and were answered ($codes; pid $pid_before -> $(show MainPID))" \
	sh -c "[ \$(grep -c '^200$' '$work/queue.codes') = 40 ] && [ '$(show MainPID)' != '$pid_before' ]"
inside systemctl disable --now tollgate.socket > /dev/null 2>&1
T=90 inside systemctl restart tollgate.service

# --- 7. encrypted credentials -------------------------------------------------------------
say "7. LoadCredentialEncrypted= + credential:openai"
printf '%s' "$CRED_KEY" | inside systemd-creds encrypt --with-key=host --name=openai - /etc/tollgate/openai.cred 2>/dev/null
check "7 sealed with systemd-creds (no plaintext in the file)" \
	sh -c "[ -s '$work/stage/etc/tollgate/openai.cred' ] && ! grep -qF '$CRED_KEY' '$work/stage/etc/tollgate/openai.cred'"
inside mkdir -p /etc/systemd/system/tollgate.service.d
printf '[Service]\nLoadCredentialEncrypted=openai:/etc/tollgate/openai.cred\n' \
	| inside tee /etc/systemd/system/tollgate.service.d/credential.conf > /dev/null
write_config "credential:openai" '["gpt-sys"]'
inside systemctl daemon-reload
T=90 inside systemctl restart tollgate.service
code="$(chat gpt-sys)"
check "7 the sealed key reached the upstream through credential:openai ($code)" \
	sh -c "[ $code = 200 ] && tail -n 1 '$work/upstream.log' | grep -qF 'Bearer $CRED_KEY'"

# --- 8. sandbox ---------------------------------------------------------------------------
say "8. sandbox"
# ExecStartPost= runs with the service's own sandbox and dynamic user: try to write everywhere.
cat > "$work/stage/etc/tollgate/probe.sh" <<-'EOF'
	#!/bin/sh
	for dir in /var/lib/tollgate /etc /etc/tollgate /usr/local /opt /var/lib /var/log /root /home /srv /run /; do
	    if touch "$dir/.tollgate-probe" 2>/dev/null; then echo "writable $dir"; rm -f "$dir/.tollgate-probe"; else echo "refused $dir"; fi
	done > /var/lib/tollgate/sandbox-probe
EOF
chmod 755 "$work/stage/etc/tollgate/probe.sh"
printf '[Service]\nExecStartPost=/bin/sh /etc/tollgate/probe.sh\n' \
	| inside tee /etc/systemd/system/tollgate.service.d/probe.conf > /dev/null
inside systemctl daemon-reload
T=90 inside systemctl restart tollgate.service
probe="$(inside cat /var/lib/tollgate/sandbox-probe)"
say "   $(echo "$probe" | tr '\n' ';')"
check "8 the service writes its state directory and nothing else" \
	test "$(echo "$probe" | grep -c '^writable')/$(echo "$probe" | grep '^writable')" = "1/writable /var/lib/tollgate"
inside rm -f /etc/systemd/system/tollgate.service.d/probe.conf
inside systemctl daemon-reload
inside systemd-analyze security tollgate.service --no-pager > "$work/security.txt" 2>&1
score="$(awk '/Overall exposure level/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) print $i}' "$work/security.txt")"
say "   $(grep 'Overall exposure level' "$work/security.txt")"
check "8 systemd-analyze security: exposure $score (at most 1.2)" awk -v s="$score" 'BEGIN {exit !(s != "" && s <= 1.2)}'

# --- 6 (end). no secret anywhere in the journal -------------------------------------------
T=60 inside journalctl --no-pager -o export > "$work/journal.export"
check "6 no secret in the journal ($(wc -l < "$work/journal.export") export lines: env key, sealed key)" \
	sh -c "! grep -qaF '$ENV_KEY' '$work/journal.export' && ! grep -qaF '$CRED_KEY' '$work/journal.export'"

echo
echo "test-systemd: ${#PASSED[@]} passed, ${#FAILED[@]} failed, ${SECONDS}s"
for f in "${FAILED[@]}"; do echo "  FAILED: $f"; done
if [ "${#FAILED[@]}" -ne 0 ]; then
	echo "--- journal of tollgate.service (last 40 lines)"
	inside journalctl -u tollgate.service --no-pager -n 40 -o short-monotonic
	exit 1
fi
