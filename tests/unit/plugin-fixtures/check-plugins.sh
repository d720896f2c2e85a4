#!/bin/bash
# SPDX-License-Identifier: MIT
#
# check-plugins.sh exports|bind-now PLUGIN.so...
#
#   exports   each plugin's defined dynamic symbols are exactly the global
#             symbols of plugins/plugin.sym (nm -D --defined-only)
#   bind-now  each plugin preloads with LD_BIND_NOW=1 (every symbol it needs
#             resolves), and the daemon's loader accepts it on its own in
#             a fresh directory
#
# Environment (set by tests/unit/meson.build): NM, PLUGIN_SYM, LOAD_PLUGINS.
set -euo pipefail

mode=$1
shift
(($#)) || { echo "no plugins given" >&2; exit 1; }

failed=0
fail() {
    echo "FAIL: $*" >&2
    failed=1
}

case "$mode" in
exports)
    # The names between "global:" and "local:" in the version script.
    expected=$(sed -n '/global:/,/local:/p' "$PLUGIN_SYM" | grep -v 'global:\|local:' |
        tr -d ' \t;' | grep -v '^$' | sort)
    [[ -n $expected ]] || { echo "no global symbols found in $PLUGIN_SYM" >&2; exit 1; }
    for so in "$@"; do
        actual=$("$NM" -D --defined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort)
        if [[ $actual != "$expected" ]]; then
            fail "$(basename "$so") exports:" $actual "; expected:" $expected
        else
            echo "ok: $(basename "$so") exports only" $expected
        fi
    done
    ;;
bind-now)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    insecure=()
    ((EUID == 0)) || insecure=(--allow-insecure)
    for so in "$@"; do
        name=$(basename "$so")
        if ! out=$(LD_BIND_NOW=1 LD_PRELOAD="$so" "$LOAD_PLUGINS" 2>&1); then
            fail "$name does not preload with LD_BIND_NOW=1: $out"
            continue
        fi
        dir="$tmp/${name%.so}"
        mkdir -m 0755 "$dir"
        install -m 0755 "$so" "$dir/"
        if ! out=$(LD_BIND_NOW=1 "$LOAD_PLUGINS" --strict "${insecure[@]}" "$dir" 2>&1) ||
            ! grep -q "^loaded " <<<"$out"; then
            fail "$name is not accepted by the loader: $out"
            continue
        fi
        echo "ok: $name resolves with LD_BIND_NOW=1; $(grep '^loaded ' <<<"$out")"
    done
    ;;
*)
    echo "unknown mode '$mode'" >&2
    exit 1
    ;;
esac
exit $failed
