#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The http mode of the proxy engine, against real gunicorn backends (TCP and
a unix socket), once per worker model (event, thread, sync).

One lbd per model (one worker) with these services:
  tcpb     http, the gunicorn backend on TCP
  unixb    http, the gunicorn backend on a unix socket
  down     http, backends that refuse connections (502)
  slow     http, proxy-read-timeout=1 (504 for /slow?ms=3000)
  upgrade  http, a raw-socket backend in this process that answers 101 and
           echoes bytes (WebSocket-style Upgrade)

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-http-proxy.py
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402


class RawBackend:
    """A minimal HTTP/1.1 server without limits of its own: answers a request
    with Upgrade with 101 Switching Protocols and then echoes bytes; any other
    request (no body) with 200 "raw ok", keeping the connection. The heads
    it received are in .heads."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.heads = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        with c:
            c.settimeout(10)
            data = b""
            try:
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = c.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, data = data.partition(b"\r\n\r\n")
                    self.heads.append(head.decode("latin-1"))
                    if b"\r\nupgrade:" in head.lower():
                        break
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nraw ok")
                rest = data
                c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                          b"Connection: Upgrade\r\n\r\n")
                if rest:
                    c.sendall(rest)
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        return
                    c.sendall(chunk)
            except OSError:
                return

    def close(self):
        self.sock.close()


def recv_until_closed(s, timeout=10.0):
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def read_response(f):
    """One response from a socket file: (status, headers dict lower-case, body)."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed before a response")
    status = int(line.split()[1])
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if status < 200 or status in (204, 304):
        return status, headers, b""
    if "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            body += f.read(size)
            f.readline()
    else:
        body = f.read()
    return status, headers, body


class HttpProxyBase:
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.tcp_backend = lbdtest.GunicornBackends(1).start()
        cls.addClassCleanup(cls.tcp_backend.stop)
        cls.unix_backend = lbdtest.GunicornBackends(1, unix=True, names=["u1"]).start()
        cls.addClassCleanup(cls.unix_backend.stop)
        cls.upgrade_backend = RawBackend()
        cls.addClassCleanup(cls.upgrade_backend.close)
        cls.tmp = lbdtest.TempDir("lbd-http-")
        cls.addClassCleanup(cls.tmp.cleanup)
        # The dead backends first, held: no port picked after can be theirs.
        dead = []
        for _ in range(2):
            sock, port = lbdtest.refusing_port()
            cls.addClassCleanup(sock.close)
            dead.append(port)
        ports = set()
        while len(ports) < 5:
            ports.add(lbdtest.free_port())
        cls.ports = dict(zip(["tcpb", "unixb", "down", "slow", "upgrade"], sorted(ports)))
        services = {
            "tcpb": [f"backends={cls.tcp_backend.addresses[0]}"],
            "unixb": [f"backends={cls.unix_backend.addresses[0]}"],
            "down": [f"backends=127.0.0.1:{dead[0]};127.0.0.1:{dead[1]}"],
            "slow": [f"backends={cls.tcp_backend.addresses[0]}", "proxy-read-timeout=1"],
            "upgrade": [f"backends=127.0.0.1:{cls.upgrade_backend.port}"],
        }
        lines = ["[daemon]", "workers=1", f"worker-model={cls.MODEL}", "user=nobody",
                 "keepalive=5", "threads=8", ""]
        for name, extra in services.items():
            lines += [f"[service {name}]", f"listen=127.0.0.1:{cls.ports[name]}", "mode=http",
                      *extra, ""]
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
        lbdtest.stop_clean(cls.lbd)

    def addr(self, service):
        return f"127.0.0.1:{self.ports[service]}"

    def connect(self, service, timeout=10.0):
        s = socket.create_connection(("127.0.0.1", self.ports[service]), timeout=timeout)
        self.addCleanup(s.close)
        return s

    # --- basics ---------------------------------------------------------------

    def test_get_tcp_and_unix(self):
        for service, name in (("tcpb", "b1"), ("unixb", "u1")):
            status, headers, body = lbdtest.http_request(self.addr(service), "/")
            self.assertEqual(status, 200, service)
            self.assertEqual(body, f"backend {name}\n".encode())

    def test_keepalive_same_connection(self):
        for service in ("tcpb", "unixb"):
            conn = lbdtest.http_connection(self.addr(service))
            try:
                conn.request("GET", "/")
                r1 = conn.getresponse()
                r1.read()
                sock1 = conn.sock
                self.assertIsNotNone(sock1)
                conn.request("GET", "/headers")
                r2 = conn.getresponse()
                body = json.loads(r2.read())
                self.assertIs(conn.sock, sock1, "the connection was not kept")
                self.assertEqual(r1.status, 200)
                self.assertEqual(r2.status, 200)
                self.assertEqual(body["path"], "/headers")
            finally:
                conn.close()

    def test_pipelining(self):
        s = self.connect("tcpb")
        s.sendall(b"GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /bytes?n=5 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /status/202 HTTP/1.1\r\nHost: a\r\n\r\n")
        f = s.makefile("rb")
        got = [read_response(f) for _ in range(3)]
        self.assertEqual([g[0] for g in got], [201, 200, 202])
        self.assertEqual(got[1][2], b"xxxxx")

    def test_big_body_up(self):
        data = os.urandom(10 * 1000 * 1000)
        for service in ("tcpb", "unixb"):
            status, _, body = lbdtest.http_request(self.addr(service), "/echo", "POST", data,
                                                   timeout=60)
            self.assertEqual(status, 200)
            self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_big_body_down(self):
        status, _, body = lbdtest.http_request(self.addr("tcpb"), "/bytes?n=10000000",
                                               timeout=60)
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 10000000)
        self.assertEqual(body, b"x" * 10000000)

    def test_chunked_body_up(self):
        s = self.connect("tcpb")
        parts = [b"hello ", b"chunked ", os.urandom(70000), b"world"]
        req = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        for p in parts:
            req += b"%x\r\n" % len(p) + p + b"\r\n"
        req += b"0\r\n\r\n"
        s.sendall(req)
        status, _, body = read_response(s.makefile("rb"))
        self.assertEqual(status, 200)
        self.assertEqual(body, b"".join(parts))

    def test_forwarded_headers(self):
        status, _, body = lbdtest.http_request(
            self.addr("tcpb"), "/headers",
            headers={"Host": "example.org:81", "X-Forwarded-For": "10.1.2.3",
                     "X-Forwarded-Proto": "https", "Keep-Alive": "timeout=9",
                     "Connection": "keep-alive, X-Secret", "X-Secret": "s",
                     "X-Other": "kept"})
        self.assertEqual(status, 200)
        h = json.loads(body)["headers"]
        self.assertEqual(h.get("X-Forwarded-For"), "10.1.2.3, 127.0.0.1")
        self.assertEqual(h.get("X-Forwarded-Proto"), "http")
        self.assertEqual(h.get("Host"), "example.org:81")
        self.assertEqual(h.get("X-Other"), "kept")
        self.assertNotIn("Keep-Alive", h)
        self.assertNotIn("X-Secret", h)

    def test_forwarded_for_added(self):
        status, _, body = lbdtest.http_request(self.addr("unixb"), "/headers")
        h = json.loads(body)["headers"]
        self.assertEqual(h.get("X-Forwarded-For"), "127.0.0.1")

    # --- limits and smuggling --------------------------------------------------

    def raw(self, data, service="tcpb"):
        """Send data, read until the proxy closes: (status, everything)."""
        s = self.connect(service)
        s.sendall(data)
        out = recv_until_closed(s)
        status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else None
        return status, out

    def one(self, data, service="upgrade"):
        """Send data, read one response: its status."""
        s = self.connect(service)
        s.sendall(data)
        return read_response(s.makefile("rb"))[0]

    def test_request_line_limit(self):
        # The request line without CRLF: 4094 passes, 4095 gets 414.
        fixed = len("GET / HTTP/1.1") - 1
        ok = "GET /" + "a" * (4094 - fixed - 1) + " HTTP/1.1"
        self.assertEqual(len(ok), 4094)
        self.assertEqual(self.one(ok.encode() + b"\r\nHost: a\r\n\r\n"), 200)
        bad = "GET /" + "a" * (4095 - fixed - 1) + " HTTP/1.1"
        status, out = self.raw(bad.encode() + b"\r\nHost: a\r\n\r\n")
        self.assertEqual(status, 414, out[:300])
        self.assertIn(b"Connection: close", out)

    def test_field_count_limit(self):
        fields = b"".join(b"X-F%d: v\r\n" % i for i in range(99))
        # Host + 99 = 100 fields: passes; 101 do not.
        self.assertEqual(self.one(b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n"), 200)
        fields = b"".join(b"X-F%d: v\r\n" % i for i in range(100))
        status, _ = self.raw(b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n")
        self.assertEqual(status, 431)

    def test_field_size_limit(self):
        name = b"X-Long: "
        ok = name + b"v" * (8190 - len(name))
        self.assertEqual(self.one(b"GET / HTTP/1.1\r\nHost: a\r\n" + ok + b"\r\n\r\n"), 200)
        self.assertIn(ok.decode(), self.upgrade_backend.heads[-1])
        bad = name + b"v" * (8191 - len(name))
        status, _ = self.raw(b"GET / HTTP/1.1\r\nHost: a\r\n" + bad + b"\r\n\r\n")
        self.assertEqual(status, 431)

    def test_smuggling_shapes(self):
        shapes = {
            "CL+TE": b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "CL dup": b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      b"Content-Length: 6\r\n\r\nhello!",
            "chunk size": b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"zz\r\nhello\r\n0\r\n\r\n",
            "bare LF": b"GET / HTTP/1.1\nHost: a\r\n\r\n",
        }
        for what, data in shapes.items():
            status, out = self.raw(data)
            self.assertEqual(status, 400, f"{what}: {out[:200]!r}")
            self.assertEqual(out.count(b"HTTP/1.1 "), 1, what)

    def test_connection_cannot_strip_framing(self):
        # "Connection: Content-Length" must not make lbd drop the framing
        # header: the backend would then read the body as a second request.
        s = self.connect("tcpb")
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\n"
                  b"Content-Length: 37\r\n\r\nGET /status/299 HTTP/1.1\r\nHost: a\r\n\r\n")
        status, _, body = read_response(s.makefile("rb"))
        self.assertEqual(status, 200)
        self.assertEqual(body, b"GET /status/299 HTTP/1.1\r\nHost: a\r\n\r\n")

    # --- errors -----------------------------------------------------------------

    def test_502_all_backends_down(self):
        status, _, body = lbdtest.http_request(self.addr("down"), "/")
        self.assertEqual(status, 502)
        self.assertIn(b"502", body)

    def test_504_slow_backend(self):
        t0 = time.monotonic()
        status, _, _ = lbdtest.http_request(self.addr("slow"), "/slow?ms=3000", timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(status, 504)
        self.assertLess(took, 2.9)
        # the same service answers a fast request
        status, _, _ = lbdtest.http_request(self.addr("slow"), "/slow?ms=10")
        self.assertEqual(status, 200)

    def test_expect_continue(self):
        s = self.connect("tcpb")
        f = s.makefile("rb")
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        status, _, _ = read_response(f)
        self.assertEqual(status, 100)
        s.sendall(b"hello")
        status, _, body = read_response(f)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"hello")

    def test_upgrade_relay(self):
        s = self.connect("upgrade")
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
        f = s.makefile("rb")
        status, headers, _ = read_response(f)
        self.assertEqual(status, 101)
        self.assertEqual(headers.get("upgrade"), "echo")
        for msg in (b"ping", b"x" * 100000):
            s.sendall(msg)
            self.assertEqual(f.read(len(msg)), msg)
        head = self.upgrade_backend.heads[-1].lower()
        self.assertIn("upgrade: echo", head)
        self.assertIn("connection: upgrade", head)

    def test_idle_keepalive_closes(self):
        s = self.connect("tcpb")
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        f = s.makefile("rb")
        self.assertEqual(read_response(f)[0], 200)
        t0 = time.monotonic()
        s.settimeout(15)
        self.assertEqual(s.recv(1), b"")
        self.assertGreater(time.monotonic() - t0, 3.5)


class EventModel(HttpProxyBase, unittest.TestCase):
    MODEL = "event"


class ThreadModel(HttpProxyBase, unittest.TestCase):
    MODEL = "thread"


class SyncModel(HttpProxyBase, unittest.TestCase):
    MODEL = "sync"


@unittest.skipUnless(lbdtest.has_plugin("uring"), lbdtest.UNBUILT)
class UringModel(HttpProxyBase, unittest.TestCase):
    MODEL = "uring"


if __name__ == "__main__":
    unittest.main(verbosity=2)
