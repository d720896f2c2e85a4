#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-libfuzzer.sh FUZZER CORPUS SECONDS: fuzz FUZZER (a libFuzzer binary)
# for SECONDS from the seed corpus CORPUS. New inputs go to a scratch
# directory, never into the source tree; what crashed is kept in
# fuzz-artifacts/ of the current (build) directory and printed in hex, to
# be added to CORPUS as a regression input once fixed. Exits non-zero on a
# crash, a leak, a timeout or an abort (a target's broken promise).
set -eu
fuzzer=$1
corpus=$2
seconds=$3
name=$(basename "$fuzzer" -libfuzzer)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts=$PWD/fuzz-artifacts/$name
mkdir -p "$artifacts"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$scratch" "$corpus" >"$scratch.log" 2>&1 || status=$?
grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)' \
    "$scratch.log" || true
if [ "$status" -ne 0 ]; then
    tail -n 60 "$scratch.log"
    for f in "$artifacts"/*; do
        [ -f "$f" ] || continue
        echo "--- $f"
        od -A x -t x1z "$f" | head -n 40
    done
fi
rm -f "$scratch.log"
echo "$name: $seconds s of fuzzing from $(ls "$corpus" | wc -l) seeds, exit status $status"
exit "$status"
