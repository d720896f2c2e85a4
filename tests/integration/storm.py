# SPDX-License-Identifier: MIT
"""A connection storm: COUNT clients connect at once, each sends one
request and reads its response to the end. For test-storm and the
benchmark (the same numbers for lbd and nginx).

    result = storm.run("127.0.0.1:8080", 10000)
    result.answered_s   # seconds from the first connect to the last response
    result.errors       # {"connect: ECONNREFUSED": 3, "read: ECONNRESET": 1, ...}
    result.statuses     # {200: 10000}

Every socket error and every response is counted: nothing is retried, so a
connection that a proxy accepted late (its SYN dropped because the accept
queue was full, then sent again a second later) shows as a slow storm,
and one it never served as an error.

Standard library only (selectors on epoll); the caller raises
RLIMIT_NOFILE (raise_fd_limit()) before a large storm.
"""
import errno
import resource
import selectors
import socket
import struct
import time

# struct tcp_info: 8 bytes of u8 fields, then u32s; tcpi_total_retrans is
# the 24th u32 (linux/tcp.h).
_TCPI_TOTAL_RETRANS = 8 + 23 * 4


class Result:
    def __init__(self):
        self.count = 0
        self.connected_s = None   # the last connect completed
        self.answered_s = None    # the last response read to its end
        self.statuses = {}
        self.errors = {}
        # Connections whose SYN was sent again (TCP_INFO's total_retrans
        # when the connect completed): on loopback only a full accept
        # queue drops a SYN, so this counts the clients a proxy accepted
        # too slowly.
        self.syn_retransmitted = 0

    def __repr__(self):
        return (f"<storm {self.count} connections: statuses {self.statuses}, errors "
                f"{self.errors}, {self.syn_retransmitted} SYNs sent again, all connected in "
                f"{self.connected_s} s, all answered in {self.answered_s} s>")


def raise_fd_limit(need):
    """Raise this process's RLIMIT_NOFILE to at least need (root may raise
    the hard limit too); children inherit it. Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return need
        except (ValueError, OSError):
            need = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return need


class _Conn:
    __slots__ = ("sock", "state", "buf", "need")

    def __init__(self, sock):
        self.sock = sock
        self.state = "connect"
        self.buf = b""
        self.need = None  # total bytes of the response, once its head is read


def _parse_head(buf):
    """(status, total length) of a response with Content-Length, or None
    while the head is incomplete; ValueError if it is not one."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    length = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("response without Content-Length")
    return status, end + 4 + length


def run(address, count, timeout=60.0, path="/", host="storm"):
    """Open count connections to address ("HOST:PORT") at once; returns a
    Result once every one is answered, failed, or timeout passed (the rest
    count as "timeout")."""
    hostname, _, port = address.rpartition(":")
    target = (hostname, int(port))
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").encode()
    res = Result()
    res.count = count
    sel = selectors.DefaultSelector()
    conns = []
    start = time.monotonic()
    pending = 0

    def fail(c, what, err):
        name = errno.errorcode.get(err, str(err)) if isinstance(err, int) else err
        key = f"{what}: {name}"
        res.errors[key] = res.errors.get(key, 0) + 1
        finish(c)

    def finish(c):
        nonlocal pending
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.state = "done"
        pending -= 1

    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        c = _Conn(s)
        conns.append(c)
        pending += 1
        err = s.connect_ex(target)
        if err not in (0, errno.EINPROGRESS):
            fail(c, "connect", err)
            continue
        sel.register(s, selectors.EVENT_WRITE, c)

    connected = 0
    while pending > 0:
        left = timeout - (time.monotonic() - start)
        if left <= 0:
            break
        for key, _ in sel.select(min(left, 1.0)):
            c = key.data
            if c.state == "connect":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect", err)
                    continue
                connected += 1
                info = c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
                if struct.unpack_from("I", info, _TCPI_TOTAL_RETRANS)[0]:
                    res.syn_retransmitted += 1
                if connected == count:
                    res.connected_s = round(time.monotonic() - start, 3)
                try:
                    c.sock.send(request)  # small: one send fits
                except OSError as e:
                    fail(c, "send", e.errno)
                    continue
                c.state = "read"
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                fail(c, "read", e.errno)
                continue
            if not data:
                fail(c, "read", "EOF before the end of the response")
                continue
            c.buf += data
            try:
                parsed = _parse_head(c.buf)
            except (ValueError, IndexError) as e:
                fail(c, "response", str(e))
                continue
            if parsed and len(c.buf) >= parsed[1]:
                res.statuses[parsed[0]] = res.statuses.get(parsed[0], 0) + 1
                finish(c)
    for c in conns:
        if c.state != "done":
            res.errors["timeout"] = res.errors.get("timeout", 0) + 1
            finish(c)
    if pending <= 0 and not res.errors.get("timeout"):
        res.answered_s = round(time.monotonic() - start, 3)
    sel.close()
    return res
