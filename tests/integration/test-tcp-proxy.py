#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The tcp mode: a byte relay with half-close, on each worker model.

Backends: a raw echo server in this process (echoes until the client's
EOF, then sends a trailer line and closes: only a relay that passes the
half-close through gets the trailer) and a real gunicorn (an HTTP request
relayed unchanged: no X-Forwarded-For is added in tcp mode). Also: a big
transfer both ways, retry on another backend when one refuses, and a client
closed at once when no backend is reachable.
"""
import hashlib
import json
import os
import socket
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

TRAILER = b"\n-- end of echo --\n"


class EchoUntilEof:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        with c:
            c.settimeout(20)
            try:
                while True:
                    data = c.recv(65536)
                    if not data:
                        break
                    c.sendall(data)
                c.sendall(TRAILER)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def worker_pipes(lbd):
    """Pipe fds the lbd's workers hold (its master's children)."""
    n = 0
    for pid in lbdtest.worker_pids(lbd.pid):
        fd_dir = f"/proc/{pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                n += os.readlink(os.path.join(fd_dir, fd)).startswith("pipe:")
            except FileNotFoundError:
                pass  # closed meanwhile
    return n


def recv_all(s):
    out = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(out)
        out += chunk


class TcpProxyBase:
    MODEL = None

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.echo = EchoUntilEof()
        cls.addClassCleanup(cls.echo.close)
        cls.gunicorn = lbdtest.GunicornBackends(1).start()
        cls.addClassCleanup(cls.gunicorn.stop)
        cls.tmp = lbdtest.TempDir("lbd-tcp-")
        cls.addClassCleanup(cls.tmp.cleanup)
        # Refusing ports first, held, so that no port picked later is theirs.
        held = []
        for _ in range(3):
            sock, port = lbdtest.refusing_port()
            cls.addClassCleanup(sock.close)
            held.append(port)
        refused, dead = held[0], held[1:]
        ports = set()
        while len(ports) < 3:
            ports.add(lbdtest.free_port())
        cls.ports = dict(zip(["echo", "http", "down"], sorted(ports)))
        services = {
            # A refusing backend first in the rotation: every connection
            # that lands on it must be retried on the echo server.
            "echo": f"backends=127.0.0.1:{refused};127.0.0.1:{cls.echo.port}",
            "http": f"backends={cls.gunicorn.addresses[0]}",
            "down": f"backends=127.0.0.1:{dead[0]};127.0.0.1:{dead[1]}",
        }
        lines = ["[daemon]", "workers=1", f"worker-model={cls.MODEL}", "user=nobody",
                 "threads=4", ""]
        for name, backends in services.items():
            lines += [f"[service {name}]", f"listen=127.0.0.1:{cls.ports[name]}", "mode=tcp",
                      backends, ""]
        config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write("\n".join(lines))
        cls.lbd = lbdtest.Lbd(cls.bus, config=config, log_level="info").start()
        cls.addClassCleanup(lbdtest.stop_clean, cls.lbd)
        for name in cls.ports:
            lbdtest.wait_until(lambda n=name: not lbdtest.port_is_free(cls.ports[n]), 10,
                               what=f"lbd to listen for {name}", alive=cls.lbd.process)

    def connect(self, service):
        s = socket.create_connection(("127.0.0.1", self.ports[service]), timeout=20)
        self.addCleanup(s.close)
        return s

    def test_half_close_passes_through(self):
        for attempt in range(4):  # both backends of the rotation come up
            s = self.connect("echo")
            s.sendall(b"hello relay")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(s), b"hello relay" + TRAILER, f"attempt {attempt}")

    def test_big_transfer_both_ways(self):
        # Bulk: a direction whose read fills the 16 KiB buffer (lbd fell
        # behind: data waits) moves to a pipe of its own (splice), which
        # lives as long as the session. 8 MB pushed at once fills it in at
        # least one direction; the other may keep up and stay on its buffer.
        data = os.urandom(8 * 1000 * 1000)
        pipes_before = worker_pipes(self.lbd)
        s = self.connect("echo")
        got = []
        reader = threading.Thread(target=lambda: got.append(recv_all(s)))
        reader.start()
        s.sendall(data)
        if self.MODEL == "uring":
            # Its bytes wait in the ring's buffers, not in the socket, so
            # splice() would pass them by: the uring model never splices.
            self.assertEqual(worker_pipes(self.lbd) - pipes_before, 0,
                             "the uring model made a pipe for splice")
        else:
            self.assertIn(worker_pipes(self.lbd) - pipes_before, (2, 4),
                          "no direction went through a pipe (splice)")
        s.shutdown(socket.SHUT_WR)
        reader.join(60)
        self.assertFalse(reader.is_alive(), "the relay stalled")
        self.assertEqual(hashlib.sha256(got[0]).hexdigest(),
                         hashlib.sha256(data + TRAILER).hexdigest())

    def test_http_relayed_unchanged(self):
        s = self.connect("http")
        s.sendall(b"GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = recv_all(s)
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:100])
        headers = json.loads(out.partition(b"\r\n\r\n")[2])["headers"]
        self.assertNotIn("X-Forwarded-For", headers)  # tcp mode adds nothing
        self.assertEqual(headers.get("Host"), "x")

    def test_no_backend_closes_the_client(self):
        s = self.connect("down")
        s.sendall(b"anyone?")
        # Closed with our bytes unread: the kernel may answer with a reset
        # rather than an EOF; either way nothing comes back and it is over.
        try:
            self.assertEqual(recv_all(s), b"")
        except ConnectionResetError:
            pass


class EventModel(TcpProxyBase, unittest.TestCase):
    MODEL = "event"


class ThreadModel(TcpProxyBase, unittest.TestCase):
    MODEL = "thread"


class SyncModel(TcpProxyBase, unittest.TestCase):
    MODEL = "sync"


@unittest.skipUnless(lbdtest.has_plugin("uring"), lbdtest.UNBUILT)
class UringModel(TcpProxyBase, unittest.TestCase):
    MODEL = "uring"


if __name__ == "__main__":
    unittest.main(verbosity=2)
