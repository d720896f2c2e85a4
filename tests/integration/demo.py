#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The demo behind tools/demo (run that: it installs and builds first).

Starts, from the build tree: a private system bus (unless a system-wide lbd
is running, which is then used instead), three gunicorn backends on
127.0.0.1:8001-8003 serving app.py, and lbd with its embedded default
configuration; shows `lbclient status` and `lbclient plugin list`; sends a
burst of requests to lbd's listener and prints how they were distributed
over the backends; says plainly what is not built yet; stops everything it
started (by PID), or with --keep waits for Ctrl-C first.
"""
import argparse
import collections
import http.client
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

LISTENER = "127.0.0.1:8080"          # the embedded default's service
BACKEND_PORTS = [8001, 8002, 8003]   # and its backends
SYSTEM_BUS_SOCKET = "/run/dbus/system_bus_socket"


def say(msg=""):
    print(msg, flush=True)


def heading(msg):
    say()
    say(f"== {msg}")


def system_lbd_running():
    """Is a system-wide lbd on the real system bus? (A read-only query.)"""
    if not os.path.exists(SYSTEM_BUS_SOCKET):
        return False
    try:
        r = subprocess.run(["busctl", f"--address=unix:path={SYSTEM_BUS_SOCKET}", "--timeout=3",
                            "status", lbdtest.BUS_NAME], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def show(cmd_label, result):
    say(f"$ {cmd_label}")
    out = (result.stdout or "").rstrip()
    if out:
        say(out)
    err = (result.stderr or "").rstrip()
    if err:
        say(err)
    if result.returncode != 0:
        say(f"(exit status {result.returncode})")


def burst(address, count, backend_names):
    """count GET / requests, each on a new connection; returns (Counter of
    backend names, list of failure reasons)."""
    seen = collections.Counter()
    failures = []
    for _ in range(count):
        try:
            status, _, body = lbdtest.http_request(address, "/", timeout=3.0)
        except (OSError, http.client.HTTPException) as e:
            failures.append(type(e).__name__ + (f": {e.strerror}" if getattr(e, "strerror", None)
                                                else ""))
            continue
        text = body.decode(errors="replace").strip()
        if status == 200 and text.startswith("backend ") and text[8:] in backend_names:
            seen[text[8:]] += 1
        else:
            failures.append(f"HTTP {status} {text[:40]!r}")
    return seen, failures


def not_built_yet(plugin_list_output):
    """Plugins the daemon flags as placeholders in `lbclient plugin list`."""
    out = []
    for line in plugin_list_output.splitlines()[1:]:
        f = line.split(None, 2)
        if len(f) == 3 and "placeholder" in f[2]:
            out.append(f"{f[0]}/{f[1]}")
    return out


def wait_for_ctrl_c(processes):
    say()
    say("Everything keeps running (--keep). Try, in another terminal:")
    for line in processes:
        say(f"    {line}")
    say("Press Ctrl-C to stop it all.")
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        say()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true",
                    help="keep everything running until Ctrl-C")
    ap.add_argument("--requests", type=int, default=30, metavar="N",
                    help="how many requests the burst sends (default 30)")
    args = ap.parse_args()
    # Ctrl-C must work even when started where SIGINT is ignored (a
    # background job of a script): it is how --keep ends.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    for path, what in ((lbdtest.lbd_path(), "lbd"), (lbdtest.lbclient_path(), "lbclient")):
        if not os.access(path, os.X_OK):
            say(f"demo: {what} is not built ({path}); run tools/demo, which builds first")
            return 1

    use_system = system_lbd_running()
    heading("What runs")
    if use_system:
        say("A system-wide lbd is running on the system bus: the demo uses it, and starts")
        say("no bus and no lbd of its own.")
    else:
        say("No system-wide lbd: the demo starts a private system bus (dbus-daemon) and")
        say("lbd from the build tree with its embedded default configuration:")
        say(f"one http service 'default' on {LISTENER}, round_robin over")
        say("127.0.0.1:8001, 127.0.0.1:8002, 127.0.0.1:8003.")

    # The backends' ports, and lbd's listener when the demo starts lbd. A
    # previous run may still be letting go of them: give it a moment.
    ports = BACKEND_PORTS + ([] if use_system else [int(LISTENER.rsplit(":", 1)[1])])
    deadline = time.monotonic() + 5
    while True:
        busy = [p for p in ports if not lbdtest.port_is_free(p)]
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if busy:
        say()
        say("demo: " + ", ".join(f"127.0.0.1:{p}" for p in busy) + " in use; the demo needs "
            "8001-8003 for its backends and 8080 for lbd's default service. "
            "See what holds them with: ss -ltnp")
        return 1

    # Gunicorn's default worker class, as the seed runs it: it closes the
    # connection after every response.
    with lbdtest.GunicornBackends(3, ports=BACKEND_PORTS, worker_class="sync",
                                  workers=2) as backends:
        heading("Backends")
        for name, address, proc in zip(backends.names, backends.addresses, backends.processes):
            _, _, body = lbdtest.http_request(address, "/")
            say(f"gunicorn {name} on {address} (pid {proc.pid}) answers: "
                f"{body.decode().strip()!r}")

        if use_system:
            bus_target = f"unix:path={SYSTEM_BUS_SOCKET}"
            return run_demo(args, bus_target, None, backends)
        with lbdtest.PrivateSystemBus() as bus:
            say()
            say(f"private system bus: {bus.address} (dbus-daemon pid {bus.process.pid})")
            with lbdtest.Lbd(bus, log_level="info") as lbd:
                say(f"lbd pid {lbd.pid}, owns {lbdtest.BUS_NAME}"
                    + (" and told systemd READY=1" if lbd.ready else ""))
                return run_demo(args, bus, lbd, backends)


def show_burst(n, backends):
    """Send n requests, print how they were spread; return (seen, failures)."""
    seen, failures = burst(LISTENER, n, set(backends.names))
    if seen:
        width = max(seen.values())
        for name, addr in zip(backends.names, backends.addresses):
            k = seen.get(name, 0)
            bar = "#" * round(40 * k / width) if width else ""
            say(f"  backend {name} ({addr}): {k:4d}  {bar}")
    if failures:
        say(f"{len(failures)} of {n} requests to {LISTENER} failed (first: {failures[0]})")
    else:
        say(f"all {n} requests answered")
    return seen, failures


def run_demo(args, bus, lbd, backends):
    address = bus.address if hasattr(bus, "address") else bus
    env_hint = f"DBUS_SYSTEM_BUS_ADDRESS={address}"

    heading("lbclient status")
    status = lbdtest.lbclient(bus, "status")
    show("lbclient status", status)
    heading("lbclient plugin list")
    plugins = lbdtest.lbclient(bus, "plugin", "list")
    show("lbclient plugin list", plugins)
    if status.returncode != 0 or plugins.returncode != 0:
        say("demo: lbclient failed (see above)")
        if lbd is not None:
            say(f"lbd's log ends:\n{lbd.log_tail()}")
        return 1

    heading(f"A burst of {args.requests} requests to http://{LISTENER}/")
    seen, failures = show_burst(args.requests, backends)
    if failures and not seen:
        say(f"lbd carries no traffic: {len(failures)} of {args.requests} requests to "
            f"{LISTENER} failed (first error: {failures[0]})")
        return 1

    # A change over D-Bus reaches the running workers through the shared
    # backend table: no reload, no new workers, and one round-robin sequence
    # for the whole daemon, so the spread follows the weights exactly.
    first = backends.addresses[0]
    if lbd is None:
        say("(a system-wide lbd: the demo changes nothing in it, so no weight change)")
        return finish_demo(args, address, env_hint, lbd, plugins, failures)
    heading(f"lbclient backend set default {first} weight 3")
    change = lbdtest.lbclient(bus, "backend", "set", "default", first, "weight", "3")
    show(f"lbclient backend set default {first} weight 3", change)
    if change.returncode == 0:
        heading(f"The same burst again: {first} now gets 3 of every 5 requests")
        seen2, failures2 = show_burst(args.requests, backends)
        failures += failures2
        heading("lbclient backend list")
        show("lbclient backend list", lbdtest.lbclient(bus, "backend", "list"))
    return finish_demo(args, address, env_hint, lbd, plugins, failures)


def finish_demo(args, address, env_hint, lbd, plugins, failures):
    heading("Not built yet")
    placeholders = not_built_yet(plugins.stdout)
    if placeholders:
        say("placeholder plugins (loaded, listed, but they do not do their job yet): "
            + ", ".join(placeholders))
    # Not visible in the demo's steps, so said here (keep in step with README.md).
    say("the systemd unit's exposure is 2.3, above the 2.0 target")
    say("(dbus/lbd.service.in says why); a response without a length is not")
    say("re-chunked for HTTP/1.1 clients (it ends the client's connection instead);")
    say("a pick's cost grows with the pool (a scan per pick: 1,000 backends give")
    say("about 0.6x the requests per second of 2)")
    if not placeholders and not failures:
        say("nothing the demo touches: everything above is real")

    if args.keep:
        lines = [f"{env_hint} {lbdtest.lbclient_path()} status",
                 f"busctl --address={address} tree {lbdtest.BUS_NAME}",
                 f"curl http://{LISTENER}/"]
        if lbd is not None:
            lines.append(f"less {lbd.log_path}    # lbd's log")
        wait_for_ctrl_c(lines)

    heading("Stopping what the demo started")
    if lbd is not None:
        code = lbd.stop()
        say(f"lbd exited with status {code} on SIGTERM")
    return 0


if __name__ == "__main__":
    try:
        rc = main()
    except lbdtest.FixtureError as e:
        print(f"demo: {e}", file=sys.stderr)
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    except SystemExit as e:  # SIGTERM or SIGHUP (lbdtest turns them into this)
        rc = e.code if isinstance(e.code, int) else 1
    lbdtest.stop_all()
    say("demo: done; every process it started is stopped" if rc == 0 else
        f"demo: stopped everything it started (status {rc})")
    sys.exit(rc)
