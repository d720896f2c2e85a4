#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Statistics: what GetStatistics, lbclient and StatsD say matches the
traffic sent, exactly.

lbd (event model, 2 workers) in front of a real nginx backend, with a
service whose only backend refuses connections and a service without
backends; a UDP socket in the test is the StatsD server. Traffic of known
shape goes through; then:
- GetStatistics: responses by class in the backend that answered (and
  lbd's own 400s and 502s in the service), every request either reused a
  pooled connection or made one, bytes to and from the client to the byte,
  connection errors of the refusing backend, percentiles in order;
- lbclient stats shows the percentiles;
- StatsD: Gunicorn's names (requests, request.status.CODE,
  request.duration, workers) and the per-service and per-backend ones add
  up to what was sent, each request once, every line with the DogStatsD
  tags;
- a StatsD server that is not there: sends are counted as failed, logged
  once, and lbd serves on.

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-statistics.py
"""
import collections
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
BUS_NAME = lbdtest.BUS_NAME
SERVICE_IFACE = "org.example.LoadBalancer.Service"
BACKEND_IFACE = "org.example.LoadBalancer.Backend"
TAGS = "env:test,tier:front"


class StatsdServer:
    """A UDP socket on loopback that keeps every line sent to it."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.lines = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.lines.extend(data.decode().split("\n"))

    def stop(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()

    def snapshot(self):
        with self.lock:
            return list(self.lines)


LINE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+):(?P<value>[0-9.]+)\|(?P<type>c|g|ms)"
                  r"(?:\|@(?P<rate>[0-9.]+))?(?:\|#(?P<tags>[^|]*))?$")


def parse_statsd(lines):
    """Sum the counters, keep the last gauges, count the timers' samples
    (1/rate each line); every line must parse."""
    counters = collections.Counter()
    gauges = {}
    samples = collections.Counter()
    tags = set()
    for line in lines:
        m = LINE.match(line)
        if not m:
            raise AssertionError(f"not a StatsD line: {line!r}")
        tags.add(m["tags"])
        value = float(m["value"])
        if m["type"] == "c":
            counters[m["name"]] += int(value)
        elif m["type"] == "g":
            gauges[m["name"]] = int(value)
        else:
            samples[m["name"]] += round(1 / float(m["rate"])) if m["rate"] else 1
    return counters, gauges, samples, tags


def traffic(stats, service, backend=None):
    s = stats["Services"]["data"][service]
    if backend is not None:
        s = s["Backends"]["data"][backend]
    return {k: v["data"] for k, v in s.items() if k != "Backends"}


class Statistics(unittest.TestCase):
    N_KEEPALIVE = 40     # 4 connections of 10 requests to web
    N_BAD = 3            # malformed: lbd answers 400 itself
    N_RAW = 5            # Connection: close, bytes counted by the test
    N_DEAD = 5           # to the service whose backend refuses: 502
    N_EMPTY = 4          # to the service without backends: 502, no backend

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backend = lbdtest.nginx_backend().start()
        cls.addClassCleanup(cls.backend.stop)
        cls.statsd = StatsdServer()
        cls.addClassCleanup(cls.statsd.stop)
        cls.tmp = lbdtest.TempDir("lbd-statistics-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.web = f"127.0.0.1:{lbdtest.free_port()}"
        cls.dead = f"127.0.0.1:{lbdtest.free_port()}"
        cls.empty = f"127.0.0.1:{lbdtest.free_port()}"
        refusing, port = lbdtest.refusing_port()
        cls.addClassCleanup(refusing.close)
        cls.refusing = f"127.0.0.1:{port}"
        path = cls.tmp.join("lbd.conf")
        with open(path, "w") as f:
            f.write("\n".join([
                "[daemon]", "workers=2", "worker-model=event", "user=nobody",
                "access-log=off", f"statsd-host={cls.statsd.address}", "statsd-prefix=lbd",
                "statsd-interval=1", f"dogstatsd-tags={TAGS}", "",
                "[service web]", f"listen={cls.web}", f"backends={cls.backend.address}", "",
                "[service dead]", f"listen={cls.dead}", f"backends={cls.refusing}", "",
                "[service empty]", f"listen={cls.empty}", "backends=", ""]))
        cls.lbd = lbdtest.Lbd(cls.bus, config=path)
        cls.lbd.start()
        cls.addClassCleanup(lbdtest.stop_clean, cls.lbd)
        for listen in (cls.web, cls.dead, cls.empty):
            port = int(listen.rsplit(":", 1)[1])
            lbdtest.wait_until(lambda: not lbdtest.port_is_free(port), 10,
                               what="lbd to listen", alive=cls.lbd.process)
        cls.send_traffic()
        cls.stats = cls.bus.busctl_json("call", BUS_NAME, ROOT, IFACE, "GetStatistics")["data"][0]

    @classmethod
    def send_traffic(cls):
        statuses = collections.Counter()
        for _ in range(4):
            conn = lbdtest.http_connection(cls.web)
            for _ in range(cls.N_KEEPALIVE // 4):
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                statuses[r.status] += 1
            conn.close()
        for _ in range(cls.N_BAD):
            out = lbdtest.raw_exchange(cls.web, b"NOT HTTP AT ALL\r\n\r\n")
            statuses[int(out.split()[1])] += 1
        cls.raw_in = cls.raw_out = 0
        request = b"GET /raw HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        for _ in range(cls.N_RAW):
            out = lbdtest.raw_exchange(cls.web, request)
            statuses[int(out.split()[1])] += 1
            cls.raw_in += len(request)
            cls.raw_out += len(out)
        for listen, n in ((cls.dead, cls.N_DEAD), (cls.empty, cls.N_EMPTY)):
            for _ in range(n):
                statuses[lbdtest.http_request(listen)[0]] += 1
        cls.statuses = statuses

    def get_statistics(self):
        return self.bus.busctl_json("call", BUS_NAME, ROOT, IFACE, "GetStatistics")["data"][0]

    def test_1_traffic_was_as_planned(self):
        self.assertEqual(self.statuses, {200: self.N_KEEPALIVE + self.N_RAW, 400: self.N_BAD,
                                         502: self.N_DEAD + self.N_EMPTY})

    def test_get_statistics_matches_the_traffic(self):
        stats = self.stats  # right after the traffic, before the other tests' own
        b = traffic(stats, "web", self.backend.address)
        web = traffic(stats, "web")
        ok = self.N_KEEPALIVE + self.N_RAW
        self.assertEqual(b["Responses2xx"], ok)
        self.assertEqual(b["Responses4xx"], 0)
        # lbd's own 400s are the service's, not the backend's.
        self.assertEqual(web["Responses2xx"], ok)
        self.assertEqual(web["Responses4xx"], self.N_BAD)
        self.assertEqual(sum(b[f"Responses{c}xx"] for c in range(1, 6)) + b["ResponsesOther"], ok)
        # Each request either reused a pooled connection or made one.
        self.assertEqual(b["Requests"], ok)
        self.assertEqual(b["Reuses"] + b["ConnectAttempts"], ok)
        self.assertGreater(b["Reuses"], 0)
        self.assertEqual((b["ConnectionErrors"], b["ResponseErrors"], b["Failures"],
                          b["Retries"], b["ClientAborts"], b["ServerAborts"]), (0,) * 6)
        self.assertGreaterEqual(b["ActiveConnectionsMax"], 1)
        for h in ("ConnectTime", "FirstByteTime", "TotalTime"):
            p = [b[f"{h}P{q}Us"] for q in ("50", "90", "99", "999")]
            self.assertGreater(p[0], 0, h)
            self.assertEqual(p, sorted(p), h)
        self.assertLess(b["TotalTimeP50Us"], 5_000_000)
        # The service sums its backend and its own answers.
        self.assertGreater(web["BytesOut"], b["BytesOut"])  # the 400s' bytes
        dead_b = traffic(stats, "dead", self.refusing)
        self.assertEqual((dead_b["Responses5xx"], dead_b["ConnectAttempts"],
                          dead_b["ConnectionErrors"], dead_b["Failures"]),
                         (self.N_DEAD,) * 4)
        empty = traffic(stats, "empty")
        self.assertEqual((empty["Responses5xx"], empty["ConnectAttempts"]), (self.N_EMPTY, 0))

    def test_statistics_properties_are_get_statistics(self):
        # With no traffic in between, each object's Statistics property has
        # exactly the keys and values GetStatistics gives it. (A backend
        # that is down has a clock running in DownTimeMs, and may come up
        # between two reads: for "dead" the keys and its fixed counters.)
        stats = self.get_statistics()
        for service, backend in (("web", self.backend.address), ("dead", self.refusing)):
            want = {k: v for k, v in stats["Services"]["data"][service].items()
                    if k != "Backends"}
            got = self.bus.get_property(lbdtest.service_path(service), SERVICE_IFACE,
                                        "Statistics")
            self.assertEqual(got, want, service)
            want_b = stats["Services"]["data"][service]["Backends"]["data"][backend]
            got_b = self.bus.get_property(lbdtest.backend_path(service, backend),
                                          BACKEND_IFACE, "Statistics")
            if service == "web":
                self.assertEqual(got_b, want_b, backend)
            else:
                self.assertEqual(set(got_b), set(want_b), backend)
                for k in ("ConnectAttempts", "ConnectionErrors", "Responses5xx", "Failures"):
                    self.assertEqual(got_b[k], want_b[k], k)
                self.assertEqual(got_b["ConnectAttempts"]["data"], self.N_DEAD)

    def test_bytes_are_counted_to_the_byte(self):
        before = traffic(self.get_statistics(), "web", self.backend.address)
        request = b"GET /bytes HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        sent = received = 0
        for _ in range(3):
            out = lbdtest.raw_exchange(self.web, request)
            sent += len(request)
            received += len(out)
        after = traffic(self.get_statistics(), "web", self.backend.address)
        self.assertEqual(after["BytesIn"] - before["BytesIn"], sent)
        self.assertEqual(after["BytesOut"] - before["BytesOut"], received)
        self.assertEqual(after["Responses2xx"] - before["Responses2xx"], 3)

    def test_lbclient_shows_percentiles(self):
        env = self.bus.env()
        r = subprocess.run([lbdtest.lbclient_path(), "-o", "json", "stats"], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        web = next(s for s in doc["services"] if s["name"] == "web")
        b = next(x for x in web["backends"] if x["address"] == self.backend.address)
        self.assertGreater(b["total_time_p99_us"], 0)
        self.assertGreaterEqual(b["responses2xx"], self.N_KEEPALIVE + self.N_RAW)
        r = subprocess.run([lbdtest.lbclient_path(), "-t", "-f", "address,p50_us,p99_us",
                            "stats"], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        # -t: fields split by ':', a ':' in a value escaped
        rows = [[f.replace("\\:", ":") for f in re.split(r"(?<!\\):", line)]
                for line in r.stdout.splitlines()]
        row = next(r for r in rows if r[0] == self.backend.address)
        self.assertGreater(int(row[1]), 0)
        self.assertGreaterEqual(int(row[2]), int(row[1]))

    def test_statsd_adds_up_to_the_traffic(self):
        total = sum(self.statuses.values())
        web_total = self.N_KEEPALIVE + self.N_BAD + self.N_RAW
        backend = "lbd.backend.web." + re.sub(r"[^A-Za-z0-9_-]", "_", self.backend.address)

        def arrived():
            c, g, s, _ = parse_statsd(self.statsd.snapshot())
            return c["lbd.requests"] >= total and s["lbd.service.web.request.duration"] >= \
                web_total and "lbd.workers" in g
        lbdtest.wait_until(arrived, 15, what="StatsD to send the traffic",
                           alive=self.lbd.process)
        time.sleep(2.5)  # two more sends: nothing is counted twice
        counters, gauges, samples, tags = parse_statsd(self.statsd.snapshot())
        # test_bytes_are_counted_to_the_byte may have run first: 3 more.
        extra = counters["lbd.requests"] - total
        self.assertIn(extra, (0, 3))
        self.assertEqual(counters["lbd.request.status.200"],
                         self.N_KEEPALIVE + self.N_RAW + extra)
        self.assertEqual(counters["lbd.request.status.400"], self.N_BAD)
        self.assertEqual(counters["lbd.request.status.502"], self.N_DEAD + self.N_EMPTY)
        self.assertEqual(samples["lbd.request.duration"], total + extra)
        self.assertEqual(counters["lbd.service.web.requests"], web_total + extra)
        self.assertEqual(samples["lbd.service.web.request.duration"], web_total + extra)
        self.assertEqual(counters["lbd.service.web.request.status.400"], self.N_BAD)
        self.assertEqual(counters[backend + ".requests"], self.N_KEEPALIVE + self.N_RAW + extra)
        self.assertEqual(counters["lbd.service.dead.errors"], self.N_DEAD)
        self.assertEqual(counters["lbd.service.empty.request.status.502"], self.N_EMPTY)
        self.assertEqual(gauges["lbd.workers"], 2)
        self.assertEqual(gauges[backend + ".active_connections"], 0)
        self.assertEqual(tags, {TAGS})
        stats = self.get_statistics()
        self.assertEqual(stats["StatsdSendErrors"]["data"], 0)


class StatsdAway(unittest.TestCase):
    """statsd-host names a port where nothing listens."""

    def test_failures_are_counted_and_logged_once(self):
        bus = lbdtest.PrivateSystemBus().start()
        self.addCleanup(bus.stop)
        backend = lbdtest.nginx_backend().start()
        self.addCleanup(backend.stop)
        tmp = lbdtest.TempDir("lbd-statsd-away-")
        self.addCleanup(tmp.cleanup)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        away = "127.0.0.1:%d" % s.getsockname()[1]
        s.close()  # nothing listens there now: ICMP port unreachable
        listen = f"127.0.0.1:{lbdtest.free_port()}"
        path = tmp.join("lbd.conf")
        with open(path, "w") as f:
            f.write("\n".join([
                "[daemon]", "workers=1", "user=nobody", "access-log=off",
                f"statsd-host={away}", "statsd-interval=1", "",
                "[service web]", f"listen={listen}", f"backends={backend.address}", ""]))
        lbd = lbdtest.Lbd(bus, config=path)
        lbd.start()
        self.addCleanup(lbdtest.stop_clean, lbd)
        port = int(listen.rsplit(":", 1)[1])
        lbdtest.wait_until(lambda: not lbdtest.port_is_free(port), 10, what="lbd to listen",
                           alive=lbd.process)

        def errors():
            stats = bus.busctl_json("call", BUS_NAME, ROOT, IFACE, "GetStatistics")["data"][0]
            return stats["StatsdSendErrors"]["data"]
        for _ in range(3):
            self.assertEqual(lbdtest.http_request(listen)[0], 200)
        lbdtest.wait_until(lambda: errors() >= 2, 15, what="two failed StatsD sends",
                           alive=lbd.process)
        self.assertEqual(lbdtest.http_request(listen)[0], 200)
        lines = [line for line in lbd.log_text().splitlines() if "statsd: cannot send" in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(away, lines[0])
        self.assertIn("Connection refused", lines[0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
