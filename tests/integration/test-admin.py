#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The admin listener ([admin] listen=): Prometheus /metrics and the status
page, against real Gunicorn backends (the seed's sync worker) and a real
browser.

lbd (event model, 2 workers) with [admin] listen= on loopback and:
  web   http, two Gunicorn sync backends
  down  http, one backend that refuses connections (502)
Known traffic goes through; then:
- /metrics parses with Prometheus's own parser (python3-prometheus-client)
  and says, to the request, what was sent: responses by class and by code,
  sessions per backend adding up to the service's, connection errors of the
  refusing backend, histogram counts, states, weights, workers;
- the listener answers what it does not serve with a status that says why
  (405 with Allow for anything but GET/HEAD: it is read-only, 404, 400, 505,
  431) and lbd serves on; HEAD gives the headers only;
- no worker holds the admin listener or a scrape's socket, whether forked
  by a reload or a respawn with scrapes open (a worker keeping them would
  go on queueing scrapes after a reload moved the listener, and keep a
  scrape open after the master closed it);
- the status page in Chromium (headless): every number on it matches
  /metrics, percentiles included; a screenshot is taken;
- a reload that moves the listener serves on the new address, not the old;
  a unix socket works too; an address that cannot be bound at start stops
  lbd with a message naming it.

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-admin.py
"""
import html.parser
import os
import shutil
import signal
import socket
import subprocess
import sys
import unittest

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

N_OK = 30      # GET / to web: 200
N_503 = 4      # /status/503 to web
N_404 = 2      # /status/404 to web
N_DOWN = 3     # to down: 502 from lbd


def scrape(address, path="/metrics", method="GET"):
    return lbdtest.http_request(address, path, method=method)


def metrics(address):
    """{(name, frozenset(labels)): value} and {family: type}."""
    status, headers, body = scrape(address)
    assert status == 200, (status, body[:200])
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    samples, types = {}, {}
    for family in text_string_to_metric_families(body.decode()):
        types[family.name] = family.type
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"{key} twice"
            samples[key] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def quantile(samples, name, q, **labels):
    """As lbd's page does: linear inside the bucket, cumulative counts."""
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items()
                     if k[0] == name + "_bucket" and
                     {x: y for x, y in k[1] if x != "le"} == labels)
    total = buckets[-1][1]
    if not total:
        return None
    rank = q * total
    lower, below = 0.0, 0
    for le, n in buckets:
        if n >= rank and n > below:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / (n - below)
        lower, below = le, n
    return lower


def page_ms(seconds):
    """The page's text for a time (its ms() function)."""
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} \u00b5s"
    if seconds < 1:
        return f"{seconds * 1e3:.{2 if seconds < 0.01 else 1}f} ms"
    return f"{seconds:.2f} s"


def admin_inodes(port, states=("0A",)):
    """Inodes of the sockets of 127.0.0.1:port in those /proc/net/tcp states
    (0A: listening, 01: established)."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] in states and int(fields[1].split(":")[1], 16) == port:
                inodes.add(fields[9])
    inodes.discard("0")
    return inodes


def holders(inodes):
    """PIDs of the processes holding any of the sockets."""
    want = {f"socket:[{i}]" for i in inodes}
    found = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in want:
                    found.add(int(pid))
        except OSError:
            continue
    return found


def listener_holders(port):
    """PIDs of the processes holding the socket that listens on 127.0.0.1:port."""
    inodes = admin_inodes(port)
    assert inodes, f"nothing listens on port {port}"
    return holders(inodes)


class PageRows(html.parser.HTMLParser):
    """The status page's table rows: {(proxy, server or None): {metric: text}}
    and workers {pid: {metric: text}}, from Chromium's DOM."""

    def __init__(self):
        super().__init__()
        self.rows, self.workers, self.updated = {}, {}, 0
        self._row = self._metric = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body" and a.get("data-updated"):
            self.updated = int(a["data-updated"])
        if tag == "tr" and "data-proxy" in a:
            self._row = self.rows.setdefault((a["data-proxy"], a.get("data-server")), {})
        elif tag == "tr" and "data-pid" in a:
            self._row = self.workers.setdefault(a["data-pid"], {})
        elif tag == "td" and self._row is not None:
            self._metric = a.get("data-metric")
            self._row[self._metric] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._metric = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None and self._metric:
            self._row[self._metric] += data


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(tmp, *args):
    """Headless Chromium with a profile of its own; its stdout."""
    argv = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--disable-extensions", "--disable-background-networking",
            f"--user-data-dir={tmp.join('chromium-profile')}", "--window-size=1400,700",
            # Let the page's first fetch of /metrics and its drawing run.
            "--virtual-time-budget=3000", *args]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                       env={**os.environ, "HOME": tmp.path})
    if r.returncode != 0:
        raise AssertionError(f"chromium failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return r.stdout.decode()


class Admin(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backends = lbdtest.GunicornBackends(2).start()
        cls.addClassCleanup(cls.backends.stop)
        cls.tmp = lbdtest.TempDir("lbd-admin-")
        cls.addClassCleanup(cls.tmp.cleanup)
        refusing, port = lbdtest.refusing_port()
        cls.addClassCleanup(refusing.close)
        cls.refusing = f"127.0.0.1:{port}"
        cls.web = f"127.0.0.1:{lbdtest.free_port()}"
        cls.down = f"127.0.0.1:{lbdtest.free_port()}"
        cls.admin = f"127.0.0.1:{lbdtest.free_port()}"
        cls.config = cls.tmp.join("lbd.conf")
        cls.write_config(cls.admin)
        cls.lbd = lbdtest.Lbd(cls.bus, config=cls.config)
        cls.lbd.start()
        cls.addClassCleanup(lambda: lbdtest.stop_clean(cls.lbd))
        for a in (cls.web, cls.down, cls.admin):
            port = int(a.rsplit(":", 1)[1])
            lbdtest.wait_until(lambda p=port: lbdtest.port_accepts(p), 10,
                               what=f"lbd to listen on {a}", alive=cls.lbd.process)
        for i in range(N_OK):
            assert lbdtest.http_request(cls.web, f"/ok-{i}")[0] == 200
        for _ in range(N_503):
            assert lbdtest.http_request(cls.web, "/status/503")[0] == 503
        for _ in range(N_404):
            assert lbdtest.http_request(cls.web, "/status/404")[0] == 404
        for _ in range(N_DOWN):
            assert lbdtest.http_request(cls.down, "/")[0] == 502

    @classmethod
    def write_config(cls, admin):
        with open(cls.config, "w") as f:
            f.write("\n".join([
                "[daemon]", "workers=2", "worker-model=event", "user=nobody",
                "access-log=off", "",
                "[admin]", f"listen={admin}", "",
                "[service web]", f"listen={cls.web}", "mode=http",
                "backends=" + ";".join(cls.backends.addresses), "",
                "[service down]", f"listen={cls.down}", "mode=http",
                f"backends={cls.refusing}", ""]))

    def test_metrics_match_the_traffic(self):
        samples, types = metrics(self.admin)
        n_web = N_OK + N_503 + N_404
        # Types as HAProxy's exporter has them (the parser drops _total).
        self.assertEqual(types["lbd_backend_sessions"], "counter")
        self.assertEqual(types["lbd_backend_current_sessions"], "gauge")
        self.assertEqual(types["lbd_backend_total_time_seconds"], "histogram")
        self.assertEqual(types["lbd_server_status"], "gauge")
        codes = {c: value(samples, "lbd_backend_http_responses_total", proxy="web", code=c)
                 for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")}
        self.assertEqual(codes, {"1xx": 0, "2xx": N_OK, "3xx": 0, "4xx": N_404,
                                 "5xx": N_503, "other": 0})
        self.assertEqual(value(samples, "lbd_backend_http_status_total", proxy="web",
                               code="503"), N_503)
        self.assertEqual(value(samples, "lbd_backend_sessions_total", proxy="web"), n_web)
        per_server = [value(samples, "lbd_server_sessions_total", proxy="web", server=a)
                      for a in self.backends.addresses]
        self.assertEqual(sum(per_server), n_web)
        self.assertTrue(all(n > 0 for n in per_server), per_server)  # round robin
        for a in self.backends.addresses:
            self.assertEqual(value(samples, "lbd_server_status", proxy="web", server=a,
                                   state="UP"), 1)
            self.assertEqual(value(samples, "lbd_server_status", proxy="web", server=a,
                                   state="DOWN"), 0)
            self.assertEqual(value(samples, "lbd_server_weight", proxy="web", server=a), 1)
        self.assertEqual(value(samples, "lbd_backend_active_servers", proxy="web"), 2)
        self.assertEqual(value(samples, "lbd_backend_status", proxy="web", state="UP"), 1)
        self.assertEqual(value(samples, "lbd_backend_total_time_seconds_count", proxy="web"),
                         n_web)
        self.assertEqual(value(samples, "lbd_backend_total_time_seconds_bucket", proxy="web",
                               le="+Inf"), n_web)
        self.assertGreater(value(samples, "lbd_backend_total_time_seconds_sum", proxy="web"), 0)
        # The refusing backend: every request a connection error and a 502.
        self.assertEqual(value(samples, "lbd_backend_http_responses_total", proxy="down",
                               code="5xx"), N_DOWN)
        self.assertEqual(value(samples, "lbd_server_connection_errors_total", proxy="down",
                               server=self.refusing), N_DOWN)
        self.assertEqual(value(samples, "lbd_backend_http_status_total", proxy="down",
                               code="502"), N_DOWN)
        # Workers: the configured count, each with a state.
        self.assertEqual(value(samples, "lbd_process_workers"), 2)
        pids = {dict(k[1])["pid"] for k in samples if k[0] == "lbd_worker_requests_total"}
        self.assertEqual(len(pids), 2)
        for pid in pids:
            states = sum(value(samples, "lbd_worker_state", pid=pid, state=s)
                         for s in ("accepting", "full", "stopping"))
            self.assertEqual(states, 1)
        served = sum(value(samples, "lbd_worker_requests_total", pid=p) for p in pids)
        self.assertEqual(served, n_web + N_DOWN)

    def test_what_it_does_not_serve(self):
        status, headers, body = scrape(self.admin, "/", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET, HEAD")
        self.assertIn(b"read-only", body)
        status, _, body = scrape(self.admin, "/nothing-here")
        self.assertEqual(status, 404)
        self.assertIn(b"/metrics", body)
        status, headers, body = scrape(self.admin, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(headers["Content-Length"]), 1000)
        host, port = self.admin.rsplit(":", 1)
        for raw, want in ((b"GARBAGE\r\n\r\n", b"400"), (b"GET /metrics HTTP/2.0\r\n\r\n", b"505"),
                          (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n", b"431")):
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(raw)
                answer = b""
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    answer += data
            self.assertTrue(answer.startswith(b"HTTP/1.1 " + want), (raw[:30], answer[:100]))
        # A client that says nothing and leaves costs nothing.
        socket.create_connection((host, int(port)), timeout=10).close()
        self.assertEqual(scrape(self.admin)[0], 200)
        self.assertTrue(self.lbd.running())

    def test_status_page_in_chromium(self):
        if not chromium():
            self.fail("chromium is not installed (tools/install-deps installs it)")
        # Each number is compared with a scrape taken after the page: no
        # traffic flows meanwhile, so both read the same counts.
        dom = run_chromium(self.tmp, "--dump-dom", f"http://{self.admin}/")
        shot = self.tmp.join("status-page.png")
        run_chromium(self.tmp, f"--screenshot={shot}", f"http://{self.admin}/")
        samples, _ = metrics(self.admin)
        page = PageRows()
        page.feed(dom)
        self.assertGreaterEqual(page.updated, 1, dom[-3000:])
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(shot), 10000)
        want_rows = {("web", None), ("down", None), ("down", self.refusing)}
        want_rows |= {("web", a) for a in self.backends.addresses}
        self.assertEqual(set(page.rows), want_rows)
        for (proxy, server), row in page.rows.items():
            level = "lbd_backend_" if server is None else "lbd_server_"
            labels = {"proxy": proxy} if server is None else {"proxy": proxy, "server": server}
            self.assertEqual(int(row["requests"]),
                             value(samples, level + "sessions_total", **labels), row)
            self.assertEqual(int(row["5xx"]), value(samples, level + "http_responses_total",
                                                    code="5xx", **labels), row)
            errors = (value(samples, level + "connection_errors_total", **labels) +
                      value(samples, level + "response_errors_total", **labels))
            self.assertEqual(int(row["errors"]), errors, row)
            for q, m in ((0.5, "p50"), (0.99, "p99"), (0.999, "p999")):
                self.assertEqual(row[m], page_ms(quantile(samples, level + "total_time_seconds",
                                                          q, **labels)), (row, m))
            if server is None:
                state = "UP" if value(samples, "lbd_backend_status", state="UP",
                                      **labels) else "DOWN"
            else:
                state = [s for s in ("UP", "DOWN", "DRAIN", "MAINT")
                         if value(samples, "lbd_server_status", state=s, **labels)][0]
            self.assertEqual(row["state"], state, row)
        self.assertEqual(page.rows[("web", None)]["state"], "UP")
        self.assertEqual(int(page.rows[("down", None)]["5xx"]), N_DOWN)
        self.assertEqual(len(page.workers), 2)


def write_config(path, admin, backend, workers=1):
    """One service in front of backend, the admin listener on admin."""
    with open(path, "w") as f:
        f.write("\n".join(["[daemon]", f"workers={workers}", "user=nobody", "access-log=off",
                           "", "[admin]", f"listen={admin}", "",
                           "[service web]", f"listen=127.0.0.1:{lbdtest.free_port()}",
                           f"backends={backend}", ""]))


class AdminMoves(unittest.TestCase):
    """A reload moves the listener; unix sockets; a bad address at start."""

    def test_reload_moves_and_unix(self):
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-admin-moves-")
            self.addCleanup(tmp.cleanup)
            web = f"127.0.0.1:{lbdtest.free_port()}"
            first, second = lbdtest.free_port(), lbdtest.free_port()
            unix = tmp.join("admin.sock")
            config = tmp.join("lbd.conf")

            def write(admin):
                with open(config, "w") as f:
                    f.write("\n".join(["[daemon]", "workers=1", "user=nobody",
                                       "access-log=off", "", "[admin]", f"listen={admin}", "",
                                       "[service web]", f"listen={web}",
                                       f"backends={backend.addresses[0]}", ""]))
            write(f"127.0.0.1:{first}")
            lbd = lbdtest.Lbd(bus, config=config)
            with lbd:
                lbdtest.wait_until(lambda: lbdtest.port_accepts(first), 10,
                                   what="the admin listener", alive=lbd.process)
                self.assertEqual(scrape(f"127.0.0.1:{first}")[0], 200)
                write(f"127.0.0.1:{second}")
                os.kill(lbd.pid, signal.SIGHUP)
                lbdtest.wait_until(lambda: lbdtest.port_accepts(second), 10,
                                   what="the moved admin listener", alive=lbd.process)
                self.assertFalse(lbdtest.port_accepts(first))
                # The new generation's workers were forked with the admin
                # listener open: none of them keeps it.
                self.assertEqual(listener_holders(second), {lbd.pid})
                samples, _ = metrics(f"127.0.0.1:{second}")
                self.assertEqual(value(samples, "lbd_process_generation"), 2)
                write(f"unix:{unix}")
                os.kill(lbd.pid, signal.SIGHUP)
                lbdtest.wait_until(lambda: os.path.exists(unix), 10,
                                   what="the unix admin socket", alive=lbd.process)
                lbdtest.wait_until(lambda: not lbdtest.port_accepts(second), 10,
                                   what="the tcp admin listener to close", alive=lbd.process)
                samples, _ = metrics(f"unix:{unix}")
                self.assertEqual(value(samples, "lbd_backend_servers", proxy="web"), 1)
                self.assertEqual(lbd.stop(), 0)
            self.assertFalse(os.path.exists(unix), "the socket file is removed at stop")

    def test_respawned_worker_holds_no_admin_socket(self):
        """A worker forked while scrapes are open (a respawn) closes the
        listener and every client socket of the admin listener: else a
        scrape would not end when the master closes it."""
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-admin-fork-")
            self.addCleanup(tmp.cleanup)
            port = lbdtest.free_port()
            config = tmp.join("lbd.conf")
            write_config(config, f"127.0.0.1:{port}", backend.addresses[0], workers=2)
            lbd = lbdtest.Lbd(bus, config=config)
            with lbd:
                lbdtest.wait_until(lambda: lbdtest.port_accepts(port), 10,
                                   what="the admin listener", alive=lbd.process)
                lbdtest.wait_until(lambda: len(lbdtest.worker_pids(lbd.pid)) == 2, 10, what="2 workers")
                quiet = [socket.create_connection(("127.0.0.1", port), timeout=10)
                         for _ in range(4)]
                for s in quiet:
                    self.addCleanup(s.close)
                mine = {str(os.fstat(s.fileno()).st_ino) for s in quiet}
                # The master's ends of them: established, on the admin port.
                lbdtest.wait_until(
                    lambda: len(holders(admin_inodes(port, ("01",)) - mine)) == 1
                    and len(admin_inodes(port, ("01",)) - mine) == 4, 10,
                    what="the master to accept the 4 connections")
                before = lbdtest.worker_pids(lbd.pid)
                os.kill(min(before), signal.SIGKILL)
                lbdtest.wait_until(lambda: len(lbdtest.worker_pids(lbd.pid)) == 2 and
                                   lbdtest.worker_pids(lbd.pid) != before, 15, what="the respawn",
                                   alive=lbd.process)
                admin = admin_inodes(port) | (admin_inodes(port, ("01",)) - mine)
                self.assertEqual(holders(admin), {lbd.pid})
                self.assertEqual(scrape(f"127.0.0.1:{port}")[0], 200)
                self.assertEqual(lbd.stop(), 0)

    def test_unbindable_address_at_start(self):
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-admin-busy-")
            self.addCleanup(tmp.cleanup)
            busy = socket.socket()
            self.addCleanup(busy.close)
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = f"127.0.0.1:{busy.getsockname()[1]}"
            config = tmp.join("lbd.conf")
            write_config(config, taken, backend.addresses[0])
            lbd = lbdtest.Lbd(bus, config=config)
            with self.assertRaises(lbdtest.FixtureError):
                lbd.start()
            self.assertIn(f"admin: cannot listen on {taken}: Address already in use",
                          lbd.log_text())

    def test_unix_socket_in_use_at_start(self):
        """A unix path another process accepts on is refused, as for a
        service listener, and that process's socket file is left alone; a
        stale socket file (nobody accepts) is replaced."""
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-admin-unix-")
            self.addCleanup(tmp.cleanup)
            path = tmp.join("admin.sock")
            other = socket.socket(socket.AF_UNIX)
            self.addCleanup(other.close)
            other.bind(path)
            other.listen()
            config = tmp.join("lbd.conf")
            write_config(config, f"unix:{path}", backend.addresses[0])
            lbd = lbdtest.Lbd(bus, config=config)
            with self.assertRaises(lbdtest.FixtureError):
                lbd.start()
            self.assertIn(f"admin: cannot listen on unix:{path}: another process accepts "
                          "connections on that socket file", lbd.log_text())
            # The other process still has its socket, and it still works.
            probe = socket.socket(socket.AF_UNIX)
            self.addCleanup(probe.close)
            probe.connect(path)
            other.close()  # now a stale file: nobody accepts on it
            self.assertTrue(os.path.exists(path))
            lbd = lbdtest.Lbd(bus, config=config)
            with lbd:
                lbdtest.wait_until(lambda: "admin: serving /metrics" in lbd.log_text(), 10,
                                   what="the admin listener on the stale path",
                                   alive=lbd.process)
                self.assertEqual(scrape(f"unix:{path}")[0], 200)
                self.assertIn(f"removed the stale socket file {path}", lbd.log_text())
                self.assertEqual(lbd.stop(), 0)
            self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    unittest.main(verbosity=2)
