#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Backend membership shared by two lbd nodes through a real 3-member etcd
cluster, in network namespaces this test creates: three etcd hosts, two
balancer nodes (each its own system bus, lbd with a service and no
backends, and lbd-etcd-sync following all three members), a backend host
(three Gunicorns) and a client, joined by a bridge.

- a backend put under the prefix appears on both lbd nodes (the time is
  printed: target under a second); a change of its weight and a drain
  follow;
- a backend registered with a lease leaves both nodes when the lease
  expires;
- a malformed value is skipped with a log line naming its key, and a bad
  value for a valid key leaves the key's previous value in effect;
- a locally configured backend listed in etcd too stays as configured;
- one etcd member cut off (its link down) changes nothing on either node,
  and a change made meanwhile still arrives;
- every etcd member down: a client loop through each node keeps getting
  200s from the last known backends (asserted: no failed request), each
  sync says so (Connected false, LastError, a log line); etcd back: both
  resynchronise from a full read and a change made then arrives.

Needs root (namespaces), etcd and Gunicorn; skipped without.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import lbdtest  # noqa: E402
import netlab  # noqa: E402

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
SYNC_POLICY = os.path.join(lbdtest.SOURCE_ROOT, "dbus", "org.example.LoadBalancer.EtcdSync.conf")
SYNC_NAME = "org.example.LoadBalancer.EtcdSync"
SYNC_PATH = "/org/example/LoadBalancer/EtcdSync"
ADDRESSES = {"client": "10.92.0.2", "lb1": "10.92.0.11", "lb2": "10.92.0.12",
             "app": "10.92.0.21", "etcd1": "10.92.0.31", "etcd2": "10.92.0.32",
             "etcd3": "10.92.0.33"}
ETCDS = ["etcd1", "etcd2", "etcd3"]
PORT = 8080
PREFIX = "/lbd/"
APP1, APP2 = f"{ADDRESSES['app']}:8000", f"{ADDRESSES['app']}:8001"
LOCAL = f"{ADDRESSES['app']}:8002"  # configured in lbd.conf on both nodes


def sync_path():
    return os.environ.get("LBD_ETCD_SYNC") or os.path.join(
        lbdtest.BUILD_ROOT, "client", "etcd-sync", "lbd-etcd-sync")


def endpoints():
    return ",".join(f"http://{ADDRESSES[e]}:2379" for e in ETCDS)


class EtcdTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = netlab.unavailable()
        for path, package in [(ETCD, "etcd-server"), (ETCDCTL, "etcd-client"),
                              (lbdtest.GUNICORN, "gunicorn")]:
            if not why and not os.access(path, os.X_OK):
                why = f"{path} is missing (Debian package {package})"
        if not why and not os.access(sync_path(), os.X_OK):
            why = f"lbd-etcd-sync is not built: {sync_path()} (needs libsoup 3)"
        if why:
            raise unittest.SkipTest(why)
        cls.tmp = lbdtest.TempDir("lbd-etcd-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.lab = netlab.NetLab("e").start()
        cls.addClassCleanup(cls.lab.cleanup)
        for host, address in ADDRESSES.items():
            cls.lab.add_host(host, f"{address}/24")
        cls.etcd = {}
        for name in ETCDS:
            cls.start_etcd(name, new=True)
        lbdtest.wait_until(cls.cluster_healthy, 60, what="the etcd cluster")
        cls.apps = []
        for port, name in ((8000, "app1"), (8001, "app2"), (8002, "local")):
            argv = cls.lab.exec_argv("app", [
                lbdtest.GUNICORN, "--bind", f"{ADDRESSES['app']}:{port}", "--workers", "1",
                "--worker-class", "gthread", "--threads", "4", "--chdir", lbdtest.HERE,
                "--log-level", "warning", "--worker-tmp-dir", "/dev/shm", "app:application"])
            app = lbdtest.ManagedProcess(name, argv, cls.tmp.join(f"{name}.log"),
                                         env=dict(os.environ, LBD_BACKEND_NAME=name)).start()
            cls.addClassCleanup(app.stop)
            cls.apps.append(app)
        config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write(f"[daemon]\nworkers=2\n\n[service web]\nlisten=0.0.0.0:{PORT}\n"
                    f"backends={LOCAL} weight=7\n")
        cls.nodes = {}
        for name in ("lb1", "lb2"):
            bus = lbdtest.PrivateSystemBus([lbdtest.BUS_POLICY, SYNC_POLICY]).start()
            cls.addClassCleanup(bus.stop)
            lbd = lbdtest.Lbd(bus, config=config, wrapper=cls.lab.exec_argv(name, [])).start()
            cls.addClassCleanup(lbd.stop)
            sync = lbdtest.ManagedProcess(
                f"lbd-etcd-sync {name}",
                cls.lab.exec_argv(name, [sync_path(), "--endpoints", endpoints(),
                                         "--prefix", PREFIX]),
                cls.tmp.join(f"sync-{name}.log"), env=bus.env()).start()
            cls.addClassCleanup(cls._stop_sync, name, sync)
            cls.nodes[name] = (bus, lbd, sync)
        for name in cls.nodes:
            lbdtest.wait_until(lambda n=name: cls.sync_prop(n, "Connected") is True, 30,
                               what=f"the sync on {name} to follow etcd")

    @classmethod
    def _stop_sync(cls, name, sync):
        # SIGTERM: it leaves its main loop and frees everything (under ASan
        # a leak or a memory error makes the status non-zero).
        status = sync.stop()
        if status != 0:
            print(f"--- lbd-etcd-sync {name} ---\n{sync.log_tail(40)}", file=sys.stderr)
            raise AssertionError(f"lbd-etcd-sync on {name} exited with status {status}")

    @classmethod
    def start_etcd(cls, name, new=False):
        cluster = ",".join(f"{e}=http://{ADDRESSES[e]}:2380" for e in ETCDS)
        ip = ADDRESSES[name]
        argv = cls.lab.exec_argv(name, [
            ETCD, "--name", name, "--data-dir", cls.tmp.join(f"{name}.data"),
            "--listen-client-urls", f"http://{ip}:2379", "--advertise-client-urls",
            f"http://{ip}:2379", "--listen-peer-urls", f"http://{ip}:2380",
            "--initial-advertise-peer-urls", f"http://{ip}:2380", "--initial-cluster", cluster,
            "--initial-cluster-state", "new", "--initial-cluster-token", cls.lab.prefix,
            "--log-level", "warn"])
        proc = lbdtest.ManagedProcess(name, argv, cls.tmp.join(f"{name}.log")).start()
        if new:
            cls.addClassCleanup(lambda n=name: cls.etcd[n].stop())
        cls.etcd[name] = proc

    @classmethod
    def etcdctl(cls, *args, check=True, endpoints_=None):
        r = cls.lab.run("client", ETCDCTL, "--endpoints", endpoints_ or endpoints(),
                        "--dial-timeout", "2s", "--command-timeout", "5s", *args, check=False)
        if check and r.returncode != 0:
            raise lbdtest.FixtureError(f"etcdctl {' '.join(args)}: {r.stderr.strip()}")
        return r

    @classmethod
    def cluster_healthy(cls):
        return cls.etcdctl("endpoint", "health", check=False).returncode == 0

    @classmethod
    def sync_prop(cls, node, name):
        bus = cls.nodes[node][0]
        r = bus.busctl_json("get-property", SYNC_NAME, SYNC_PATH, SYNC_NAME, name, check=False)
        return r["data"] if r else None

    def backends(self, node):
        """{address: (weight, state, origin)} of service web on node."""
        bus = self.nodes[node][0]
        objects = bus.busctl_json("call", lbdtest.BUS_NAME, lbdtest.ROOT_PATH,
                                  "org.freedesktop.DBus.ObjectManager",
                                  "GetManagedObjects")["data"][0]
        out = {}
        for path, ifaces in objects.items():
            b = ifaces.get(lbdtest.ROOT_IFACE + ".Backend")
            if b and "/service/web/" in path:
                out[b["Address"]["data"]] = (b["Weight"]["data"], b["State"]["data"],
                                             b["Origin"]["data"])
        return out

    def wait_both(self, predicate, what, timeout=15.0):
        """Until predicate(backends) holds on both nodes; the seconds it took."""
        start = time.monotonic()
        for node in self.nodes:
            try:
                lbdtest.wait_until(lambda n=node: predicate(self.backends(n)), timeout,
                                   interval=0.02, what=f"{what} on {node}")
            except lbdtest.FixtureError as e:
                self.fail(f"{e}: {self.backends(node)}\n--- sync log ---\n"
                          f"{self.nodes[node][2].log_tail(20)}")
        return time.monotonic() - start

    def put(self, key_id, value, *extra):
        self.etcdctl("put", *extra, f"{PREFIX}services/web/backends/{key_id}",
                     value if isinstance(value, str) else json.dumps(value))

    def delete(self, key_id):
        self.etcdctl("del", f"{PREFIX}services/web/backends/{key_id}")

    def sync_log(self, node):
        return self.nodes[node][2].log_text()

    # --- tests, in order --------------------------------------------------------

    def test_1_put_appears_on_both_nodes(self):
        start = time.monotonic()
        self.put("app1", {"address": APP1, "weight": 2})
        self.wait_both(lambda b: b.get(APP1, (0,))[0] == 2, f"{APP1} with weight 2")
        took = time.monotonic() - start
        print(f"a put reached both lbd nodes in {took:.2f} s (target < 1 s: "
              f"{'met' if took < 1 else 'NOT met'})", file=sys.stderr)
        for node in self.nodes:
            self.assertEqual(self.backends(node)[APP1], (2, "up", f"etcd:{PREFIX}"))
            status = lbdtest.lbclient(self.nodes[node][0], "status").stdout
            self.assertIn("etcd sync:    following http://", status)
        self.put("app1", {"address": APP1, "weight": 5})
        self.wait_both(lambda b: b.get(APP1, (0,))[0] == 5, "weight 5")
        self.put("app1", {"address": APP1, "weight": 5, "drain": True})
        self.wait_both(lambda b: b.get(APP1, (0, ""))[1] == "draining", "drained")
        self.put("app1", {"address": APP1, "weight": 5})
        self.wait_both(lambda b: b.get(APP1, (0, ""))[1] == "up", "enabled again")

    def test_2_a_lease_expiring_removes_it(self):
        r = self.etcdctl("lease", "grant", "3")
        lease = r.stdout.split()[1]  # "lease 694d7... granted with TTL(3s)"
        self.put("leased", {"address": APP2}, f"--lease={lease}")
        self.wait_both(lambda b: APP2 in b, f"{APP2} registered with a lease")
        start = time.monotonic()
        self.wait_both(lambda b: APP2 not in b, f"{APP2} gone with its lease", timeout=30)
        print(f"the leased backend left both nodes {time.monotonic() - start:.1f} s after it "
              f"appeared (TTL 3 s, not kept alive)", file=sys.stderr)
        self.assertIn("deleted (or its lease expired)", self.sync_log("lb1"))

    def test_3_bad_values_are_skipped(self):
        before = {n: self.backends(n) for n in self.nodes}
        self.put("typo", {"address": APP2, "wieght": 3})
        self.put("notjson", "{address: nope")
        # A bad value for a key that has a good one: the good one stays.
        self.put("app1", {"address": APP1, "weight": 5000})
        for node in self.nodes:
            lbdtest.wait_until(lambda n=node: "app1: bad value" in self.sync_log(n), 15,
                               what=f"the sync on {node} to log the bad value")
            log = self.sync_log(node)
            self.assertIn(f"{PREFIX}services/web/backends/typo: bad value (unknown key "
                          "\"wieght\"", log)
            self.assertIn(f"{PREFIX}services/web/backends/notjson: bad value (the value is "
                          "not JSON", log)
            self.assertIn("\"weight\" is 5000; expected 1..1000); its previous value stays", log)
            self.assertEqual(self.backends(node), before[node])
        self.delete("typo")
        self.delete("notjson")
        self.put("app1", {"address": APP1, "weight": 5})

    def test_4_local_backends_win(self):
        self.put("clash", {"address": LOCAL, "weight": 1})
        for node in self.nodes:
            lbdtest.wait_until(lambda n=node: "configured in lbd locally" in self.sync_log(n),
                               15, what=f"the conflict logged on {node}")
            self.assertEqual(self.backends(node)[LOCAL], (7, "up", ""))
        self.delete("clash")

    def test_5_one_member_cut_off_changes_nothing(self):
        before = {n: self.backends(n) for n in self.nodes}
        self.lab.link("etcd1", up=False)
        self.addCleanup(self.lab.link, "etcd1", True)
        time.sleep(8)  # longer than the syncs' probe and request timeouts
        for node in self.nodes:
            self.assertEqual(self.backends(node), before[node])
        others = ",".join(f"http://{ADDRESSES[e]}:2379" for e in ETCDS[1:])
        self.etcdctl("put", f"{PREFIX}services/web/backends/app2",
                     json.dumps({"address": APP2, "weight": 3}), endpoints_=others)
        self.wait_both(lambda b: b.get(APP2, (0,))[0] == 3, f"{APP2} put while etcd1 is cut off")
        for node in self.nodes:
            lbdtest.wait_until(lambda n=node: self.sync_prop(n, "Connected") is True, 15,
                               what=f"the sync on {node} connected")
            self.assertNotEqual(self.sync_prop(node, "Endpoint"), f"http://{ADDRESSES['etcd1']}:2379")

    def test_6_all_members_down_traffic_flows(self):
        expected = {n: self.backends(n) for n in self.nodes}
        for name in ETCDS:
            self.etcd[name].stop()
        for node in self.nodes:
            lbdtest.wait_until(lambda n=node: self.sync_prop(n, "Connected") is False, 20,
                               what=f"the sync on {node} to notice")
            self.assertIn("etcd unreachable", self.sync_log(node))
            self.assertNotEqual(self.sync_prop(node, "LastError"), "")
            status = lbdtest.lbclient(self.nodes[node][0], "status")
            self.assertIn("etcd sync:    NOT connected (", status.stdout)
            self.assertIn("lbd keeps its 2 backend(s) from etcd", status.stdout)  # app1, app2
        loop = [subprocess.Popen(
            self.lab.exec_argv("client", ["/usr/bin/python3", os.path.join(HERE, "client-loop.py"),
                                          f"http://{ADDRESSES[n]}:{PORT}/headers", "5", "0.01"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in self.nodes]
        for node, proc in zip(self.nodes, loop):
            out, err = proc.communicate(timeout=60)
            results = [json.loads(line) for line in out.splitlines()]
            failed = [r for r in results if not r["ok"]]
            print(f"{node} with etcd down: {len(results)} requests, {len(failed)} failed",
                  file=sys.stderr)
            self.assertTrue(results)
            self.assertEqual(failed, [])
            self.assertEqual(self.backends(node), expected[node])
        # etcd back: a full read, then the watch; a change made now arrives.
        for name in ETCDS:
            self.start_etcd(name)
        lbdtest.wait_until(self.cluster_healthy, 60, what="the etcd cluster back")
        for node in self.nodes:
            lbdtest.wait_until(lambda n=node: self.sync_prop(n, "Connected") is True, 30,
                               what=f"the sync on {node} to reconnect")
        self.delete("app2")
        self.wait_both(lambda b: APP2 not in b, f"{APP2} deleted after etcd came back")


if __name__ == "__main__":
    unittest.main(verbosity=2)
