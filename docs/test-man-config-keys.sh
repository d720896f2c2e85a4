#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test-man-config-keys.sh LBD PAGE: every key that `lbd --dump-default-config`
# shows (set or commented out, [daemon] and [service NAME]) is described in
# the lbd.conf(5) page PAGE as a "KEY=" entry, so the two cannot drift.
# Exit 77 (skipped) without groff.
set -eu
lbd=$1
page=$2
command -v groff >/dev/null || { echo "SKIP: groff is not installed"; exit 77; }

# The page as text, hyphens as ASCII (-Tascii), without overstriking.
text=$(LC_ALL=C groff -man -Tascii -P-cbou "$page" 2>/dev/null)
keys=$("$lbd" --dump-default-config |
    sed -n 's/^#\{0,1\} *\([a-z][a-z-]*\)=.*/\1/p' | sort -u)
[ -n "$keys" ] || { echo "FAIL: no keys in lbd --dump-default-config"; exit 1; }

missing=
for key in $keys; do
    # A tagged paragraph starts with the key at the indentation of the tags.
    if ! printf '%s\n' "$text" | grep -Eq "^ {7}$key="; then
        missing="$missing $key"
    fi
done
if [ -n "$missing" ]; then
    echo "FAIL: keys of lbd --dump-default-config missing from $page:$missing"
    exit 1
fi
echo "OK: $(echo $keys | wc -w) keys described"
