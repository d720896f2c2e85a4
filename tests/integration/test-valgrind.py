#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The master process under valgrind's memcheck: no invalid access and no
definite or indirect leak on its normal paths.

lbd runs (normal build only: valgrind and ASan do not mix) with two workers
in front of two real Gunicorn backends, on a private bus, and goes through
what an administrator does: requests, AddBackend, SetWeight, Drain, Enable,
SetPolicy, RemoveBackend, AddService, RemoveService, SetWorkers,
GetStatistics, Reload (a new generation), then a graceful stop. valgrind
follows the forked workers too; only the master's report is read (the
workers leave with _exit(), which skips memcheck's leak check by design).
The workers run with confine-workers=no: valgrind implements neither
seccomp filters nor Landlock (test-confinement covers those).
"""
import glob
import os
import re
import socket
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
BACKEND_IFACE = IFACE + ".Backend"


def skip_reason():
    if not shutil.which("valgrind"):
        return "valgrind is not installed"
    if os.environ.get("ASAN_OPTIONS") or os.environ.get("UBSAN_OPTIONS"):
        return "a sanitizer build (valgrind and ASan do not mix)"
    return None


class MasterUnderValgrind(unittest.TestCase):
    def setUp(self):
        self.tmp = lbdtest.TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.backends = lbdtest.GunicornBackends(2).start()
        self.addCleanup(self.backends.stop)
        self.bus = lbdtest.PrivateSystemBus().start()
        self.addCleanup(self.bus.stop)
        self.listen = f"127.0.0.1:{lbdtest.free_port()}"
        # A StatsD server that only receives: the master's sender runs too.
        self.statsd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.statsd.bind(("127.0.0.1", 0))
        self.addCleanup(self.statsd.close)
        statsd = "127.0.0.1:%d" % self.statsd.getsockname()[1]
        self.admin = f"127.0.0.1:{lbdtest.free_port()}"  # /metrics and the page too
        self.config = self.tmp.join("lbd.conf")
        with open(self.config, "w") as f:
            f.write("[daemon]\nworkers=2\nworker-model=event\ngraceful-timeout=5\n"
                    "confine-workers=no\n"
                    f"timeout=120\nstatsd-host={statsd}\nstatsd-interval=1\n"
                    "dogstatsd-tags=env:test\n"
                    f"[admin]\nlisten={self.admin}\n"
                    f"[service web]\nlisten={self.listen}\n"
                    f"backends={self.backends.addresses[0]}\n")
        self.vg_log = self.tmp.join("valgrind.%p.log")
        wrapper = self.tmp.join("lbd-under-valgrind")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n"
                    "exec valgrind --tool=memcheck --leak-check=full "
                    "--show-leak-kinds=definite,indirect "
                    "--errors-for-leak-kinds=definite,indirect --error-exitcode=99 "
                    "--child-silent-after-fork=yes --track-fds=no "
                    f"--log-file={self.vg_log} {lbdtest.lbd_path()} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        self.lbd = lbdtest.Lbd(self.bus, config=self.config, lbd=wrapper,
                               log_level="info", start_timeout=120.0)

    def call(self, path, iface, method, signature="", *args):
        argv = ["call", lbdtest.BUS_NAME, path, iface, method]
        if signature:
            argv += [signature, *[str(a) for a in args]]
        return self.bus.busctl(*argv, timeout=60.0)

    def get(self, path="/"):
        status, _, _ = lbdtest.http_request(self.listen, path, timeout=30.0)
        return status

    def test_master_paths_are_clean(self):
        self.lbd.start()
        b1, b2 = self.backends.addresses
        lbdtest.wait_until(lambda: self.get() == 200, 60, what="lbd answers under valgrind")
        for _ in range(10):
            self.assertEqual(self.get(), 200)

        self.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", b2, "1", "Weight", "u", "2")
        path = lbdtest.backend_path("web", b2)
        self.call(path, BACKEND_IFACE, "SetWeight", "u", "3")
        self.call(path, BACKEND_IFACE, "Drain")
        self.call(path, BACKEND_IFACE, "Enable")
        self.call(ROOT, IFACE, "SetPolicy", "ss", "web", "least_conn")
        for _ in range(10):
            self.assertEqual(self.get(), 200)
        self.call(ROOT, IFACE, "GetStatistics")
        for page in ("/metrics", "/", "/nothing"):
            status = lbdtest.http_request(self.admin, page, timeout=30.0)[0]
            self.assertEqual(status, 404 if page == "/nothing" else 200)
        # A scrape left half-sent: the master frees it when lbd stops.
        host, port = self.admin.rsplit(":", 1)
        idle = socket.create_connection((host, int(port)), timeout=30)
        self.addCleanup(idle.close)
        idle.sendall(b"GET /metrics HTTP/1.1\r\n")
        self.call(ROOT, IFACE, "RemoveBackend", "ss", "web", b2)

        other = f"127.0.0.1:{lbdtest.free_port()}"
        self.call(ROOT, IFACE, "AddService", "sa{sv}", "api", "2",
                  "Listen", "as", "1", other, "Backends", "as", "1", b1)
        lbdtest.wait_until(lambda: lbdtest.http_request(other, "/", timeout=30.0)[0] == 200,
                           60, what="the added service answers")
        self.call(ROOT, IFACE, "RemoveService", "s", "api")
        self.call(ROOT, IFACE, "SetWorkers", "u", "1")
        self.call(ROOT, IFACE, "Reload")
        lbdtest.wait_until(lambda: self.get() == 200, 60, what="lbd answers after Reload")

        # The sender ran: at least one send reached the socket.
        self.statsd.settimeout(10.0)
        sent = b""
        while b"lbd.workers:" not in sent:
            sent += self.statsd.recv(65536)  # a timeout fails the test

        pid = self.lbd.pid
        status = self.lbd.stop(timeout=120.0)
        master = self.tmp.join(f"valgrind.{pid}.log")
        logs = glob.glob(self.tmp.join("valgrind.*.log"))
        self.assertIn(master, logs, "valgrind wrote no report for the master")
        with open(master) as f:
            report = f.read()
        # The report is the master's own, with the leak check done at exit.
        self.assertIn("Memcheck", report)
        self.assertIn("HEAP SUMMARY", report, report[-3000:])
        print(re.search(r"HEAP SUMMARY:.*?total heap usage[^\n]*", report, re.S).group(0),
              file=sys.stderr)
        summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
        self.assertIsNotNone(summary, report[-3000:])
        self.assertEqual(int(summary.group(1)), 0, report[-6000:])
        self.assertNotRegex(report, r"(definitely|indirectly) lost: [1-9]", report[-6000:])
        self.assertEqual(status, 0, f"lbd under valgrind exited {status}\n{report[-4000:]}")


if __name__ == "__main__":
    reason = skip_reason()
    if reason:
        print(f"skipped: {reason}")
        sys.exit(77)
    unittest.main(verbosity=2)
