#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Balancing end to end: the shared backend table, the policies, passive and
active health, backups and draining, with real Gunicorn backends and wrk.

One lbd (3 event workers, http mode) in front of real gunicorn backends
serving app.py; each answer names its backend (X-Backend), which is what the
tests count. One service per question, so the questions do not disturb each
other; the tests run in the order of their names, and the ones that kill
backends come last.

  0. the active checks themselves: one http check per interval for the
     daemon (3 workers), with Host, Connection: close and User-Agent:
     lbd-health-check; a unix-socket backend passes, a missing socket and a
     503 outside expect= fail, each logged once with its reason.
  1. round_robin weights 5,1,1 over 700 sequential requests on fresh
     connections (any of the 3 workers): exactly 500/100/100 — one sequence
     for the daemon, not one per worker.
  2. one backend 10x slower (50 ms against 5 ms): under least_conn its share
     of wrk's requests is well below its share under round_robin (which is
     a third, by count).
  3. Drain() over D-Bus while a slow request is in flight on that backend:
     the request completes with 200; new requests go to the other backend.
  4. one backend killed (SIGKILL) under wrk: the only failed requests are
     those the kill cut in the middle of a response, exactly as many as lbd
     logged: a 502 for each head cut short (part of the answer came, so it
     is not retried), a closed client connection (wrk: a read error) for
     each body cut short; a response the backend completed before it died
     is no failure at all;
     it is down at once by the passive check (max-fails=1) and, where passive
     health is off (max-fails=0), within fall * interval by the active http
     check; after it is started again it takes traffic again (the passive
     hold expires, the active check sees rise successes).
  5. a backup backend serves only while all primaries are down, and stops
     when one is back.

Exits 77 (skipped) when wrk or gunicorn are missing or the policy plugins are
placeholders. Prints what it measured (shares, times to mark down).
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

BACKEND_IFACE = "org.example.LoadBalancer.Backend"

# Counts answers per X-Backend in every wrk thread; done() prints the sums.
WRK_COUNT_SCRIPT = r"""
counts = {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  local name = "lbd-" .. status  -- an answer of lbd's own (502, 504)
  for k, v in pairs(headers) do
    if string.lower(k) == "x-backend" then name = v end
  end
  counts[name] = (counts[name] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("backend-count %s %d\n", k, v)) end
end
"""

FAST_MS = 5
SLOW_MS = 50
ACTIVE = {"interval": 1, "rise": 2, "fall": 2, "timeout": 1}


def parse_wrk(out):
    """wrk's totals, and the answers per X-Backend that the Lua script printed."""
    requests, socket_errors, non2xx = lbdtest.wrk_totals(out)
    counts = {k: int(v) for k, v in re.findall(r"^backend-count (\S+) (\d+)$", out, re.M)}
    return requests, socket_errors, non2xx, counts


def skip_reason():
    for tool in ("wrk", lbdtest.GUNICORN):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if not os.access(lbdtest.lbd_path(), os.X_OK):
        return f"lbd is not built: {lbdtest.lbd_path()}"
    # lbd -t warns about a placeholder policy.
    tmp = lbdtest.TempDir("lbd-balancing-check-")
    try:
        conf = tmp.join("check.conf")
        with open(conf, "w") as f:
            f.write("[service a]\nlisten=127.0.0.1:1\npolicy=least_conn\nbackends=127.0.0.1:2\n"
                    "[service b]\nlisten=127.0.0.1:3\npolicy=round_robin\n"
                    "backends=127.0.0.1:2\n")
        r = lbdtest.run([lbdtest.lbd_path(), "--check-config", "--config", conf,
                         "--config-dir", tmp.join("none")] + lbdtest.plugin_args())
    finally:
        tmp.cleanup()
    if re.search(r"plugin '?(least_conn|round_robin)\b.*placeholder", r.stdout + r.stderr):
        return "the policy plugins are placeholders (not built yet)"
    return None


class Balancing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = lbdtest.TempDir("lbd-balancing-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        # b1..b3: general backends; a1, a2 (5 ms) and slow (50 ms) for the
        # policy comparison, then a1, a2 are the backup test's primaries.
        names = ["b1", "b2", "b3", "a1", "a2", "slow"]
        cls.tcp = cls.backends(len(names), names=names, threads=16, envs={
            "a1": {"LBD_BACKEND_DELAY_MS": str(FAST_MS)},
            "a2": {"LBD_BACKEND_DELAY_MS": str(FAST_MS)},
            "slow": {"LBD_BACKEND_DELAY_MS": str(SLOW_MS)}})
        cls.unix = cls.backends(1, names=["u1"], unix=True)
        cls.addr = {"missing": "unix:" + cls.tmp.join("missing.sock")}
        for group in (cls.tcp, cls.unix):
            cls.addr.update(zip(group.names, group.addresses))
        a = cls.addr
        cls.ports = {name: lbdtest.free_port() for name in
                     ("hc", "ux", "st", "w", "rr", "lc", "dr", "pas", "act", "bk")}
        p = cls.ports
        hc = " ".join(f"{k}={v}" for k, v in ACTIVE.items())
        text = "\n".join([
            "[daemon]", "workers=3", "worker-model=event", "user=nobody",
            # No access log: the tests read lbd's log while wrk runs.
            "graceful-timeout=5", "access-log=off", "",
            "[service hc]", f"listen=127.0.0.1:{p['hc']}", f"backends={a['b2']}",
            "health-check=http /counted interval=1", "",
            "[service ux]", f"listen=127.0.0.1:{p['ux']}",
            f"backends={a['u1']} max-fails=0;{a['missing']} max-fails=0",
            "health-check=http /status/200 interval=1 rise=1 fall=1", "",
            "[service st]", f"listen=127.0.0.1:{p['st']}", f"backends={a['b1']}",
            "health-check=http /status/503 interval=1 fall=1", "",
            "[service w]", f"listen=127.0.0.1:{p['w']}", "policy=round_robin",
            f"backends={a['b1']} weight=5;{a['b2']};{a['b3']}", "",
            "[service rr]", f"listen=127.0.0.1:{p['rr']}", "policy=round_robin",
            f"backends={a['a1']};{a['a2']};{a['slow']}", "",
            "[service lc]", f"listen=127.0.0.1:{p['lc']}", "policy=least_conn",
            f"backends={a['a1']};{a['a2']};{a['slow']}", "",
            "[service dr]", f"listen=127.0.0.1:{p['dr']}", "policy=round_robin",
            f"backends={a['b1']};{a['b2']}", "",
            "[service pas]", f"listen=127.0.0.1:{p['pas']}", "policy=round_robin",
            ";".join(["backends=" + f"{a['b1']} max-fails=1 fail-timeout=2",
                      f"{a['b2']} max-fails=1 fail-timeout=2",
                      f"{a['b3']} max-fails=1 fail-timeout=2"]), "",
            "[service act]", f"listen=127.0.0.1:{p['act']}", "policy=round_robin",
            f"backends={a['b1']} max-fails=0;{a['b2']} max-fails=0;{a['b3']} max-fails=0",
            f"health-check=http /status/200 {hc}", "",
            "[service bk]", f"listen=127.0.0.1:{p['bk']}", "policy=round_robin",
            ";".join(["backends=" + f"{a['a1']} max-fails=1 fail-timeout=1",
                      f"{a['a2']} max-fails=1 fail-timeout=1",
                      f"{a['b1']} backup"]), ""])
        cls.config = cls.tmp.join("lbd.conf")
        with open(cls.config, "w") as f:
            f.write(text)
        cls.lbd = lbdtest.Lbd(cls.bus, config=cls.config, log_level="info").start()
        cls.addClassCleanup(lbdtest.stop_clean, cls.lbd)
        for port in p.values():
            lbdtest.wait_until(lambda port=port: not lbdtest.port_is_free(port), 10,
                               what="lbd to listen", alive=cls.lbd.process)
        cls.t0 = time.monotonic()

    @classmethod
    def backends(cls, count, names, threads=8, **kw):
        b = lbdtest.GunicornBackends(count, names=names, threads=threads, **kw).start()
        cls.addClassCleanup(b.stop)
        return b

    def restart_backend(self, name, env=None):
        port = int(self.addr[name].rsplit(":", 1)[1])
        return self.backends(1, names=[name], env=env, ports=[port])

    # ---- helpers -------------------------------------------------------------------

    def get(self, service, path="/", timeout=10.0):
        status, headers, body = lbdtest.http_request(f"127.0.0.1:{self.ports[service]}", path,
                                                     timeout=timeout)
        return status, headers.get("X-Backend")

    def count(self, service, n):
        counts = {}
        for _ in range(n):
            status, name = self.get(service)
            self.assertEqual(status, 200, f"{service}: {name}")
            counts[name] = counts.get(name, 0) + 1
        return counts

    def wrk(self, service, seconds, connections=12, threads=2):
        script = self.tmp.join("count.lua")
        with open(script, "w") as f:
            f.write(WRK_COUNT_SCRIPT)
        proc = subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
             "-s", script, f"http://127.0.0.1:{self.ports[service]}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def finish_wrk(self, proc, seconds):
        out, _ = proc.communicate(timeout=seconds + 30)
        return out

    def state(self, service, name):
        return self.bus.get_property(lbdtest.backend_path(service, self.addr[name]),
                                     BACKEND_IFACE, "State")

    def log_has(self, pattern):
        return re.search(pattern, self.lbd.log_text(), re.M) is not None

    def kill_backend(self, group, name):
        """SIGKILL a gunicorn and its workers at once: a crash, not a
        shutdown (a worker left alive would notice its master's death,
        close its listener and go on serving its keep-alive connections for
        a while). Each gunicorn runs in a session of its own, so its process
        group is exactly it and its workers."""
        proc = group.processes[group.names.index(name)]
        os.killpg(proc.pid, signal.SIGKILL)
        lbdtest.wait_until(lambda: lbdtest.port_is_free(int(self.addr[name].rsplit(":")[1])),
                           5, what=f"{name} to be gone")

    # ---- 0. the active checks themselves --------------------------------------------

    def test_0_health_checks(self):
        b2 = self.addr["b2"]

        def counted():
            status, _, body = lbdtest.http_request(b2, "/count")
            self.assertEqual(status, 200)
            return json.loads(body)

        first = counted()
        time.sleep(3.0)
        last = counted()
        checks = last["count"] - first["count"]
        print(f"\nhealth checks of b2 in 3.0 s at interval=1 with 3 workers: {checks}",
              file=sys.stderr)
        # One per interval for the daemon, not one per worker (that were 9).
        self.assertIn(checks, range(2, 5))
        h = last["headers"]
        self.assertEqual((h.get("User-Agent"), h.get("Connection"), h.get("Host")),
                         ("lbd-health-check", "close", b2))
        self.assertEqual(self.state("hc", "b2"), "up")
        # A unix socket: the live one stays up, a missing one goes down
        # with the reason; a status outside expect= is a failure too.
        missing = self.addr["missing"]
        lbdtest.wait_until(
            lambda: self.log_has(rf"ux: backend {re.escape(missing)} is down: health check: "
                                 r"no such file or directory$"), 5, what="missing.sock down")
        lbdtest.wait_until(
            lambda: self.log_has(rf"st: backend {re.escape(self.addr['b1'])} is down: "
                                 r"health check: HTTP 503, expected 200-399$"), 5,
            what="st: b1 down by HTTP 503")
        self.assertEqual(self.state("ux", "u1"), "up")
        self.assertFalse(self.log_has(r"(hc|ux): backend \S+ is down: .*(HTTP|connected|"
                                      r"refused)"))
        self.assertEqual(self.count("ux", 10), {"u1": 10})

    # ---- 1. one round_robin sequence for the daemon -----------------------------------

    def test_1_weights_exact_across_workers(self):
        counts = self.count("w", 700)
        print(f"\nround_robin 5,1,1 over 700 requests on 3 workers: {counts}", file=sys.stderr)
        self.assertEqual(counts, {"b1": 500, "b2": 100, "b3": 100})

    # ---- 2. least_conn sees the slow backend's open connections -----------------------

    def test_2_slow_backend_least_conn_vs_round_robin(self):
        shares = {}
        for service in ("rr", "lc"):
            proc = self.wrk(service, 3)
            out = self.finish_wrk(proc, 3)
            requests, socket_errors, non2xx, counts = parse_wrk(out)
            self.assertEqual(socket_errors, 0, out)
            self.assertEqual(non2xx, 0, out)
            self.assertGreater(requests, 100, out)
            total = sum(counts.values())
            self.assertEqual(set(counts), {"a1", "a2", "slow"}, out)
            shares[service] = counts["slow"] / total
            print(f"\n{service}: {requests} requests, per backend {counts}, slow share "
                  f"{shares[service]:.3f}", file=sys.stderr)
        # round_robin goes by count: a third each, whatever the speed.
        self.assertAlmostEqual(shares["rr"], 1 / 3, delta=0.02)
        # least_conn: the slow backend holds its connections 10x longer, so
        # it gets far fewer (about 1/21 in theory: 1/50 against 2/5).
        self.assertLess(shares["lc"], shares["rr"] / 2.5)

    # ---- 3. draining ---------------------------------------------------------------------

    def test_3_drain_lets_open_requests_finish(self):
        results = []

        def slow_request():
            try:
                results.append(self.get("dr", "/slow?ms=2500", timeout=15))
            except (OSError, http.client.HTTPException) as e:
                results.append((None, repr(e)))

        threads = [threading.Thread(target=slow_request) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.2)  # in this order: the sequence gives b1, then b2
        try:
            # Both in flight (b1, b2 each hold one connection).
            time.sleep(0.5)
            self.bus.busctl("call", lbdtest.BUS_NAME, lbdtest.backend_path("dr", self.addr["b1"]),
                            BACKEND_IFACE, "Drain")
            self.assertEqual(self.state("dr", "b1"), "draining")
            during = self.count("dr", 20)
            self.assertEqual(during, {"b2": 20}, "new requests went to the draining backend")
        finally:
            for t in threads:
                t.join(20)
        print(f"\ndrain: slow requests in flight ended {results}; 20 new ones: {during}",
              file=sys.stderr)
        self.assertEqual(sorted(results), [(200, "b1"), (200, "b2")])

    # ---- 4. a backend killed under load ----------------------------------------------------

    def test_4_killed_backend(self):
        b3 = self.addr["b3"]
        # wrk runs until stopped (SIGINT: it prints its summary then).
        procs = {s: self.wrk(s, 60, connections=4, threads=1) for s in ("pas", "act")}

        def requests(service):
            return int(self.bus.get_property(lbdtest.service_path(service),
                                             "org.example.LoadBalancer.Service", "Requests"))

        # Measure from a kill under load: wrk's connections must be
        # accepted and busy first (lbd may take a moment to accept them).
        base = {s: requests(s) for s in procs}
        lbdtest.wait_until(lambda: all(requests(s) - base[s] > 300 for s in procs), 15,
                           what="wrk's requests flowing")
        time.sleep(0.5)
        killed = time.monotonic()
        self.kill_backend(self.tcp, "b3")
        marked = {}
        down = {"pas": rf"pas: backend {re.escape(b3)} is down",
                "act": rf"act: backend {re.escape(b3)} is down: health check"}

        def both_marked():
            for s, pattern in down.items():
                if s not in marked and self.log_has(pattern):
                    marked[s] = time.monotonic()
            return len(marked) == len(down)

        lbdtest.wait_until(both_marked, 8, interval=0.02,
                           what="b3 marked down by the passive and the active check")
        try:
            self.assertEqual(self.state("act", "b3"), "down")
            restarted = time.monotonic()  # gunicorn takes about a second
            self.restart_backend("b3")
            back = rf"act: backend {re.escape(b3)} is up: health check"
            lbdtest.wait_until(lambda: self.log_has(back),
                               ACTIVE["rise"] * ACTIVE["interval"] + 3,
                               what="the active check to bring b3 back")
            up_after = time.monotonic() - restarted
            time.sleep(1.0)  # b3 back under load
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            outs = {s: self.finish_wrk(p, 0) for s, p in procs.items()}
        log = self.lbd.log_text().splitlines()
        b3_lines = [line for line in log if b3 in line]
        why = "lbd's lines about b3:\n" + "\n".join(b3_lines)
        for s, out in outs.items():
            requests, socket_errors, non2xx, counts = parse_wrk(out)
            print(f"\n{s}: {requests} requests, per backend {counts}", file=sys.stderr)
            warnings = "\n".join(line for line in log if f"{s}:" in line and "warning" in line)
            # The requests a kill really loses, each one logged by lbd,
            # and no other: b3 killed while it was writing a response
            # head (part of the answer came, so the request is not
            # retried: only "before any byte of the response arrived"
            # is); lbd answers 502 and says why. wrk's non-2xx count must
            # be exactly that number.
            cut = sum(1 for line in log
                      if re.search(rf"{s}: answering 502: the backend (closed|reset) the "
                                   r"connection in the middle of the response head", line))
            self.assertEqual(non2xx, cut, f"{out}\n{s}'s warnings:\n{warnings}")
            # Likewise a kill in the middle of a response body: the client
            # has part of it, so lbd closes its connection (wrk: one read
            # error) and logs it. wrk's socket errors must be exactly that.
            truncated = sum(1 for line in log
                            if re.search(rf"{s}: the backend .* before the end of the "
                                         r"response", line))
            self.assertEqual(socket_errors, truncated, f"{out}\n{s}'s warnings:\n{warnings}")
            print(f"{s}: {cut} response head(s) and {truncated} body(ies) cut by the kill "
                  f"(each a 502 or a closed connection, as logged); no other failure",
                  file=sys.stderr)
            self.assertGreater(requests, 100, out)
        passive = marked["pas"] - killed
        active = marked["act"] - killed
        # Passive health: the first failed connect holds it down
        # (max-fails=1), so at most one failure per wrk connection comes
        # before the mark, and that at once.
        first_down = next(i for i, line in enumerate(b3_lines) if re.search(down["pas"], line))
        failed_before = sum(1 for line in b3_lines[:first_down]
                            if re.search(r"pas: cannot connect to \S+", line))
        print(f"\nb3 killed: down by the passive check after {passive:.2f} s "
              f"({failed_before} failed connect(s) first), by the active "
              f"check (fall={ACTIVE['fall']}, interval={ACTIVE['interval']} s) after "
              f"{active:.2f} s; up again {up_after:.2f} s after its restart began "
              f"(rise={ACTIVE['rise']})", file=sys.stderr)
        self.assertLessEqual(failed_before, 4, why)
        self.assertLess(passive, 1.0, why)
        self.assertLess(active, ACTIVE["fall"] * ACTIVE["interval"] + 1.5, why)
        self.assertGreater(active, (ACTIVE["fall"] - 1) * ACTIVE["interval"] - 0.1)
        # Both take traffic again (the passive hold of 2 s is over by now).
        lbdtest.wait_until(lambda: self.state("pas", "b3") == "up", 5, what="pas: b3 up")
        for s in ("pas", "act"):
            counts = self.count(s, 30)
            # A returning backend resumes its round_robin turn a pick or
            # two early or late.
            self.assertIn(counts.get("b3"), range(8, 13), f"{s}: {counts}")

    # ---- 5. backups -------------------------------------------------------------------------

    def test_5_backup_only_while_all_primaries_are_down(self):
        self.assertEqual(self.count("bk", 20), {"a1": 10, "a2": 10})
        self.kill_backend(self.tcp, "a1")
        counts = self.count("bk", 20)
        self.assertEqual(counts, {"a2": 20}, "a backup served while a primary was up")
        self.kill_backend(self.tcp, "a2")
        counts = self.count("bk", 20)
        self.assertEqual(counts, {"b1": 20})
        self.assertEqual(self.state("bk", "a2"), "down")
        # a1 back: once its passive hold (1 s) is over, it is picked and
        # the backup is left alone again.
        self.restart_backend("a1", env={"LBD_BACKEND_DELAY_MS": str(FAST_MS)})
        lbdtest.wait_until(lambda: self.get("bk")[1] == "a1", 10, what="a1 to serve again")
        counts = self.count("bk", 10)
        print(f"\nbackup: with a1 back (a2 still down): {counts}", file=sys.stderr)
        self.assertEqual(counts, {"a1": 10}, "the backup served with a primary up")


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print(f"skipped: {why}", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
