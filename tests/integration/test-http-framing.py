#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Where a response ends (RFC 9112 section 6.3) and what HTTP/1.0 clients
get, once per worker model (event, thread, sync), against a scripted raw
backend that frames its responses exactly as each case needs:

  /cl-close       Content-Length, then the backend closes at once, in the
                  same write (Gunicorn's sync worker does this, without
                  saying Connection: close)
  /cl             Content-Length, connection kept
  /chunked        chunked, connection kept
  /close?n=N      an HTTP/1.0-style response without length: N bytes, then
                  the close ends it
  /head-cut       half a head, then the close (502)
  /body-cut       Content-Length 100, 10 bytes, then the close
  /early          a 103 Early Hints before the final response
  /continue       100 Continue (marked X-From: backend) when the request
                  says Expect: 100-continue, then the body echoed
  /refuse-body    417 at once, the body never read

Every head the backend receives is kept (Host and Expect checks).

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-http-framing.py
"""
import os
import re
import socket
import sys
import threading
import time
import unittest
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402


class ScriptedBackend:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.heads = []
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.sock.close()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    @staticmethod
    def _read_body(c, rest, length):
        while len(rest) < length:
            chunk = c.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest[:length], rest[length:]

    def _conn(self, c):
        data = b""
        with c:
            c.settimeout(20)
            try:
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = c.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, data = data.partition(b"\r\n\r\n")
                    text = head.decode("latin-1")
                    self.heads.append(text)
                    target = text.split(" ")[1]
                    url = urlsplit(target)
                    query = parse_qs(url.query)
                    m = re.search(r"(?im)^content-length:\s*(\d+)", text)
                    length = int(m.group(1)) if m else 0
                    if url.path == "/continue":
                        if re.search(r"(?im)^expect:\s*100-continue", text):
                            c.sendall(b"HTTP/1.1 100 Continue\r\nX-From: backend\r\n\r\n")
                        body, data = self._read_body(c, data, length)
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                                  + body)
                        continue
                    if url.path == "/refuse-body":
                        c.sendall(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n"
                                  b"Connection: close\r\n\r\n")
                        return
                    _, data = self._read_body(c, data, length)
                    if url.path == "/cl-close":
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                        return
                    if url.path == "/cl":
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                    elif url.path == "/chunked":
                        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
                    elif url.path == "/close":
                        n = int(query.get("n", ["10"])[0])
                        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" +
                                  b"y" * n)
                        return
                    elif url.path == "/head-cut":
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
                        return
                    elif url.path == "/body-cut":
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                        return
                    elif url.path == "/early":
                        c.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                                  b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    else:
                        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                return


def read_head(f):
    """(status line, {lower-case name: value}) of one response head."""
    line = f.readline()
    if not line:
        raise EOFError("closed before a response")
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    return line.decode("latin-1").strip(), headers


def read_all(s, timeout=10.0):
    s.settimeout(timeout)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        out += chunk
    return out


class FramingBase:
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backend = ScriptedBackend()
        cls.addClassCleanup(cls.backend.close)
        cls.tmp = lbdtest.TempDir("lbd-framing-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.ports = {"raw": lbdtest.free_port(), "named": lbdtest.free_port()}
        while cls.ports["named"] == cls.ports["raw"]:
            cls.ports["named"] = lbdtest.free_port()
        config = "\n".join([
            "[daemon]", "workers=1", f"worker-model={cls.MODEL}", "user=nobody",
            "keepalive=5", "threads=8", "",
            "[service raw]", f"listen=127.0.0.1:{cls.ports['raw']}",
            f"backends={cls.backend.address}", "",
            "[service named]", f"listen=127.0.0.1:{cls.ports['named']}",
            f"backends={cls.backend.address}", "proxy-host=app.example:8080", ""])
        path = cls.tmp.join("lbd.conf")
        with open(path, "w") as f:
            f.write(config)
        cls.lbd = lbdtest.Lbd(cls.bus, config=path)
        cls.lbd.start()
        cls.addClassCleanup(lbdtest.stop_clean, cls.lbd)
        for port in cls.ports.values():
            lbdtest.wait_until(lambda p=port: not lbdtest.port_is_free(p), 10,
                               what="lbd to listen", alive=cls.lbd.process)

    def connect(self, service="raw"):
        s = socket.create_connection(("127.0.0.1", self.ports[service]), timeout=10)
        self.addCleanup(s.close)
        return s

    def exchange(self, request, service="raw"):
        """Send request, read until lbd closes: (status line, headers, body)."""
        # Closed at once: lbd lingers until the client closes too, and the
        # sync model serves one connection at a time.
        with socket.create_connection(("127.0.0.1", self.ports[service]), timeout=10) as s:
            s.sendall(request)
            out = read_all(s)
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for h in lines[1:]:
            k, _, v = h.partition(":")
            headers[k.strip().lower()] = v.strip()
        return lines[0], headers, body

    def failures(self):
        path = lbdtest.backend_path("raw", self.backend.address)
        return self.bus.get_property(path, "org.example.LoadBalancer.Backend", "Failures")

    # --- where a response ends ------------------------------------------------

    def test_close_right_after_a_complete_response(self):
        before = self.failures()
        for i in range(40):
            # (Closed at once: the sync model serves one connection at a
            # time.)
            with socket.create_connection(("127.0.0.1", self.ports["raw"]), timeout=10) as s:
                s.sendall(b"GET /cl-close HTTP/1.1\r\nHost: a\r\n\r\n")
                f = s.makefile("rb")
                status, headers = read_head(f)
                self.assertEqual(status, "HTTP/1.1 200 OK", f"request {i}")
                self.assertEqual(f.read(int(headers["content-length"])), b"hello")
                # The client's connection stays: the backend's close is not
                # the client's.
                self.assertEqual(headers.get("connection"), "keep-alive")
                s.sendall(b"GET /cl HTTP/1.1\r\nHost: a\r\n\r\n")
                status, headers = read_head(f)
                self.assertEqual(status, "HTTP/1.1 200 OK")
                self.assertEqual(f.read(5), b"hello")
                f.close()
        # No passive-health strike, no 502, no retry.
        self.assertEqual(self.failures(), before)
        self.assertNotIn("answering 502", self.lbd.log_text())

    def test_close_delimited_body_to_a_slow_client(self):
        # 8 MB ended only by the close, read late: the backend has closed
        # long before lbd can pass the last bytes on, and all of them
        # arrive (the close is no reason to drop what is still buffered).
        n = 8 * 1000 * 1000
        s = self.connect()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /close?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % n)
        time.sleep(1.0)
        out = read_all(s)
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200 OK"), head)
        self.assertIn(b"Connection: close", head)
        self.assertEqual(len(body), n)

    def test_cut_head_is_502(self):
        status, _, _ = self.exchange(b"GET /head-cut HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 502 Bad Gateway")
        lbdtest.wait_until(lambda: "the backend closed the connection in the middle of the "
                           "response head" in self.lbd.log_text(), 5, what="the 502's reason")

    def test_cut_body_closes_the_client(self):
        status, headers, body = self.exchange(b"GET /body-cut HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers["content-length"], "100")
        # What came is passed on, then the client is closed.
        self.assertEqual(body, b"0123456789")
        lbdtest.wait_until(lambda: "the backend closed the connection before the end of the "
                           "response; closing the client connection" in self.lbd.log_text(), 5,
                           what="the cut body's log line")

    # --- HTTP/1.0 clients -------------------------------------------------------

    def test_http10_chunked_is_dechunked(self):
        t0 = time.monotonic()
        status, headers, body = self.exchange(b"GET /chunked HTTP/1.0\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertNotIn("transfer-encoding", headers)
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(body, b"hello world")
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_http10_keepalive_with_chunked_is_closed(self):
        # Keep-alive only with a known length: a de-chunked body ends at
        # the close, at once, not after the keep-alive timeout.
        t0 = time.monotonic()
        status, headers, body = self.exchange(
            b"GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers.get("connection"), "close")
        self.assertNotIn("transfer-encoding", headers)
        self.assertEqual(body, b"hello world")
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_http10_keepalive_with_length(self):
        s = self.connect()
        f = s.makefile("rb")
        for i in range(3):
            s.sendall(b"GET /cl HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n")
            status, headers = read_head(f)
            self.assertEqual(status, "HTTP/1.1 200 OK")
            self.assertEqual(headers.get("connection"), "keep-alive")
            self.assertEqual(f.read(int(headers["content-length"])), b"hello")

    def test_http10_without_keepalive_is_closed(self):
        status, headers, body = self.exchange(b"GET /cl HTTP/1.0\r\nHost: a\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers.get("connection"), "close")
        self.assertEqual(body, b"hello")

    def test_http10_close_delimited(self):
        status, headers, body = self.exchange(b"GET /close?n=5000 HTTP/1.0\r\n\r\n")
        self.assertEqual(status, "HTTP/1.0 200 OK")
        self.assertEqual(body, b"y" * 5000)

    def test_http10_gets_no_interim_response(self):
        status, _, body = self.exchange(b"GET /early HTTP/1.0\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(body, b"ok")
        # An HTTP/1.1 client gets the 103 first.
        with socket.create_connection(("127.0.0.1", self.ports["raw"]), timeout=10) as s:
            s.sendall(b"GET /early HTTP/1.1\r\nHost: a\r\n\r\n")
            f = s.makefile("rb")
            self.assertEqual(read_head(f)[0], "HTTP/1.1 103 Early Hints")
            self.assertEqual(read_head(f)[0], "HTTP/1.1 200 OK")
            f.close()

    def test_http10_without_host_gets_one(self):
        n = len(self.backend.heads)
        status, _, _ = self.exchange(b"GET /cl HTTP/1.0\r\n\r\n")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        head = self.backend.heads[n]
        self.assertTrue(head.startswith("GET /cl HTTP/1.1\r\n"), head)
        self.assertEqual(re.findall(r"(?im)^host:\s*([^\r\n]*)", head), [self.backend.address])
        # proxy-host= wins; a Host the client sent is kept as it is.
        status, _, _ = self.exchange(b"GET /cl HTTP/1.0\r\n\r\n", "named")
        self.assertEqual(re.findall(r"(?im)^host:\s*([^\r\n]*)", self.backend.heads[n + 1]),
                         ["app.example:8080"])
        self.exchange(b"GET /cl HTTP/1.0\r\nHost: mine.example\r\n\r\n", "named")
        self.assertEqual(re.findall(r"(?im)^host:\s*([^\r\n]*)", self.backend.heads[n + 2]),
                         ["mine.example"])

    # --- Expect, Transfer-Encoding ----------------------------------------------

    def test_backend_continue_is_relayed(self):
        s = self.connect()
        f = s.makefile("rb")
        s.sendall(b"POST /continue HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        status, headers = read_head(f)
        self.assertEqual(status, "HTTP/1.1 100 Continue")
        self.assertEqual(headers.get("x-from"), "backend", "lbd answered the 100 itself")
        self.assertRegex(self.backend.heads[-1], r"(?im)^expect: 100-continue")
        s.sendall(b"hello")
        status, headers = read_head(f)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(f.read(5), b"hello")

    def test_final_answer_without_continue(self):
        # The backend refuses the body: the client gets its 417, and no 100
        # from lbd.
        s = self.connect()
        s.sendall(b"POST /refuse-body HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        status, _ = read_head(s.makefile("rb"))
        self.assertEqual(status, "HTTP/1.1 417 Expectation Failed")

    def test_http10_expect_is_not_forwarded(self):
        n = len(self.backend.heads)
        status, _, body = self.exchange(b"POST /continue HTTP/1.0\r\nContent-Length: 3\r\n"
                                        b"Expect: 100-continue\r\n\r\nabc")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(body, b"abc")
        self.assertNotRegex(self.backend.heads[n], r"(?im)^expect:")

    def test_transfer_encoding_identity_is_400(self):
        for te in (b"Transfer-Encoding: identity\r\nContent-Length: 3\r\n",
                   b"Transfer-Encoding: identity\r\n"):
            status, _, _ = self.exchange(b"POST /cl HTTP/1.1\r\nHost: a\r\n" + te +
                                         b"\r\nabc")
            self.assertEqual(status, "HTTP/1.1 400 Bad Request", te)


class EventModel(FramingBase, unittest.TestCase):
    MODEL = "event"


class ThreadModel(FramingBase, unittest.TestCase):
    MODEL = "thread"


class SyncModel(FramingBase, unittest.TestCase):
    MODEL = "sync"


@unittest.skipUnless(lbdtest.has_plugin("uring"), lbdtest.UNBUILT)
class UringModel(FramingBase, unittest.TestCase):
    MODEL = "uring"


if __name__ == "__main__":
    unittest.main(verbosity=2)
