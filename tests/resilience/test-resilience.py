#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Faults under load: wrk drives lbd (event workers) in front of real
Gunicorn backends while a fault is injected, and every scenario prints
what wrk sent and what failed, then asserts the exact numbers:

  backend-killed      a backend's Gunicorn SIGKILLed (its whole process
                      group) and started again: 0 non-2xx, and failed exactly
                      the responses it had begun (its ServerAborts: they
                      cannot be sent again; usually 0); what had not begun
                      is retried on another backend
  reload              three HUPs, each a new generation: 0 and 0
  ttin-ttou           a worker taken away and one added: 0 and 0
  dbus-changes        AddBackend, SetWeight, SetPolicy, Drain and
                      RemoveBackend, SetWorkers, SetWorkerModel over D-Bus:
                      0 and 0
  worker-killed       a worker SIGKILLed: at most the connections it held
                      fail (read from GetStatistics just before), 0 non-2xx,
                      and a new worker within a second
  state-dir-full      the state directory on a full tmpfs: a change over
                      D-Bus is refused saying why and changes nothing;
                      traffic 0 and 0
  polkitd-stopped     polkitd gone: an unprivileged change is refused saying
                      polkit is not there, root's goes through, 0 and 0
  polkitd-frozen      polkitd SIGSTOPped: an unprivileged change is refused
                      after 5 s saying polkit did not answer, root's goes
                      through meanwhile, 0 and 0
  slow-clients        1,000 clients trickling their request heads while wrk
                      runs (event model): 0 and 0 for wrk, none of the slow
                      ones closed; wrk's p99 with and without them printed

Each wrk run lasts LBD_RESILIENCE_SECONDS (default 4; `--long` sets 30 for
a run by hand), 20 keep-alive connections, a 10 s timeout (a slow answer on
a loaded 2-core machine is not a lost one).

Not here yet: NetworkManager stopped (test-links stops it mid-test), 10,000
connections at once (test-storm accepts them, without faults). The p99 under
slow clients is printed, not asserted (a timing; the benchmark's business).
"""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import lbdtest  # noqa: E402

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
BACKEND_IFACE = IFACE + ".Backend"
NOBODY = lbdtest.NOBODY

if "--long" in sys.argv:
    sys.argv.remove("--long")
    os.environ["LBD_RESILIENCE_SECONDS"] = "30"
SECONDS = int(os.environ.get("LBD_RESILIENCE_SECONDS", "4"))


def report(scenario, requests, socket_errors, non2xx, note=""):
    print(f"resilience: {scenario}: {requests} requests, {socket_errors} failed (socket "
          f"errors), {non2xx} non-2xx{'; ' + note if note else ''}", file=sys.stderr)


def p99_ms(out):
    """wrk --latency's 99th percentile, in milliseconds."""
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not m:
        raise lbdtest.FixtureError(f"no 99% line in wrk's report:\n{out}")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


class Load:
    """wrk against url for SECONDS; fault() runs one second in."""

    def __init__(self, test, url):
        self.test = test
        self.url = url

    def run(self, fault):
        wrk = subprocess.Popen(["wrk", "-t2", "-c20", f"-d{SECONDS}s", "--timeout", "10s",
                                "--latency", self.url], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        self.test.addCleanup(lambda: wrk.poll() is None and wrk.kill())
        result = None
        try:
            time.sleep(1.0)
            result = fault()
        finally:
            out, _ = wrk.communicate(timeout=SECONDS + 30)
        requests, socket_errors, non2xx = lbdtest.wrk_totals(out)
        # Enough load that a fault meets requests in flight.
        self.test.assertGreater(requests, 100 * SECONDS, out)
        self.last_report = out
        return requests, socket_errors, non2xx, result, p99_ms(out)


class Resilience(unittest.TestCase):
    """One lbd with three Gunicorn backends (and a fourth kept aside) per
    test."""

    POLKITD = False

    def setUp(self):
        self.tmp = lbdtest.TempDir("lbd-resilience-")
        self.addCleanup(self.tmp.cleanup)
        policies = [lbdtest.BUS_POLICY] + ([lbdtest.POLKIT_BUS_POLICY] if self.POLKITD else [])
        self.bus = lbdtest.PrivateSystemBus(policies).start()
        self.addCleanup(self.bus.stop)
        self.polkitd = None
        if self.POLKITD:
            why = lbdtest.Polkitd.unavailable()
            if why:
                self.skipTest(why)
            self.polkitd = lbdtest.Polkitd(self.bus).start()
            self.addCleanup(self.polkitd.stop)
        self.backends = lbdtest.GunicornBackends(4, workers=2).start()
        self.addCleanup(self.backends.stop)
        self.port = lbdtest.free_port()
        self.config = self.tmp.join("lbd.conf")
        with open(self.config, "w") as f:
            f.write("[daemon]\nworkers=2\nworker-model=event\ngraceful-timeout=10\n"
                    "access-log=off\n\n[service web]\n"
                    f"listen=127.0.0.1:{self.port}\n"
                    "backends=" + ";".join(self.backends.addresses[:3]) + "\n")

    def start_lbd(self, args=()):
        self.lbd = lbdtest.Lbd(self.bus, config=self.config, args=list(args),
                               log_level="info").start()
        self.addCleanup(lbdtest.stop_clean, self.lbd)
        lbdtest.wait_until(lambda: len(lbdtest.worker_pids(self.lbd.pid)) == 2, 10,
                           what="two workers", alive=self.lbd.process)
        self.load = Load(self, f"http://127.0.0.1:{self.port}/")
        return self.lbd

    def root_call(self, path, iface, method, sig="", *args):
        return self.bus.call(path, iface, method, sig, *args)

    def backend(self, i):
        return lbdtest.backend_path("web", self.backends.addresses[i])

    def server_aborts(self, address):
        """GetStatistics' ServerAborts of a backend of service web."""
        stats = json.loads(lbdtest.lbclient(self.bus, "-o", "json", "stats").stdout)
        web = next(s for s in stats["services"] if s["name"] == "web")
        return next(b["server_aborts"] for b in web["backends"] if b["address"] == address)

    def assert_nothing_lost(self, scenario, totals, note=""):
        requests, socket_errors, non2xx = totals[:3]
        report(scenario, requests, socket_errors, non2xx, note)
        if (socket_errors, non2xx) != (0, 0):
            print(f"--- wrk ---\n{self.load.last_report}\n--- lbd log ---\n"
                  f"{self.lbd.log_tail(80)}", file=sys.stderr)
        self.assertEqual((socket_errors, non2xx), (0, 0), f"{scenario}: {totals[:3]}")


class Faults(Resilience):
    def test_backend_killed_and_restarted(self):
        self.start_lbd()
        victim = self.backends.processes[0]

        def kill_and_restart():
            victim.stop(sig=signal.SIGKILL)  # and its workers (its session)
            time.sleep(1.5)
            victim.start()
            lbdtest.wait_until(lambda: lbdtest.GunicornBackends._answers(
                self.backends.addresses[0], "b1"), 15, what="b1 back")

        totals = self.load.run(kill_and_restart)
        # A response the backend had begun cannot be sent again: lbd counts
        # those (ServerAborts) and closes the client's connection, as nginx
        # and HAProxy do; every other request in flight on b1 is retried.
        cut = self.server_aborts(self.backends.addresses[0])
        requests, socket_errors, non2xx = totals[:3]
        report("backend-killed", requests, socket_errors, non2xx,
               f"b1 SIGKILLed, back 1.5 s later; {cut} responses b1 had begun (ServerAborts)")
        if (socket_errors, non2xx) != (cut, 0):
            print(f"--- wrk ---\n{self.load.last_report}\n--- lbd log ---\n"
                  f"{self.lbd.log_tail(80)}", file=sys.stderr)
        self.assertEqual((socket_errors, non2xx), (cut, 0))

    def test_reload(self):
        self.start_lbd()
        before = set(lbdtest.worker_pids(self.lbd.pid))

        def three_hups():
            for _ in range(3):
                os.kill(self.lbd.pid, signal.SIGHUP)
                time.sleep(0.8)

        totals = self.load.run(three_hups)
        self.assert_nothing_lost("reload", totals, "three HUPs")
        lbdtest.wait_until(lambda: len(lbdtest.worker_pids(self.lbd.pid)) == 2, 15,
                           what="the old generations gone")
        self.assertFalse(before & set(lbdtest.worker_pids(self.lbd.pid)))

    def test_ttin_ttou(self):
        self.start_lbd()

        def shrink_and_grow():
            os.kill(self.lbd.pid, signal.SIGTTOU)
            lbdtest.wait_until(lambda: len(lbdtest.worker_pids(self.lbd.pid)) == 1, 15,
                               what="one worker left")
            os.kill(self.lbd.pid, signal.SIGTTIN)
            lbdtest.wait_until(lambda: len(lbdtest.worker_pids(self.lbd.pid)) == 2, 10,
                               what="two workers again")

        totals = self.load.run(shrink_and_grow)
        self.assert_nothing_lost("ttin-ttou", totals, "TTOU, then TTIN")

    def test_dbus_changes(self):
        self.start_lbd()
        extra = self.backends.addresses[3]

        def changes():
            self.root_call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", extra, 1,
                           "Weight", "u", 3)
            time.sleep(0.2)
            self.root_call(self.backend(0), BACKEND_IFACE, "SetWeight", "u", 5)
            self.root_call(ROOT, IFACE, "SetPolicy", "ss", "web", "least_conn")
            time.sleep(0.2)
            self.root_call(self.backend(1), BACKEND_IFACE, "Drain")
            time.sleep(0.3)
            self.root_call(ROOT, IFACE, "RemoveBackend", "ss", "web",
                           self.backends.addresses[1])
            self.root_call(ROOT, IFACE, "SetWorkers", "u", 3)
            time.sleep(0.3)
            self.root_call(ROOT, IFACE, "SetWorkerModel", "sa{sv}", "thread", 0)

        totals = self.load.run(changes)
        self.assert_nothing_lost("dbus-changes", totals,
                                 "AddBackend, SetWeight, SetPolicy, Drain, RemoveBackend, "
                                 "SetWorkers 3, SetWorkerModel thread")
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "WorkerModel"), "thread")

    def test_worker_killed(self):
        self.start_lbd()

        def kill_one():
            stats = json.loads(lbdtest.lbclient(self.bus, "-o", "json", "stats").stdout)
            victim = stats["worker_processes"][0]
            os.kill(victim["pid"], signal.SIGKILL)
            killed_at = time.monotonic()
            lbdtest.wait_until(
                lambda: len(set(lbdtest.worker_pids(self.lbd.pid)) - {victim["pid"]}) == 2,
                5, what="a new worker")
            return victim["active_connections"], time.monotonic() - killed_at

        requests, socket_errors, non2xx, (held, replaced_in), _ = self.load.run(kill_one)
        report("worker-killed", requests, socket_errors, non2xx,
               f"the worker held {held} connections; replaced in {replaced_in:.2f} s")
        # A connection the dead worker held is lost with what was in flight
        # on it; wrk counts each as one read error at most.
        self.assertLessEqual(socket_errors, held)
        self.assertEqual(non2xx, 0)
        self.assertLess(replaced_in, 1.0)

    def test_state_dir_full(self):
        state = self.tmp.join("state")
        os.mkdir(state, 0o700)
        r = lbdtest.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "lbd-full",
                         state])
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {r.stderr.strip()}")
        self.addCleanup(lambda: lbdtest.run(["umount", "-l", state]))
        self.start_lbd(args=["--state-dir", state])
        # Fill it: whatever lbd writes next finds no space.
        fd = os.open(os.path.join(state, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"x" * 4096) > 0:
                pass
        except OSError:
            pass
        finally:
            os.close(fd)

        def refused_change():
            return lbdtest.run(["gdbus", "call", "--address", self.bus.address, "--dest",
                                lbdtest.BUS_NAME, "--object-path", self.backend(0), "--method",
                                BACKEND_IFACE + ".SetWeight", "uint32 7"])

        totals = self.load.run(refused_change)
        r = totals[3]
        self.assert_nothing_lost("state-dir-full", totals, "SetWeight refused: " +
                                 r.stderr.strip())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No space left on device", r.stderr)
        self.assertEqual(self.bus.get_property(self.backend(0), BACKEND_IFACE, "Weight"), 1)
        self.assertTrue(self.lbd.running())


class PolkitdStopped(Resilience):
    POLKITD = True

    def test_polkitd_stopped(self):
        self.start_lbd()

        def stop_polkitd():
            self.polkitd.stop()
            # gdbus prints the error's message (busctl only its name's).
            refused = lbdtest.run(NOBODY + ["gdbus", "call", "--address", self.bus.address,
                                            "--dest", lbdtest.BUS_NAME, "--object-path",
                                            self.backend(0), "--method",
                                            BACKEND_IFACE + ".SetWeight", "uint32 4"])
            self.root_call(self.backend(1), BACKEND_IFACE, "SetWeight", "u", 6)
            weights = [self.bus.get_property(self.backend(i), BACKEND_IFACE, "Weight")
                       for i in (0, 1)]
            return refused, weights

        totals = self.load.run(stop_polkitd)
        refused, weights = totals[3]
        self.assert_nothing_lost("polkitd-stopped", totals,
                                 "nobody refused: " + refused.stderr.strip())
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("polkit is not available", refused.stderr)
        self.assertEqual(weights, [1, 6])

    def test_polkitd_frozen(self):
        """polkitd stopped with SIGSTOP (alive, answering nothing): an
        unprivileged change is refused after lbd's 5 s wait, saying so,
        while root's changes, reads and traffic go on."""
        self.start_lbd()
        group = self.polkitd.process.pid  # its own session: unshare, polkitd

        def thaw():
            try:
                os.killpg(group, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.addCleanup(thaw)

        def freeze_polkitd():
            os.killpg(group, signal.SIGSTOP)
            started = time.monotonic()
            refused = subprocess.Popen(
                NOBODY + ["gdbus", "call", "--address", self.bus.address, "--dest",
                          lbdtest.BUS_NAME, "--object-path", self.backend(0), "--method",
                          BACKEND_IFACE + ".SetWeight", "uint32 4"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda: refused.poll() is None and refused.kill())
            self.root_call(self.backend(1), BACKEND_IFACE, "SetWeight", "u", 6)
            out, err = refused.communicate(timeout=30)
            waited = time.monotonic() - started
            thaw()
            return refused.returncode, err, waited

        totals = self.load.run(freeze_polkitd)
        returncode, err, waited = totals[3]
        self.assert_nothing_lost("polkitd-frozen", totals,
                                 f"nobody refused after {waited:.1f} s: {err.strip()}")
        self.assertNotEqual(returncode, 0)
        self.assertIn("polkit did not answer within 5 s", err)
        self.assertEqual([self.bus.get_property(self.backend(i), BACKEND_IFACE, "Weight")
                          for i in (0, 1)], [1, 6])


class SlowClients(Resilience):
    """1,000 clients that send their request head a byte at a time (what
    slowloris does) next to wrk's normal ones, on the event model."""

    SLOW = 1000

    def open_slow_clients(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard < self.SLOW + 100:
            self.skipTest(f"the fd limit ({hard}) is below {self.SLOW + 100}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        clients = []
        for _ in range(self.SLOW):
            c = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            clients.append(c)
        self.addCleanup(lambda: [c.close() for c in clients])
        return clients

    @staticmethod
    def trickle(clients, stop):
        """One more header byte per client every half second."""
        while not stop.wait(0.5):
            for c in clients:
                try:
                    c.send(b"X")
                except OSError:
                    pass

    def test_slow_clients(self):
        self.start_lbd()
        calm = self.load.run(lambda: None)
        clients = self.open_slow_clients()
        stop = threading.Event()
        t = threading.Thread(target=self.trickle, args=(clients, stop))
        t.start()
        try:
            loaded = self.load.run(lambda: None)
        finally:
            stop.set()
            t.join()
        # None of the slow ones was closed by lbd (the head timeout is 60 s).
        closed = 0
        for c in clients:
            c.setblocking(False)
            try:
                closed += c.recv(1) == b""
            except BlockingIOError:
                pass
        ratio = loaded[4] / calm[4] if calm[4] else float("inf")
        self.assert_nothing_lost("slow-clients", loaded,
                                 f"{self.SLOW} slow clients open, {closed} closed; wrk p99 "
                                 f"{loaded[4]:.2f} ms with them, {calm[4]:.2f} ms without "
                                 f"({ratio:.2f}x; the issue's target is 2x, measured, not "
                                 "asserted)")
        self.assertEqual(calm[1:3], (0, 0))
        self.assertEqual(closed, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
