#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A third party can build a plugin without lbd's source tree: install the
# "devel" part of this build (lbd-plugin.h and lbd-plugin.pc) into a
# temporary DESTDIR, compile out-of-tree-plugin.c with nothing but what
# pkg-config says, and check that the daemon's loader accepts the result.
#
# Environment (set by tests/unit/meson.build): MESON, PKG_CONFIG, CC,
# LOAD_PLUGINS, BUILD_ROOT, PLUGIN_SOURCE.
set -euo pipefail

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# Only the "devel" install tag: headers and .pc, nothing that needs building.
"$MESON" install -C "$BUILD_ROOT" --no-rebuild --quiet --tags devel --destdir "$dest" >/dev/null

pc=$(find "$dest" -name lbd-plugin.pc -print -quit)
[[ -n $pc ]] || { echo "FAIL: lbd-plugin.pc was not installed" >&2; exit 1; }
# The .pc names absolute paths under the prefix; the sysroot puts them
# under $dest. PKG_CONFIG_LIBDIR keeps any system copy out.
pkgconf() {
    PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest \
        "$PKG_CONFIG" "$@" lbd-plugin
}
cflags=$(pkgconf --cflags)
abi=$(pkgconf --variable=abiversion)
header_abi=$(sed -n 's/^#define LBD_PLUGIN_ABI_VERSION \([0-9]*\)u\?$/\1/p' \
    "$(find "$dest" -name lbd-plugin.h -print -quit)")
echo "pkg-config --cflags lbd-plugin: $cflags (abiversion $abi, header ABI $header_abi)"
if [[ $abi != "$header_abi" ]]; then
    echo "FAIL: lbd-plugin.pc says abiversion=$abi, the installed header ABI $header_abi" >&2
    exit 1
fi

plugins=$tmp/plugins
mkdir -m 0755 "$plugins"
# shellcheck disable=SC2086 # CC and cflags are word lists
$CC -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror -Wno-unused-parameter $cflags \
    -o "$plugins/out_of_tree.so" "$PLUGIN_SOURCE"
chmod 0755 "$plugins/out_of_tree.so"

insecure=()
((EUID == 0)) || insecure=(--allow-insecure)
out=$("$LOAD_PLUGINS" --strict "${insecure[@]}" "$plugins")
echo "$out"
if ! grep -qx "loaded policy out_of_tree $plugins/out_of_tree.so" <<<"$out"; then
    echo "FAIL: the loader did not accept the out-of-tree plugin" >&2
    exit 1
fi
