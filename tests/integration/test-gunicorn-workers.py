#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lbd in front of the seed's Gunicorn: each worker class the seed uses
(sync, Gunicorn's default, which closes the connection after every
response; gthread; gevent), on TCP and on a unix socket, behind each lbd
worker model (event, thread, sync), and the seed's own socket (Gunicorn as
www-data with -m 007, lbd's workers reaching it through extra-groups=).

No tolerance: every response of every request must be 2xx, under wrk and
from sequential clients, and wrk must see no socket error. A Gunicorn sync
worker answers and closes at once; a proxy that takes that close for a
failure answers 502 (lbd did, to nine responses in ten).

One lbd per worker model (2 workers, the access log off), one service per
backend; the six backends are shared by the three.

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-gunicorn-workers.py
"""
import json
import os
import pwd
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

WRK = "/usr/bin/wrk"
CLASSES = lbdtest.GunicornBackends.WORKER_CLASSES
TRANSPORTS = ("tcp", "unix")
MODELS = lbdtest.WORKER_MODELS
SEQUENTIAL = 30


class GunicornWorkerClasses(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(WRK, os.X_OK):
            raise unittest.SkipTest(f"{WRK} is missing (Debian package wrk)")
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backends = {}
        for wc in CLASSES:
            for transport in TRANSPORTS:
                b = lbdtest.GunicornBackends(1, unix=transport == "unix", workers=2,
                                             worker_class=wc, names=[f"{wc}-{transport}"])
                b.start()
                cls.addClassCleanup(b.stop)
                cls.backends[(wc, transport)] = b
        # The seed's socket: Gunicorn as www-data, -m 007 (owner and group
        # only), its default sync worker.
        cls.seed = lbdtest.GunicornBackends(1, unix=True, workers=2, worker_class="sync",
                                            names=["seed"], user="www-data",
                                            group="www-data", umask="007")
        cls.seed.start()
        cls.addClassCleanup(cls.seed.stop)
        cls.tmp = lbdtest.TempDir("lbd-gunicorn-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.lbds = {}
        cls.ports = {}
        for model in MODELS:
            lines = ["[daemon]", "workers=2", f"worker-model={model}", "threads=16",
                     "user=lbd", "extra-groups=www-data", "access-log=off", ""]
            names = [(wc, t) for wc in CLASSES for t in TRANSPORTS] + [("seed", "unix")]
            # Distinct also from the lbds started before (they listen already).
            taken = set(cls.ports.values())
            ports = [p for p in lbdtest.distinct_free_ports(len(names) + len(taken))
                     if p not in taken][:len(names)]
            for (wc, transport), port in zip(names, ports):
                cls.ports[(model, wc, transport)] = port
                backend = cls.seed if wc == "seed" else cls.backends[(wc, transport)]
                lines += [f"[service {wc}-{transport}]", f"listen=127.0.0.1:{port}",
                          f"backends={backend.addresses[0]}", ""]
            path = cls.tmp.join(f"lbd-{model}.conf")
            with open(path, "w") as f:
                f.write("\n".join(lines))
            lbd = lbdtest.Lbd(cls.bus, config=path)
            lbd.start()
            cls.addClassCleanup(lbdtest.stop_clean, lbd)
            cls.lbds[model] = lbd
        for (model, wc, transport), port in cls.ports.items():
            lbdtest.wait_until(lambda p=port: not lbdtest.port_is_free(p), 10,
                               what=f"lbd ({model}) to listen for {wc}-{transport}",
                               alive=cls.lbds[model].process)

    def address(self, model, wc, transport):
        return f"127.0.0.1:{self.ports[(model, wc, transport)]}"

    def no_502_in_log(self, model):
        bad = [line for line in self.lbds[model].log_text().splitlines()
               if "answering 5" in line or "cannot connect" in line or
               "before the end of the response" in line]
        self.assertEqual(bad, [], f"lbd ({model}) logged failures")

    def check_sequential(self, model, wc, transport):
        address = self.address(model, wc, transport)
        name = f"backend {'seed' if wc == 'seed' else f'{wc}-{transport}'}\n".encode()
        statuses = {}
        bodies = set()
        for i in range(SEQUENTIAL):
            status, _, body = lbdtest.http_request(address, "/")
            statuses[status] = statuses.get(status, 0) + 1
            bodies.add(body)
        # A body up (Gunicorn's sync worker reads it, answers, closes).
        status, _, body = lbdtest.http_request(address, "/echo", "POST", b"x" * 100000)
        statuses[status] = statuses.get(status, 0) + 1
        self.assertEqual(len(body), 100000)
        # Several requests on one client connection (lbd keeps it open
        # while the backend closes each of its own).
        conn = lbdtest.http_connection(address)
        try:
            for i in range(5):
                conn.request("GET", "/headers")
                r = conn.getresponse()
                payload = json.loads(r.read())
                statuses[r.status] = statuses.get(r.status, 0) + 1
                self.assertEqual(payload["path"], "/headers")
        finally:
            conn.close()
        self.assertEqual(statuses, {200: SEQUENTIAL + 6},
                         f"{wc} on {transport} behind lbd's {model} model")
        self.assertEqual(bodies, {name})

    def check_wrk(self, model, wc, transport):
        url = f"http://{self.address(model, wc, transport)}/"
        out = subprocess.run([WRK, "-t1", "-c10", "-d2s", url], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=30).stdout
        requests, errors, non2xx = lbdtest.wrk_totals(out)
        print(f"{model:6} {wc:8} {transport:5} {requests:6} requests, {non2xx} non-2xx, "
              f"{errors} socket errors", file=sys.stderr)
        self.assertGreater(requests, 100, out)
        self.assertEqual((non2xx, errors), (0, 0), out)

    def check_http10_stream(self, model, wc, transport):
        # Gunicorn streams /stream chunked to lbd (an HTTP/1.1 request);
        # an HTTP/1.0 client gets it de-chunked, ended by the close.
        out = lbdtest.raw_exchange(self.address(model, wc, transport),
                           b"GET /stream?n=4 HTTP/1.0\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), out[:200])
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertEqual(body, b"part 0\npart 1\npart 2\npart 3\n")

    def test_every_class_behind_every_model(self):
        for model in MODELS:
            for wc in CLASSES:
                for transport in TRANSPORTS:
                    with self.subTest(model=model, worker_class=wc, transport=transport):
                        self.check_sequential(model, wc, transport)
                        self.check_http10_stream(model, wc, transport)
                        self.check_wrk(model, wc, transport)
            self.no_502_in_log(model)

    def test_seed_socket_with_extra_groups(self):
        mode = os.stat(self.seed.addresses[0][len("unix:"):]).st_mode & 0o777
        self.assertEqual(mode, 0o770, "Gunicorn's -m 007 socket")
        for model in MODELS:
            with self.subTest(model=model):
                self.check_sequential(model, "seed", "unix")
                self.check_wrk(model, "seed", "unix")
            self.no_502_in_log(model)

    def test_seed_socket_without_extra_groups(self):
        # The same socket without extra-groups=: 502, and the log says
        # who the worker is and what it met.
        port = lbdtest.free_port()
        path = self.tmp.join("lbd-no-groups.conf")
        with open(path, "w") as f:
            f.write(f"[daemon]\nworkers=1\nuser=lbd\naccess-log=off\n\n[service seed]\n"
                    f"listen=127.0.0.1:{port}\nbackends={self.seed.addresses[0]}\n")
        with lbdtest.Lbd(self.bus, config=path) as lbd:
            lbdtest.wait_until(lambda: not lbdtest.port_is_free(port), 10,
                               what="lbd to listen", alive=lbd.process)
            status, _, _ = lbdtest.http_request(f"127.0.0.1:{port}", "/")
            self.assertEqual(status, 502)
            lbdtest.wait_until(lambda: "answering 502" in lbd.log_text(), 5,
                               what="the 502's log line")
            log = lbd.log_text()
            sock = self.seed.addresses[0]
            www = pwd.getpwnam("www-data")
            want = (rf"cannot connect to {re.escape(sock)}: Permission denied \(the worker is "
                    r"user lbd \(uid \d+\), group lbd \(gid \d+\); the socket is owned by "
                    rf"uid {www.pw_uid}, gid {www.pw_gid}, mode 0770: add group {www.pw_gid} "
                    rf"to \[daemon\] extra-groups=, by the name `getent group {www.pw_gid}` "
                    r"gives\)")
            self.assertRegex(log, want)
            self.assertRegex(log, r"answering 502: no backend reachable; last: " +
                             want[len("cannot connect to "):])
            lbdtest.stop_clean(lbd)

    def test_unknown_extra_group_is_refused(self):
        path = self.tmp.join("lbd-bad-group.conf")
        with open(path, "w") as f:
            f.write("[daemon]\nextra-groups=www-data;no-such-group-here\n\n[service a]\n"
                    f"listen=127.0.0.1:{lbdtest.free_port()}\nbackends=127.0.0.1:1\n")
        # As nginx -t: the check looks the groups up.
        r = lbdtest.run([lbdtest.lbd_path(), "--check-config", "--config", path,
                         "--config-dir", self.tmp.join("none"), *lbdtest.plugin_args()])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, rf"{re.escape(path)}: \[daemon\] extra-groups: no group "
                                   r"named 'no-such-group-here'")


if __name__ == "__main__":
    unittest.main(verbosity=2)
