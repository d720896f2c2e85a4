#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Large pools end to end: past 64 backends the policies answer from the
tables the master builds (round_robin's weighted cycle, ip_hash's Maglev
table) or from two random choices (least_conn), not from a scan. This runs
them through the real daemon (2 event workers) over 100 backends: one nginx
listening on 127.1.0.1 .. 127.1.0.100, naming in X-Backend the address each
request came to.

  0. the master logs (at debug level) the tables it built: round_robin's
     cycle of 120, ip_hash's 65,521 entries; none for least_conn.
  1. round_robin, the first 10 of weight 3: 3 cycles (360 requests, fresh
     connections, either worker) give each backend exactly 3 times its
     weight: one cycle for the daemon, not one per worker.
  2. Disable() one of weight 3 and SetWeight() another to 2 over D-Bus: the
     master rebuilds the cycle at once; the next 5 cycles never reach the
     disabled one and give the others exactly 5 times their new weights.
  3. ip_hash: 150 clients (source addresses 127.2.0.1 .. 127.2.0.150), two
     requests each, one per connection: each client's two answers come from
     the same backend, and the clients spread over the pool.
  4. least_conn: 300 requests reach many backends, every one a 200.

Exits 77 (skipped) when nginx is missing.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

BACKEND_IFACE = "org.example.LoadBalancer.Backend"
N = 100
HEAVY = 10  # the first HEAVY backends have weight 3


def get(port, source=None):
    """One GET on a fresh connection from source (an address of 127/8):
    (status, X-Backend)."""
    status, headers, _ = lbdtest.http_request(f"127.0.0.1:{port}", timeout=10, source=source)
    return status, headers.get("X-Backend")


class LargePool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(lbdtest.NGINX, os.X_OK):
            raise unittest.SkipTest(f"{lbdtest.NGINX} is missing")
        cls.tmp = lbdtest.TempDir("lbd-large-pool-")
        cls.addClassCleanup(cls.tmp.cleanup)
        hosts = [f"127.1.0.{i}" for i in range(1, N + 1)]
        cls.nginx = lbdtest.nginx_backend(connections=256, hosts=hosts).start()
        cls.addClassCleanup(cls.nginx.stop)
        cls.addresses = cls.nginx.addresses
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.ports = {name: lbdtest.free_port() for name in ("rr", "ih", "lc")}
        weighted = ";".join(f"{a} weight=3" if i < HEAVY else a
                            for i, a in enumerate(cls.addresses))
        plain = ";".join(cls.addresses)
        text = "\n".join([
            "[daemon]", "workers=2", "worker-model=event", "access-log=off", "",
            "[service rr]", f"listen=127.0.0.1:{cls.ports['rr']}", "policy=round_robin",
            f"backends={weighted}", "",
            "[service ih]", f"listen=127.0.0.1:{cls.ports['ih']}", "policy=ip_hash",
            f"backends={plain}", "",
            "[service lc]", f"listen=127.0.0.1:{cls.ports['lc']}", "policy=least_conn",
            f"backends={plain}", ""])
        config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write(text)
        cls.lbd = lbdtest.Lbd(cls.bus, config=config, log_level="debug").start()
        cls.addClassCleanup(lbdtest.stop_clean, cls.lbd)
        for port in cls.ports.values():
            lbdtest.wait_until(lambda port=port: not lbdtest.port_is_free(port), 10,
                               what="lbd to listen", alive=cls.lbd.process)

    def log_has(self, line):
        return any(x.endswith(line) for x in self.lbd.log_text().splitlines())

    def test_0_tables_built(self):
        # The daemon's own word that these pools are not scanned (a scan
        # would give round_robin's exact shares too).
        for line in ("rr: policy round_robin: a table of 120 entries for the primaries, 0 for "
                     "the backups",
                     "ih: policy ip_hash: a table of 65521 entries for the primaries, 0 for "
                     "the backups"):
            lbdtest.wait_until(lambda line=line: self.log_has(line), 5, what=line)
        self.assertFalse(any("lc: policy" in x for x in self.lbd.log_text().splitlines()))

    def counts(self, service, n, source=None):
        counts = {}
        for _ in range(n):
            status, backend = get(self.ports[service], source)
            self.assertEqual(status, 200, backend)
            counts[backend] = counts.get(backend, 0) + 1
        return counts

    def test_1_round_robin_cycles_exact(self):
        weights = {a: 3 if i < HEAVY else 1 for i, a in enumerate(self.addresses)}
        cycle = sum(weights.values())
        counts = self.counts("rr", 3 * cycle)
        self.assertEqual(counts, {a: 3 * w for a, w in weights.items()})
        print(f"\nround_robin over {N} backends: 3 cycles of {cycle}, exact", file=sys.stderr)

    def test_2_round_robin_follows_changes(self):
        disabled, halved = self.addresses[0], self.addresses[1]
        self.bus.call(lbdtest.backend_path("rr", disabled), BACKEND_IFACE, "Disable")
        self.bus.call(lbdtest.backend_path("rr", halved), BACKEND_IFACE, "SetWeight", "u", "2")
        weights = {a: 3 if i < HEAVY else 1 for i, a in enumerate(self.addresses)}
        del weights[disabled]
        weights[halved] = 2
        cycle = sum(weights.values())
        self.assertTrue(self.log_has(f"rr: policy round_robin: a table of {cycle} entries for "
                                     "the primaries, 0 for the backups"))
        counts = self.counts("rr", 5 * cycle)
        self.assertEqual(counts, {a: 5 * w for a, w in weights.items()})

    def test_3_ip_hash_sticky_and_spread(self):
        chosen = {}
        for c in range(1, 151):
            source = f"127.2.0.{c}"
            first = self.counts("ih", 1, source)
            second = self.counts("ih", 1, source)
            self.assertEqual(first, second, source)
            chosen[source] = next(iter(first))
        used = len(set(chosen.values()))
        print(f"\nip_hash: 150 clients on {used} of {N} backends", file=sys.stderr)
        # 150 clients thrown at 100 backends reach about 78 of them
        self.assertGreater(used, 60)

    def test_4_least_conn_spreads(self):
        counts = self.counts("lc", 300)
        print(f"\nleast_conn: 300 requests on {len(counts)} of {N} backends", file=sys.stderr)
        self.assertGreater(len(counts), 80)
        self.assertLessEqual(max(counts.values()), 12)


if __name__ == "__main__":
    unittest.main(verbosity=2)
