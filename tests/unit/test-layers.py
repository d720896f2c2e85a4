#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's calls run one way: bus -> control -> supervisor -> proxy ->
common (daemon/meson.build). The include paths of each layer's library
already stop a header of a layer above from being found; this test reads
every #include "..." line and fails on any that names a header of a layer
above the file's own, of a folder that is not a layer, or of the daemon from
a plugin or from the client (plugins see lbd-plugin.h only; the client the
D-Bus API's names, the cleanup attributes and the address parser, so that
lbclient check reads a listen address as lbd does). control/main.c wires the
layers up and may include any of them.

Each check prints what it found; with --self-test the checker is first run
on a made-up tree with one violation of each kind, and must find them all.
"""
import os
import re
import sys
import tempfile

LAYERS = ["common", "proxy", "supervisor", "control", "bus"]  # bottom first
WIRING = {os.path.join("control", "main.c")}
# Headers outside daemon/'s layers that anyone may include.
SHARED = {"lbd-plugin.h", "lbd-build-config.h", "lbd-bus-api.h", "smooth-weighted.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root):
    for dirpath, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith((".c", ".h")):
                yield os.path.join(dirpath, n)


def includes(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, os.path.basename(m.group(1))


def header_layers(daemon):
    """header name -> its layer (a header name is unique across layers)."""
    where = {}
    for layer in LAYERS:
        for path in sources(os.path.join(daemon, layer)):
            if path.endswith(".h"):
                name = os.path.basename(path)
                if name in where:
                    raise SystemExit(f"{name} is in both {where[name]}/ and {layer}/")
                where[name] = layer
    return where


def check(tree):
    """Every violation under tree (a checkout's root), as text."""
    daemon = os.path.join(tree, "daemon")
    where = header_layers(daemon)
    problems = []
    for entry in sorted(os.listdir(daemon)):
        path = os.path.join(daemon, entry)
        if os.path.isdir(path) and entry not in LAYERS:
            problems.append(f"daemon/{entry}/ is not a layer ({', '.join(LAYERS)})")
        elif entry.endswith(".c"):
            problems.append(f"daemon/{entry} is in no layer")
    for layer in LAYERS:
        rank = LAYERS.index(layer)
        for path in sources(os.path.join(daemon, layer)):
            rel = os.path.relpath(path, daemon)
            if rel in WIRING:
                continue
            for number, name in includes(path):
                if name in SHARED:
                    continue
                other = where.get(name)
                if other is None:
                    problems.append(f"daemon/{rel}:{number}: includes {name}, "
                                    "which is in no layer")
                elif LAYERS.index(other) > rank:
                    problems.append(f"daemon/{rel}:{number}: {layer}/ includes {name} "
                                    f"of {other}/, a layer above it")
    allowed = {"plugins": {"lbd-plugin.h"}, "client": {"lbd-bus-api.h", "cleanup.h", "address.h"}}
    for part, ok in allowed.items():
        for path in sources(os.path.join(tree, part)):
            for number, name in includes(path):
                if name in where and name not in ok:
                    rel = os.path.relpath(path, tree)
                    problems.append(f"{rel}:{number}: includes the daemon's {name}")
    return problems


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def self_test():
    """The checker finds each kind of violation in a made-up tree."""
    with tempfile.TemporaryDirectory() as root:
        for layer in LAYERS:
            write(root, f"daemon/{layer}/{layer}-part.h", "#pragma once\n")
        write(root, "daemon/proxy/engine.c", '#include "proxy-part.h"\n#include "bus-part.h"\n')
        write(root, "daemon/supervisor/a.c", '#include "control-part.h"\n')
        write(root, "daemon/control/main.c", '#include "bus-part.h"\n')
        write(root, "daemon/common/b.c", '#include "nowhere.h"\n')
        write(root, "daemon/stray.c", "\n")
        write(root, "plugins/x/x.c", '#include "lbd-plugin.h"\n#include "proxy-part.h"\n')
        write(root, "client/c.c", '#include "common-part.h"\n')
        found = check(root)
    expected = [
        "daemon/stray.c is in no layer",
        "daemon/proxy/engine.c:2: proxy/ includes bus-part.h of bus/",
        "daemon/supervisor/a.c:1: supervisor/ includes control-part.h of control/",
        "daemon/common/b.c:1: includes nowhere.h, which is in no layer",
        "plugins/x/x.c:2: includes the daemon's proxy-part.h",
        "client/c.c:1: includes the daemon's common-part.h",
    ]
    missing = [e for e in expected if not any(p.startswith(e) for p in found)]
    extra = [p for p in found if not any(p.startswith(e) for e in expected)]
    for p in found:
        print(f"self-test found: {p}")
    if missing or extra:
        for m in missing:
            print(f"self-test: not found: {m}")
        for e in extra:
            print(f"self-test: found wrongly: {e}")
        return False
    print(f"self-test: all {len(expected)} planted violations found, nothing else")
    return True


def main():
    args = sys.argv[1:]
    ok = True
    if args and args[0] == "--self-test":
        ok = self_test()
        args = args[1:]
    tree = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(tree)
    for p in problems:
        print(p)
    n_files = sum(1 for layer in LAYERS for _ in sources(os.path.join(tree, "daemon", layer)))
    print(f"{n_files} daemon files in {len(LAYERS)} layers: {len(problems)} include(s) "
          "against the direction")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
