#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""dbus/org.example.LoadBalancer.xml, the API's contract, against what the
running lbd introspects: every interface, method (argument names, types and
directions), property (type, access, change signal) and signal in both
directions, so that the two cannot drift. Standard org.freedesktop.*
interfaces are left out.

The root, a service and a backend object are introspected (busctl
--xml-interface). The Link interface and the root's *Link methods are
implemented by the network plugins' side: while the daemon has none of them
the test says so on stderr; once any is there, all are compared like the rest.

Run by meson or directly after a build:
/usr/bin/python3 tests/integration/test-introspection.py
"""
import os
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
CONTRACT = os.path.join(lbdtest.SOURCE_ROOT, "dbus", "org.example.LoadBalancer.xml")
LINK_IFACE = IFACE + ".Link"
LINK_METHODS = {"CreateLink", "ModifyLink", "ActivateLink", "DeactivateLink", "DeleteLink"}
EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def interfaces(node):
    """{interface: {member key: description}} of an introspection <node>,
    without org.freedesktop.* interfaces. A description is comparable:
    methods give their args (name, type, direction), properties (type,
    access, EmitsChangedSignal with the default "true" made explicit),
    signals their args (name, type)."""
    out = {}
    for iface in node.findall("interface"):
        name = iface.get("name")
        if name.startswith("org.freedesktop."):
            continue
        # An interface served by several vtables may come in several parts.
        members = out.setdefault(name, {})
        for m in iface.findall("method"):
            members["method " + m.get("name")] = tuple(
                (a.get("name"), a.get("type"), a.get("direction", "in"))
                for a in m.findall("arg"))
        for s in iface.findall("signal"):
            members["signal " + s.get("name")] = tuple(
                (a.get("name"), a.get("type")) for a in s.findall("arg"))
        for p in iface.findall("property"):
            emits = "true"
            for a in p.findall("annotation"):
                if a.get("name") == EMITS:
                    emits = a.get("value")
            members["property " + p.get("name")] = (p.get("type"), p.get("access"), emits)
    return out


class Introspection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        config = cls.tmp.join("lbd.conf")
        cls.backend = f"127.0.0.1:{lbdtest.free_port()}"
        with open(config, "w") as f:
            f.write("[daemon]\nworkers=1\nworker-model=sync\ngraceful-timeout=1\n"
                    f"[service web]\nlisten=127.0.0.1:{lbdtest.free_port()}\n"
                    f"backends={cls.backend}\n")
        cls.lbd = lbdtest.Lbd(cls.bus, config=config).start()
        cls.addClassCleanup(cls._stop_lbd)
        with open(CONTRACT) as f:
            cls.contract = interfaces(ET.parse(f).getroot())

    @classmethod
    def _stop_lbd(cls):
        status = cls.lbd.stop()
        if status != 0:
            raise AssertionError(f"lbd exited with {status}:\n{cls.lbd.log_tail()}")

    def introspect(self, path):
        r = self.bus.busctl("--xml-interface", "introspect", lbdtest.BUS_NAME, path)
        return interfaces(ET.fromstring(r.stdout))

    def running(self):
        found = {}
        for path in (ROOT, lbdtest.service_path("web"),
                     lbdtest.backend_path("web", self.backend)):
            found.update(self.introspect(path))
        links = self.bus.get_property(ROOT, IFACE, "Links")
        if links:
            found.update(self.introspect(links[0]))
        return found

    def test_contract_is_well_formed(self):
        self.assertEqual(set(self.contract),
                         {IFACE, IFACE + ".Service", IFACE + ".Backend", LINK_IFACE})
        for iface, members in self.contract.items():
            for key, desc in members.items():
                if key.startswith("method") or key.startswith("signal"):
                    for arg in desc:
                        self.assertTrue(arg[0], f"{iface} {key}: an argument without a name")

    def test_daemon_matches_contract(self):
        contract = {k: dict(v) for k, v in self.contract.items()}
        daemon = self.running()
        # The network side, until it is built: absent as a whole, or compared.
        link_members = {"method " + n for n in LINK_METHODS}
        if LINK_IFACE not in daemon and not link_members & set(daemon.get(IFACE, {})):
            print("note: the daemon has no Link interface or *Link method yet; "
                  "those parts of the contract are not compared", file=sys.stderr)
            contract.pop(LINK_IFACE)
            for key in link_members:
                contract[IFACE].pop(key)
        elif LINK_IFACE not in daemon:
            # Link methods are there but no link object to introspect.
            contract.pop(LINK_IFACE)
        problems = []
        for iface in sorted(set(contract) | set(daemon)):
            c, d = contract.get(iface), daemon.get(iface)
            if c is None:
                problems.append(f"{iface}: in the daemon, not in the contract")
                continue
            if d is None:
                problems.append(f"{iface}: in the contract, not in the daemon")
                continue
            for key in sorted(set(c) | set(d)):
                if key not in d:
                    problems.append(f"{iface} {key}: in the contract, not in the daemon")
                elif key not in c:
                    problems.append(f"{iface} {key}: in the daemon, not in the contract")
                elif c[key] != d[key]:
                    problems.append(f"{iface} {key}: contract {c[key]} != daemon {d[key]}")
        self.assertEqual(problems, [], "\n".join(problems))

    def test_comparison_can_fail(self):
        # The comparison sees a changed signature, a missing member and an
        # extra one (guards against a comparison that always passes).
        daemon = self.running()
        changed = {k: dict(v) for k, v in daemon.items()}
        changed[IFACE]["method SetWorkers"] = (("count", "i", "in"),)
        self.assertNotEqual(changed[IFACE], daemon[IFACE])
        self.assertIn("method AddBackend", daemon[IFACE])
        self.assertIn("property Failures", daemon[IFACE + ".Backend"])
        self.assertEqual(daemon[IFACE]["signal BackendStateChanged"],
                         (("backend", "o"), ("state", "s"), ("reason", "s")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
