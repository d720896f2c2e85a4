#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The access log and the error log (daemon/proxy/access-log.h), against a real
gunicorn backend, once per worker model (event, thread, sync).

One lbd per model (one worker) with access-log= and error-log= files in a
directory that does not exist yet (lbd creates it), and these services:
  web   http, the gunicorn backend
  down  http, a backend that refuses connections (502)
  raw   tcp, the gunicorn backend

Checked: N requests give N lines in the exact format, with status, body
bytes, referer, user agent, upstream and times; a 502 names the backend it
tried; a 400 from lbd has upstream=-; a tcp connection gives one tcp line
with the bytes both ways; after `mv` of both files and SIGUSR1 to the master,
new lines go to new files at the configured paths (created and, as root,
owned by the worker user) and none to the moved ones; the error log gets
lbd's own lines with a timestamp. A second lbd with access-log=off writes
no access line anywhere.

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-logs.py
"""
import datetime
import json
import os
import pwd
import re
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

TIME = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
SECONDS = r"\d+\.\d{3}"
HTTP_LINE = re.compile(
    r'^(?P<client>\S+) - - \[' + TIME + r'\] "(?P<request>[^"]*)" (?P<status>\d{3}) '
    r'(?P<bytes>\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" '
    r'upstream=(?P<upstream>\S+) upstream_time=(?P<upstream_time>' + SECONDS + r'|-) '
    r'request_time=(?P<request_time>' + SECONDS + r')$')
TCP_LINE = re.compile(
    r'^(?P<client>\S+) - - \[' + TIME + r'\] "TCP (?P<service>[^"]*)" (?P<status>\d{3}) '
    r'(?P<sent>\d+) (?P<received>\d+) upstream=(?P<upstream>\S+) '
    r'upstream_time=(?P<upstream_time>' + SECONDS + r'|-) '
    r'request_time=(?P<request_time>' + SECONDS + r')$')
ERROR_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} lbd\[\d+\]: ")


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


class LogsBase:
    MODEL = None
    WORKER_USER = "nobody"

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backend = lbdtest.GunicornBackends(1).start()
        cls.addClassCleanup(cls.backend.stop)
        cls.tmp = lbdtest.TempDir("lbd-logs-")
        cls.addClassCleanup(cls.tmp.cleanup)
        # Workers run as nobody when we are root: they reopen by path.
        os.chmod(cls.tmp.path, 0o755)
        cls.logdir = cls.tmp.join("logs", "lbd")  # created by lbd
        cls.access = os.path.join(cls.logdir, "access.log")
        cls.error = os.path.join(cls.logdir, "error.log")
        # The dead backend's port first, held: no port picked later is it.
        sock, dead_port = lbdtest.refusing_port()
        cls.addClassCleanup(sock.close)
        cls.dead = f"127.0.0.1:{dead_port}"
        ports = set()
        while len(ports) < 3:
            ports.add(lbdtest.free_port())
        cls.ports = dict(zip(["web", "down", "raw"], sorted(ports)))
        backend = cls.backend.addresses[0]
        lines = ["[daemon]", "workers=1", f"worker-model={cls.MODEL}",
                 f"user={cls.WORKER_USER}", "threads=4", f"access-log={cls.access}",
                 f"error-log={cls.error}", "",
                 "[service web]", f"listen=127.0.0.1:{cls.ports['web']}", "mode=http",
                 f"backends={backend}", "",
                 "[service down]", f"listen=127.0.0.1:{cls.ports['down']}", "mode=http",
                 f"backends={cls.dead}", "",
                 "[service raw]", f"listen=127.0.0.1:{cls.ports['raw']}", "mode=tcp",
                 f"backends={backend}", ""]
        cls.config = cls.tmp.join("lbd.conf")
        with open(cls.config, "w") as f:
            f.write("\n".join(lines))
        cls.lbd = lbdtest.Lbd(cls.bus, config=cls.config)
        cls.lbd.start()
        cls.addClassCleanup(cls._stop_lbd)
        for name in cls.ports:
            lbdtest.wait_until(lambda n=name: lbdtest.port_is_free(cls.ports[n]) is False, 10,
                               what=f"lbd to listen for {name}", alive=cls.lbd.process)

    @classmethod
    def _stop_lbd(cls):
        # stderr is the error log file: sanitizer reports land there too.
        lbdtest.stop_clean(cls.lbd, "\n".join(read_lines(cls.error)))

    def addr(self, service):
        return f"127.0.0.1:{self.ports[service]}"

    def wait_lines(self, path, n, pattern=None):
        """Wait until path has at least n lines (matching pattern); return them."""
        def enough():
            lines = [x for x in read_lines(path) if not pattern or pattern.search(x)]
            return lines if len(lines) >= n else None
        lbdtest.wait_until(enough, 10, what=f"{n} line(s) in {path}", alive=self.lbd.process)
        return enough()

    def marker(self):
        """A unique path, to find this test's lines."""
        return f"/{self.id().rsplit('.', 1)[-1]}-{time.monotonic_ns()}"

    def lines_with(self, path, text, n=1):
        return self.wait_lines(path, n, re.compile(re.escape(text)))

    # --- tests ----------------------------------------------------------------

    def test_http_lines(self):
        m = self.marker()
        n = 5
        for i in range(n):
            status, _, body = lbdtest.http_request(
                self.addr("web"), f"{m}?i={i}",
                headers={"Referer": "http://ref.example/x", "User-Agent": "lbd-test/1.0"})
            self.assertEqual(status, 200)
            self.assertEqual(body, b"backend b1\n")
        lines = self.lines_with(self.access, m, n)
        self.assertEqual(len(lines), n, lines)
        # A line is written once the answer went out: under the thread
        # model the next request, on another thread, may log first.
        matches = [HTTP_LINE.match(line) for line in lines]
        self.assertNotIn(None, matches, lines)
        self.assertEqual(sorted(g["request"] for g in matches),
                         [f"GET {m}?i={i} HTTP/1.1" for i in range(n)])
        for g in matches:
            self.assertEqual(g["client"], "127.0.0.1")
            self.assertEqual(g["status"], "200")
            self.assertEqual(g["bytes"], str(len(b"backend b1\n")))
            self.assertEqual(g["referer"], "http://ref.example/x")
            self.assertEqual(g["agent"], "lbd-test/1.0")
            self.assertEqual(g["upstream"], self.backend.addresses[0])
            self.assertNotEqual(g["upstream_time"], "-")
            self.assertLessEqual(float(g["upstream_time"]), float(g["request_time"]))

    def test_keepalive_status_and_bytes(self):
        tag = self.marker()[1:]
        paths = [f"/status/404?m={tag}", f"/bytes?n=100000&m={tag}"]
        conn = lbdtest.http_connection(self.addr("web"))
        try:
            for path in paths:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
        finally:
            conn.close()
        lines = [HTTP_LINE.match(x) for x in self.lines_with(self.access, tag, 2)]
        self.assertEqual([g["request"] for g in lines], [f"GET {p} HTTP/1.1" for p in paths])
        self.assertEqual(lines[0]["status"], "404")
        self.assertEqual((lines[1]["status"], lines[1]["bytes"]), ("200", "100000"))
        self.assertEqual(lines[1]["agent"], "-")

    def test_502_names_the_tried_backend(self):
        m = self.marker()
        status, _, body = lbdtest.http_request(self.addr("down"), m)
        self.assertEqual(status, 502)
        g = HTTP_LINE.match(self.lines_with(self.access, m)[0])
        self.assertIsNotNone(g)
        self.assertEqual(g["status"], "502")
        self.assertEqual(g["bytes"], str(len(body)))
        self.assertEqual(g["upstream"], self.dead)
        self.assertNotEqual(g["upstream_time"], "-")

    def test_400_has_no_upstream(self):
        m = self.marker()
        with socket.create_connection(("127.0.0.1", self.ports["web"]), timeout=10) as s:
            s.sendall(f"GET {m} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                      f"Content-Length: 2\r\n\r\n".encode())
            data = s.recv(65536)
        self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data)
        g = HTTP_LINE.match(self.lines_with(self.access, m)[0])
        self.assertIsNotNone(g)
        self.assertEqual(g["status"], "400")
        self.assertEqual(g["request"], f"GET {m} HTTP/1.1")
        self.assertEqual((g["upstream"], g["upstream_time"]), ("-", "-"))

    def test_escaped_request(self):
        m = self.marker()
        with socket.create_connection(("127.0.0.1", self.ports["web"]), timeout=10) as s:
            s.sendall(f"GET {m} HTTP/1.1\r\nHost: x\r\nUser-Agent: a\"b\\c\r\n"
                      f"Connection: close\r\n\r\n".encode())
            while s.recv(65536):
                pass
        line = self.lines_with(self.access, m)[0]
        self.assertIn('"a\\x22b\\x5Cc"', line)

    def test_tcp_line(self):
        before = len([x for x in read_lines(self.access) if TCP_LINE.match(x)])
        m = self.marker()
        request = f"GET {m} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        response = lbdtest.raw_exchange(f"127.0.0.1:{self.ports['raw']}", request)
        self.assertIn(b"backend b1\n", response)
        lines = self.wait_lines(self.access, before + 1, TCP_LINE)
        g = TCP_LINE.match(lines[-1])
        self.assertEqual(g["service"], "raw")
        self.assertEqual(g["status"], "200")
        self.assertEqual(int(g["sent"]), len(response))
        self.assertEqual(int(g["received"]), len(request))
        self.assertEqual(g["upstream"], self.backend.addresses[0])
        self.assertLessEqual(float(g["upstream_time"]), float(g["request_time"]))

    def test_error_log(self):
        lines = self.wait_lines(self.error, 1, re.compile("started"))
        self.assertRegex(lines[0], ERROR_LINE)
        # Nothing of lbd's own goes to the old stderr any more.
        self.assertNotIn("started", self.lbd.log_text())

    def test_usr1_reopens(self):
        m1 = self.marker()
        self.assertEqual(lbdtest.http_request(self.addr("web"), m1)[0], 200)
        self.lines_with(self.access, m1)
        self.wait_lines(self.error, 1)
        moved_access, moved_error = self.access + ".1", self.error + ".1"
        os.rename(self.access, moved_access)
        os.rename(self.error, moved_error)
        self.addCleanup(lambda: [os.path.exists(p) and os.unlink(p)
                                 for p in (moved_access, moved_error)])
        # Still written to the moved file until USR1.
        m2 = self.marker()
        self.assertEqual(lbdtest.http_request(self.addr("web"), m2)[0], 200)
        self.lines_with(moved_access, m2)

        os.kill(self.lbd.pid, signal.SIGUSR1)
        self.lines_with(self.error, "SIGUSR1")  # the master reopened its error log
        self.assertTrue(os.path.exists(self.access))
        if os.geteuid() == 0:
            # The master's, with the workers' group (log_file_open()).
            gid = pwd.getpwnam(self.WORKER_USER).pw_gid
            for path in (self.access, self.error):
                st = os.stat(path)
                self.assertEqual((st.st_uid, st.st_gid), (0, gid), path)
                self.assertEqual(st.st_mode & 0o777, 0o660, path)
        # The worker reopens from its signal handler: lines after that go
        # to the new file (retry until the signal has arrived). A line waits
        # in the worker's block up to access-log-flush (1 s): look for any
        # of the lines sent so far.
        deadline = time.monotonic() + 10
        sent = []
        found = None
        while found is None:
            sent.append(self.marker())
            self.assertEqual(lbdtest.http_request(self.addr("web"), sent[-1])[0], 200)
            time.sleep(0.05)
            lines = read_lines(self.access)
            found = next((m for m in sent if any(m in x for x in lines)), None)
            self.assertLess(time.monotonic(), deadline, "no line in the reopened access log")
        new_lines = self.lines_with(self.access, found)
        self.assertIsNotNone(HTTP_LINE.match(new_lines[0]))
        # Once reopened, nothing more goes to the moved file.
        m4 = self.marker()
        for _ in range(3):
            self.assertEqual(lbdtest.http_request(self.addr("web"), m4)[0], 200)
        self.lines_with(self.access, m4, 3)
        self.assertFalse(any(m4 in x for x in read_lines(moved_access)))
        self.assertFalse(any(m4 in x for x in read_lines(moved_error)))


class LogsEvent(LogsBase, unittest.TestCase):
    MODEL = "event"


class LogsThread(LogsBase, unittest.TestCase):
    MODEL = "thread"


class LogsSync(LogsBase, unittest.TestCase):
    MODEL = "sync"


@unittest.skipUnless(lbdtest.has_plugin("uring"), lbdtest.UNBUILT)
class LogsUring(LogsBase, unittest.TestCase):
    MODEL = "uring"


def one_service_lbd(bus, backend, tmp, daemon_lines, args=()):
    """An lbd whose config in tmp has [daemon] user=nobody plus daemon_lines
    and one http service in front of backend; returns (lbd, port), not yet
    started."""
    port = lbdtest.free_port()
    config = tmp.join("lbd.conf")
    with open(config, "w") as f:
        f.write("\n".join(["[daemon]", "user=nobody", *daemon_lines, "",
                           "[service web]", f"listen=127.0.0.1:{port}", "mode=http",
                           f"backends={backend.addresses[0]}", ""]))
    return lbdtest.Lbd(bus, config=config, args=list(args)), port


class AccessLogOff(unittest.TestCase):
    """access-log=off: no line anywhere (the error log file has lbd's lines
    only)."""

    def test_off(self):
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-logs-off-")
            self.addCleanup(tmp.cleanup)
            error = tmp.join("error.log")
            lbd, port = one_service_lbd(bus, backend, tmp,
                                        ["workers=1", "access-log=off", f"error-log={error}"])
            with lbd:
                lbdtest.wait_until(lambda: lbdtest.port_is_free(port) is False, 10,
                                   what="lbd to listen", alive=lbd.process)
                for _ in range(3):
                    self.assertEqual(lbdtest.http_request(f"127.0.0.1:{port}", "/off-x")[0],
                                     200)
                time.sleep(0.3)
                files = sorted(os.listdir(tmp.path))
                self.assertEqual(files, ["error.log", "lbd.conf"])
                text = "\n".join(read_lines(error))
                self.assertIn("started", text)
                self.assertNotIn("/off-x", text)
                self.assertNotIn("/off-x", lbd.log_text())
            self.assertEqual(lbd.returncode, 0)


class JsonAccessLog(unittest.TestCase):
    """access-log-format=json: every line is one JSON object whose fields are
    what was sent and what came back (a 200 and a 404 from gunicorn, a 400
    from lbd itself with no upstream), times ordered connect <= header <=
    response <= request, an ISO 8601 time of this second."""

    def test_json_lines(self):
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-logs-json-")
            self.addCleanup(tmp.cleanup)
            access = tmp.join("access.log")
            lbd, port = one_service_lbd(bus, backend, tmp,
                                        ["workers=1", f"access-log={access}",
                                         "access-log-format=json"])
            with lbd:
                lbdtest.wait_until(lambda: lbdtest.port_is_free(port) is False, 10,
                                   what="lbd to listen", alive=lbd.process)
                addr = f"127.0.0.1:{port}"
                agent = 'lbd-test "json" \\ 1.0'
                self.assertEqual(lbdtest.http_request(
                    addr, "/json-a?x=1", headers={"User-Agent": agent,
                                                  "Referer": "http://r.example/"})[0], 200)
                self.assertEqual(lbdtest.http_request(addr, "/status/404?json-b")[0], 404)
                with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                    s.sendall(b"GET /json-c HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                              b"Content-Length: 2\r\n\r\n")
                    self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 400 "))
                lbdtest.wait_until(lambda: len(read_lines(access)) >= 3, 10,
                                   what="3 lines", alive=lbd.process)
                self.assertEqual(lbd.stop(), 0)
            lines = read_lines(access)
            self.assertEqual(len(lines), 3, lines)
            entries = [json.loads(x) for x in lines]
            a, b, c = entries
            now = datetime.datetime.now(datetime.timezone.utc)
            for e in entries:
                when = datetime.datetime.fromisoformat(e["time"])
                self.assertLess(abs((now - when).total_seconds()), 60, e)
                self.assertEqual((e["protocol"], e["service"], e["remote_addr"], e["retries"]),
                                 ("http", "web", "127.0.0.1", 0), e)
            self.assertEqual(a["request"], "GET /json-a?x=1 HTTP/1.1")
            self.assertEqual((a["status"], a["upstream_status"]), (200, 200))
            self.assertEqual(a["body_bytes_sent"], len(b"backend b1\n"))
            self.assertEqual((a["http_user_agent"], a["http_referer"]),
                             (agent, "http://r.example/"))
            for e in (a, b):
                self.assertEqual(e["upstream_addr"], backend.addresses[0])
                self.assertLessEqual(e["upstream_connect_time"], e["upstream_header_time"])
                self.assertLessEqual(e["upstream_header_time"], e["upstream_response_time"])
                self.assertLessEqual(e["upstream_response_time"], e["request_time"])
            self.assertEqual((b["status"], b["upstream_status"], b["http_user_agent"]),
                             (404, 404, None))
            self.assertEqual((c["request"], c["status"]), ("GET /json-c HTTP/1.1", 400))
            for key in ("upstream_addr", "upstream_status", "upstream_connect_time",
                        "upstream_header_time", "upstream_response_time"):
                self.assertIsNone(c[key], key)


class DefaultAccessLog(unittest.TestCase):
    """Without access-log=: access.log in --logs-dir, written in blocks. With
    access-log-flush=60 nothing is written while the workers run (the lines
    wait in their blocks), and a graceful stop writes every line, whole, from
    both workers."""

    REQUESTS = 200

    def test_default_file_in_blocks(self):
        with lbdtest.PrivateSystemBus() as bus, lbdtest.GunicornBackends(1) as backend:
            tmp = lbdtest.TempDir("lbd-logs-default-")
            self.addCleanup(tmp.cleanup)
            # Our own --logs-dir (the last one counts): the fixture's goes
            # with it when lbd stops.
            logs = tmp.join("logs")
            access = os.path.join(logs, "access.log")
            lbd, port = one_service_lbd(bus, backend, tmp, ["workers=2", "access-log-flush=60"],
                                        args=["--logs-dir", logs])
            with lbd:
                lbdtest.wait_until(lambda: lbdtest.port_is_free(port) is False, 10,
                                   what="lbd to listen", alive=lbd.process)
                self.assertTrue(os.path.exists(access), "the master creates access.log")
                for i in range(self.REQUESTS):
                    status = lbdtest.http_request(f"127.0.0.1:{port}", f"/block-{i}")[0]
                    self.assertEqual(status, 200)
                time.sleep(1.5)
                self.assertEqual(read_lines(access), [],
                                 "lines were written before the block was due")
                self.assertEqual(lbd.stop(), 0)
            lines = read_lines(access)
            self.assertEqual(len(lines), self.REQUESTS)
            for line in lines:
                self.assertIsNotNone(HTTP_LINE.match(line), line)
            self.assertEqual(sorted(int(re.search(r"/block-(\d+) ", x).group(1)) for x in lines),
                             list(range(self.REQUESTS)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
