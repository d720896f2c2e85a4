#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test-man-page.sh PAGE: groff renders PAGE with every warning enabled
# (-ww) and says nothing. Exit 77 (skipped) without groff.
set -eu
page=$1
command -v groff >/dev/null || { echo "SKIP: groff is not installed"; exit 77; }
out=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$page" 2>&1) || true
if [ -n "$out" ]; then
    echo "$out"
    echo "FAIL: groff warns about $page"
    exit 1
fi
# man's own check, when man-db is there: the page as man(1) shows it.
if command -v man >/dev/null; then
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null) || true
    if [ -n "$out" ]; then
        echo "$out"
        echo "FAIL: man --warnings complains about $page"
        exit 1
    fi
fi
echo "OK: $page"
