#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Fails when `systemd-analyze security --offline=true` rates UNIT above
# THRESHOLD (tenths: 23 means an exposure of 2.3), printing the report.
# Skipped (77) without a systemd-analyze that has --offline (systemd >= 250).
#
# Usage: test-unit-security.sh UNIT THRESHOLD
set -eu
unit=$1
threshold=$2

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
    { echo "SKIP: systemd-analyze security has no --offline"; exit 77; }

# systemd-analyze names the unit after the file: give it its installed name.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$unit" "$tmp/lbd.service"
if out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold="$threshold" \
        lbd.service 2>&1); then
    echo "$out" | tail -n 1
    exit 0
fi
echo "$out"
echo "FAIL: exposure above $threshold/10 (or systemd-analyze failed)"
exit 1
