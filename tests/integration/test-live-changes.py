#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Changes over D-Bus reach the running workers, and clients hear of them.

With real Gunicorn backends, a private bus and lbd (event model, 2 workers):
- AddBackend: the next requests reach the new backend, served by the same
  worker processes (PIDs unchanged); RemoveBackend: no request reaches the
  removed one; SetWeight, Drain, Enable likewise without new workers;
- AddService: a new generation serves the new listener, and the service
  that was there goes on answering;
- signals: InterfacesAdded/InterfacesRemoved for services and backends that
  come and go, PropertiesChanged for configuration properties, and counter
  properties (Requests) signalled under traffic at most about twice a
  second per object;
- BackendStateChanged (and PropertiesChanged of State) when passive health
  marks a backend that stopped answering down;
- GetStatistics counts the requests per backend;
- a valid change that cannot be applied (a listen address another program
  holds) gets Failed, and nothing changes: objects, workers, state file.
"""
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

# The traffic keys of a service and a backend in GetStatistics (the XML).
TRAFFIC_KEYS = {k: "t" for k in (
    ["Responses1xx", "Responses2xx", "Responses3xx", "Responses4xx", "Responses5xx",
     "ResponsesOther", "BytesIn", "BytesOut", "ConnectAttempts", "ConnectionErrors",
     "ResponseErrors", "Retries", "Reuses", "ClientAborts", "ServerAborts"]
    + [f"{h}P{p}Us" for h in ("ConnectTime", "FirstByteTime", "TotalTime")
       for p in ("50", "90", "99", "999")])}

BUS_NAME = lbdtest.BUS_NAME
ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
BACKEND_IFACE = IFACE + ".Backend"
SERVICE_IFACE = IFACE + ".Service"


class LiveChanges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.backends = lbdtest.GunicornBackends(3).start()
        cls.addClassCleanup(cls.backends.stop)
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.listen = f"127.0.0.1:{lbdtest.free_port()}"
        cls.config = cls.tmp.join("lbd.conf")
        with open(cls.config, "w") as f:
            f.write("[daemon]\nworkers=2\nworker-model=event\ngraceful-timeout=2\n"
                    f"[service web]\nlisten={cls.listen}\n"
                    f"backends={cls.backends.addresses[0]}\n")
        cls.lbd = lbdtest.Lbd(cls.bus, config=cls.config).start()
        cls.addClassCleanup(cls._stop_lbd)

    @classmethod
    def _stop_lbd(cls):
        lbdtest.stop_clean(cls.lbd)

    # --- helpers ---------------------------------------------------------------------

    def call(self, path, iface, method, sig="", *args):
        argv = ["call", BUS_NAME, path, iface, method] + ([sig, *args] if sig else [])
        return self.bus.busctl(*argv)

    def worker_pids(self):
        return lbdtest.worker_pids(self.lbd.pid)

    def served_by(self, n, listen=None):
        names = []
        for _ in range(n):
            status, _, body = lbdtest.http_request(listen or self.listen, "/")
            self.assertEqual(status, 200, body)
            names.append(body.decode().strip().split()[-1])
        return names

    def slow_request(self, listen, ms=1500):
        """A request under way in a thread; returns a function giving its status."""
        result = {}

        def run():
            try:
                result["status"] = lbdtest.http_request(listen, f"/slow?ms={ms}", timeout=15)[0]
            except Exception as e:  # reported by the assertion below
                result["status"] = repr(e)
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)  # it reached the backend

        def status():
            t.join(20)
            return result.get("status")
        return status

    def monitor(self):
        p = subprocess.Popen(["gdbus", "monitor", "--address", self.bus.address, "--dest",
                              BUS_NAME], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, preexec_fn=lbdtest._set_pdeathsig)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        time.sleep(0.5)  # its match rule in place
        return p

    @staticmethod
    def monitor_output(p):
        p.terminate()
        return p.communicate(timeout=10)[0]

    # --- tests ------------------------------------------------------------------------

    def test_backend_changes_reach_running_workers(self):
        b1, b2, b3 = self.backends.addresses
        pids = self.worker_pids()
        self.assertEqual(set(self.served_by(6)), {"b1"})

        r = self.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", b2, "0")
        self.assertIn(lbdtest.backend_path("web", b2), r.stdout)
        # Without options it is what backends= makes of an address alone.
        for prop in ("Weight", "MaxFails", "FailTimeout", "MaxConns", "SlowStart", "Backup"):
            self.assertEqual(
                self.bus.get_property(lbdtest.backend_path("web", b2), BACKEND_IFACE, prop),
                self.bus.get_property(lbdtest.backend_path("web", b1), BACKEND_IFACE, prop), prop)
        self.assertEqual(set(self.served_by(10)), {"b1", "b2"})

        self.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", b3, "1", "Weight", "u", "3")
        names = self.served_by(50)
        self.assertEqual(set(names), {"b1", "b2", "b3"})
        self.assertGreater(names.count("b3"), names.count("b1"))  # weight 3 vs 1

        self.call(lbdtest.backend_path("web", b3), BACKEND_IFACE, "Drain")
        self.assertEqual(self.bus.get_property(lbdtest.backend_path("web", b3), BACKEND_IFACE,
                                               "State"), "draining")
        self.assertNotIn("b3", self.served_by(10))
        self.call(lbdtest.backend_path("web", b3), BACKEND_IFACE, "Enable")
        self.assertIn("b3", self.served_by(10))

        # A request under way on b1 finishes after b1's removal (it drains):
        # b2 and b3 drain while it starts, so that it goes to b1.
        for b in (b2, b3):
            self.call(lbdtest.backend_path("web", b), BACKEND_IFACE, "Drain")
        status = self.slow_request(self.listen)
        for b in (b2, b3):
            self.call(lbdtest.backend_path("web", b), BACKEND_IFACE, "Enable")
        self.call(ROOT, IFACE, "RemoveBackend", "ss", "web", b1)
        self.assertEqual(status(), 200)
        self.assertNotIn("b1", self.served_by(20))
        self.call(ROOT, IFACE, "RemoveBackend", "ss", "web", b3)
        self.assertEqual(set(self.served_by(6)), {"b2"})

        # The same processes served all of it.
        self.assertEqual(self.worker_pids(), pids)
        # Put the configuration back for the other tests.
        self.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", b1, "0")
        self.call(ROOT, IFACE, "RemoveBackend", "ss", "web", b2)

    def test_statistics_count_requests(self):
        b1 = self.backends.addresses[0]
        path = lbdtest.backend_path("web", b1)
        before = self.bus.get_property(path, BACKEND_IFACE, "Requests")
        self.served_by(5)
        stats = self.bus.busctl_json("call", BUS_NAME, ROOT, IFACE, "GetStatistics")["data"][0]
        # The keys the contract documents (GetStatistics in the XML).
        self.assertEqual(set(stats), {"Workers", "ActiveConnections", "AcceptedConnections",
                                      "Requests", "WorkerProcesses", "StatsdSendErrors",
                                      "Services"})
        self.assertEqual(stats["WorkerProcesses"]["type"], "a(iutt)")
        web = stats["Services"]["data"]["web"]
        self.assertEqual({k: v["type"] for k, v in web.items()},
                         {"ActiveConnections": "t", "Requests": "t", "Backends": "a{sa{sv}}",
                          **TRAFFIC_KEYS})
        backend = web["Backends"]["data"][b1]
        self.assertEqual({k: v["type"] for k, v in backend.items()},
                         {"State": "s", "Weight": "u", "ActiveConnections": "u",
                          "ActiveConnectionsMax": "u", "Requests": "t", "Failures": "t",
                          "LatencyUs": "u", "ActiveHealthDowns": "u",
                          "PassiveHealthDowns": "u", "DownTimeMs": "t", **TRAFFIC_KEYS})
        self.assertGreaterEqual(backend["Requests"]["data"], before + 5)
        self.assertEqual(backend["State"]["data"], "up")
        self.assertGreaterEqual(stats["Requests"]["data"], 5)
        self.assertEqual(self.bus.get_property(path, BACKEND_IFACE, "Requests"),
                         backend["Requests"]["data"])

    def test_service_added_and_removed(self):
        b2 = self.backends.addresses[1]
        api_listen = f"127.0.0.1:{lbdtest.free_port()}"
        mon = self.monitor()
        r = self.call(ROOT, IFACE, "AddService", "sa{sv}", "api", "2", "Listen", "as", "1",
                      api_listen, "Backends", "as", "1", b2)
        api = lbdtest.service_path("api")
        self.assertIn(api, r.stdout)
        self.assertEqual(set(self.served_by(4, api_listen)), {"b2"})
        self.assertEqual(set(self.served_by(4)), {"b1"})  # web goes on
        # A request under way finishes: the old workers stop gracefully.
        status = self.slow_request(api_listen)
        self.call(ROOT, IFACE, "RemoveService", "s", "api")
        self.assertEqual(status(), 200)
        lbdtest.wait_until(lambda: lbdtest.port_is_free(int(api_listen.split(":")[1])), 15,
                           what="the api listener to close")
        self.assertEqual(set(self.served_by(4)), {"b1"})
        out = self.monitor_output(mon)
        added = [line for line in out.splitlines() if "InterfacesAdded" in line]
        removed = [line for line in out.splitlines() if "InterfacesRemoved" in line]
        self.assertTrue(any(f"objectpath '{api}'" in line for line in added), out)
        self.assertTrue(any(f"'{lbdtest.backend_path('api', b2)}'" in line for line in added),
                        out)
        self.assertTrue(any(f"objectpath '{api}'" in line for line in removed), out)
        self.assertTrue(any(f"'{lbdtest.backend_path('api', b2)}'" in line
                            for line in removed), out)

    def test_backend_state_changed(self):
        doomed = lbdtest.GunicornBackends(1, names=["d1"]).start()
        self.addCleanup(doomed.stop)
        address = doomed.addresses[0]
        path = lbdtest.backend_path("web", address)
        self.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", address, "0")
        self.addCleanup(self.call, ROOT, IFACE, "RemoveBackend", "ss", "web", address)
        self.assertIn("d1", self.served_by(6))
        mon = self.monitor()
        doomed.stop()
        # Requests go on (retried on b1); the failures mark d1 down.
        lbdtest.wait_until(
            lambda: self.served_by(2) and
            self.bus.get_property(path, BACKEND_IFACE, "State") == "down", 15,
            what="d1 to be marked down")
        time.sleep(0.5)  # the tick that reports it runs 4 times a second
        out = self.monitor_output(mon)
        signals = [line for line in out.splitlines() if "BackendStateChanged" in line]
        self.assertTrue(any(f"objectpath '{path}', 'down'" in line for line in signals), out)
        self.assertTrue(any(line.startswith(path + ":") and "PropertiesChanged" in line and
                            "'State': <'down'>" in line for line in out.splitlines()), out)

    def test_failed_apply_changes_nothing(self):
        holder = socket.socket()
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        state = os.path.join(self.lbd.state_dir, "state.conf")

        def snapshot():
            # The state file's settings (a restore may write a file with
            # only its header comment where there was none: the same).
            text = open(state).read() if os.path.exists(state) else ""
            settings = [line for line in text.splitlines() if line and line[0] != "#"]
            return (self.bus.get_property(ROOT, IFACE, "Services"), self.worker_pids(),
                    settings)

        before = snapshot()
        r = self.bus.busctl("call", BUS_NAME, ROOT, IFACE, "AddService", "sa{sv}", "api", "1",
                            "Listen", "as", "1", taken, check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        r = lbdtest.run(["gdbus", "call", "--address", self.bus.address, "--dest", BUS_NAME,
                         "--object-path", ROOT, "--method", f"{IFACE}.AddService", "api",
                         f"{{'Listen': <['{taken}']>}}"])
        self.assertIn("org.example.LoadBalancer.Error.Failed", r.stderr)
        self.assertIn("add service api", r.stderr)
        self.assertEqual(snapshot(), before)
        self.assertEqual(set(self.served_by(4)), {"b1"})

    def test_signals(self):
        b1, b2 = self.backends.addresses[:2]
        web = lbdtest.service_path("web")
        p2 = lbdtest.backend_path("web", b2)
        mon = self.monitor()
        self.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", b2, "0")
        self.call(p2, BACKEND_IFACE, "SetWeight", "u", "4")
        self.call(p2, BACKEND_IFACE, "Disable")
        self.call(ROOT, IFACE, "SetPolicy", "ss", "web", "least_conn")
        self.call(ROOT, IFACE, "RemoveBackend", "ss", "web", b2)
        self.call(ROOT, IFACE, "SetPolicy", "ss", "web", "round_robin")
        # Traffic for 2.5 s: Requests of b1 and web change all the time.
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            self.served_by(5)
        time.sleep(0.7)
        out = self.monitor_output(mon)
        lines = out.splitlines()

        def changes(path, prop):
            return [line for line in lines if line.startswith(path + ":") and
                    "PropertiesChanged" in line and f"'{prop}'" in line]

        self.assertTrue(any(f"objectpath '{p2}'" in line and "InterfacesAdded" in line
                            for line in lines), out)
        self.assertTrue(any(f"objectpath '{p2}'" in line and "InterfacesRemoved" in line
                            for line in lines), out)
        self.assertTrue(changes(web, "Backends"), out)
        self.assertTrue(any("<uint32 4>" in line for line in changes(p2, "Weight")), out)
        self.assertTrue(any("<'disabled'>" in line for line in changes(p2, "State")), out)
        self.assertEqual(len(changes(web, "Policy")), 2, out)
        # Counters: signalled, and throttled (about 2/s; 2.5 s + slack).
        p1 = lbdtest.backend_path("web", b1)
        for path in (web, p1):
            n = len(changes(path, "Requests"))
            self.assertGreaterEqual(n, 2, out)
            self.assertLessEqual(n, 8, out)
            # Statistics moves with them, listed as invalidated (its value
            # is too big to send each time).
            invalidated = [line for line in changes(path, "Statistics")
                           if re.search(r"\[[^]]*'Statistics'[^]]*\]\)$", line)]
            self.assertEqual(len(invalidated), n, out)
        last = changes(p1, "Requests")[-1]
        m = re.search(r"'Requests': <uint64 (\d+)>", last)
        self.assertTrue(m, last)
        self.assertEqual(int(m.group(1)), self.bus.get_property(p1, BACKEND_IFACE, "Requests"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
