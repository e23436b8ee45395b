#!/usr/bin/env bash
# Runs each fuzz target given as an argument for FUZZ_SECONDS (default 60) under nice, then
# prints one line per target: executions, coverage (libFuzzer's cov:/ft:) and the result.
# Seeds: Fuzz/corpus/TARGET (read only); grown corpus: $FUZZ_BUILD/corpus/TARGET; crashes:
# $FUZZ_BUILD/artifacts/TARGET/. Exits non-zero when any target found a crash.
set -u
cd "$(dirname "$0")/.."
build=${FUZZ_BUILD:-.build-fuzz}
seconds=${FUZZ_SECONDS:-60}
failed=0
# Swift's backtracer would run inside ASan's crash path; libFuzzer reports the crash itself.
export SWIFT_BACKTRACE=enable=no
summary=()
for target in "$@"; do
    corpus="$build/corpus/$target"
    artifacts="$build/artifacts/$target"
    log="$build/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    dict=()
    [ -f "Fuzz/dict/$target.dict" ] && dict=(-dict="Fuzz/dict/$target.dict")
    echo "== $target: ${seconds}s (log $log)"
    nice -n 15 "$build/fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$artifacts/" "${dict[@]}" \
        "$corpus" "Fuzz/corpus/$target" >"$log" 2>&1
    status=$?
    # The last status line: "#1234 DONE cov: 567 ft: 890 corp: ..." (or the line before a crash).
    last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1)
    runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}')
    cov=$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+) .*/\1/p' <<<"$last")
    result=ok
    if [ $status -ne 0 ]; then
        result="FAILED (exit $status; see $log and $artifacts)"
        failed=1
    fi
    summary+=("$(printf '%-20s runs %-10s cov %-6s ft %-6s %s' "$target" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$result")")
done
printf '%s\n' "${summary[@]}"
exit $failed
