#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lbd on a private system bus: its read-only D-Bus API, lbclient, the bus
policy, --check-config, and a clean stop on SIGTERM.

Runs the built lbd with its embedded default configuration (one http service
"default" on 127.0.0.1:8080, round_robin over 127.0.0.1:8001-8003) and the
build tree's plugins. Everything is real: dbus-daemon, busctl, gdbus.
Run by meson (tests/integration/meson.build) or directly from the source
tree after a build: /usr/bin/python3 tests/integration/test-daemon-bus.py
"""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

BUS_NAME = lbdtest.BUS_NAME
ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
SERVICE_IFACE = IFACE + ".Service"
BACKEND_IFACE = IFACE + ".Backend"

DEFAULT_SERVICE_PATH = ROOT + "/service/default"
DEFAULT_BACKENDS = ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]
EXPECTED_PLUGINS = {
    ("worker", "sync"), ("worker", "thread"), ("worker", "event"),
    ("policy", "round_robin"), ("policy", "least_conn"), ("policy", "ip_hash"),
    ("network", "bond"), ("network", "team"),
} | ({("worker", "uring")} if lbdtest.has_plugin("uring") else set())
NOBODY = lbdtest.NOBODY


def lbd_version():
    """The version `lbd --version` prints ("lbd 0.1.0 (plugin ABI 1)")."""
    r = lbdtest.run([lbdtest.lbd_path(), "--version"])
    m = re.match(r"lbd (\S+)", r.stdout)
    if r.returncode != 0 or not m:
        raise AssertionError(f"lbd --version: status {r.returncode}, output {r.stdout!r}")
    return m.group(1)


def start_default_lbd(bus, tmp):
    """lbd with its embedded default configuration, on bus. Returns (lbd,
    listen address). If 127.0.0.1:8080 is taken (a demo left running with
    --keep, say), the same default is passed as a file with a free port
    instead, so that the test does not fail for something outside it."""
    if lbdtest.port_is_free(8080):
        return lbdtest.Lbd(bus).start(), "127.0.0.1:8080"
    listen = f"127.0.0.1:{lbdtest.free_port()}"
    print(f"note: 127.0.0.1:8080 is in use; the embedded default runs on {listen} instead",
          file=sys.stderr)
    config = lbdtest.dumped_default_config(tmp.join("default.conf"), listen)
    return lbdtest.Lbd(bus, config=config).start(), listen


def nproc():
    return int(subprocess.run(["nproc"], stdout=subprocess.PIPE, text=True,
                              check=True).stdout.strip())


class DaemonOnBus(unittest.TestCase):
    """One lbd with the embedded default, shared by the read-only checks."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.lbd, cls.listen = start_default_lbd(cls.bus, cls.tmp)
        cls.addClassCleanup(cls._stop_lbd)

    @classmethod
    def _stop_lbd(cls):
        status = cls.lbd.stop()
        # Only shown on failure (meson prints the output of failed tests).
        print(f"--- lbd log (exit status {status}) ---\n{cls.lbd.log_tail(60)}", file=sys.stderr)

    def prop(self, name, path=ROOT, iface=IFACE):
        return self.bus.busctl_json("get-property", BUS_NAME, path, iface, name)

    def test_root_properties(self):
        cases = [
            ("Version", "s", lbd_version()),
            ("WorkerModel", "s", "event"),
            ("Workers", "u", 2 * nproc() + 1),
            ("Services", "ao", [DEFAULT_SERVICE_PATH]),
            ("Links", "ao", []),
        ]
        for name, sig, expected in cases:
            with self.subTest(property=name):
                v = self.prop(name)
                self.assertEqual(v["type"], sig)
                self.assertEqual(v["data"], expected)

    def test_default_service_object(self):
        cases = [
            ("Name", "s", "default"),
            ("Mode", "s", "http"),
            ("Policy", "s", "round_robin"),
            ("Listen", "as", [self.listen]),
        ]
        for name, sig, expected in cases:
            with self.subTest(property=name):
                v = self.prop(name, DEFAULT_SERVICE_PATH, SERVICE_IFACE)
                self.assertEqual(v, {"type": sig, "data": expected})

    def test_default_backend_objects(self):
        backends = self.prop("Backends", DEFAULT_SERVICE_PATH, SERVICE_IFACE)
        self.assertEqual(backends["type"], "ao")
        self.assertEqual(len(backends["data"]), 3, backends)
        for path, address in zip(backends["data"], DEFAULT_BACKENDS):
            with self.subTest(backend=address):
                # Named by the address: the same path after a restart.
                self.assertEqual(path, lbdtest.backend_path("default", address))
                self.assertEqual(self.prop("Address", path, BACKEND_IFACE),
                                 {"type": "s", "data": address})
                self.assertEqual(self.prop("Backup", path, BACKEND_IFACE),
                                 {"type": "b", "data": False})
                weight = self.prop("Weight", path, BACKEND_IFACE)
                self.assertEqual(weight["type"], "u")
                self.assertGreaterEqual(weight["data"], 1)
                state = self.prop("State", path, BACKEND_IFACE)
                self.assertIn(state["data"], ("up", "down", "draining", "disabled"))
                # backends= defaults (lbd.conf(5)).
                for name, sig, value in (("MaxFails", "u", 1), ("FailTimeout", "u", 10),
                                         ("MaxConns", "u", 0), ("SlowStart", "u", 0)):
                    self.assertEqual(self.prop(name, path, BACKEND_IFACE),
                                     {"type": sig, "data": value}, name)
                for name, sig in (("ActiveConnections", "u"), ("Requests", "t"),
                                  ("Failures", "t")):
                    self.assertEqual(self.prop(name, path, BACKEND_IFACE)["type"], sig, name)

    def test_bad_arguments_echo_a_bounded_escaped_prefix(self):
        """A huge or unprintable value comes back as a quoted, escaped prefix
        with its length, never whole: every error stays under 1,000 bytes
        (busctl passes at most 128 KiB per argument: 100,000 bytes here)."""
        big = "a" * 100000
        cut = "'" + "a" * 64 + "...' (100000 bytes)"
        svc = "default"
        cases = [
            ("AddBackend", "ssa{sv}", [svc, big, "0"], "Invalid backend address " + cut),
            ("AddBackend", "ssa{sv}", [svc, "127.0.0.1:" + "9" * 100000, "0"],
             "port '" + "9" * 64 + "...' (100000 bytes) is out of range"),
            ("AddBackend", "ssa{sv}", [svc, "[" + "f" * 100000 + "]:80", "0"],
             "'" + "f" * 64 + "...' (100000 bytes) is not a numeric IPv6 address"),
            ("AddBackend", "ssa{sv}", [svc, "10.0.0.1\n\x1b[2J:80", "0"],
             "Invalid backend address '10.0.0.1\\x0a\\x1b[2J:80'"),
            ("AddBackend", "ssa{sv}", [svc, "127.0.0.1:80", "1", big, "u", "1"],
             "Unknown key " + cut),
            ("RemoveBackend", "ss", [svc, big], "has no backend " + cut),
            ("AddService", "sa{sv}", [big, "0"], "Invalid service name " + cut),
            ("AddService", "sa{sv}", ["x", "1", "Listen", "as", "1", big],
             "Invalid Listen address " + cut),
            ("AddService", "sa{sv}", ["x", "2", "Listen", "as", "1", "127.0.0.1:1", "Mode", "s",
                                      big], "Invalid Mode " + cut),
            ("SetPolicy", "ss", [svc, big], "Unknown policy " + cut),
            ("SetWorkerModel", "sa{sv}", [big, "0"], "Unknown worker model " + cut),
        ]
        for method, sig, args, want in cases:
            with self.subTest(method=method, arg=args[1][:20]):
                r = self.bus.busctl("call", BUS_NAME, ROOT, IFACE, method, sig, *args,
                                    check=False)
                self.assertNotEqual(r.returncode, 0)
                self.assertLess(len(r.stderr), 1000, r.stderr[:300])
                self.assertIn(want, r.stderr)
                self.assertNotIn("\x1b", r.stderr)
        self.assertTrue(self.lbd.running())
        self.assertEqual(self.prop("Services")["data"], [DEFAULT_SERVICE_PATH])

    def test_unknown_object_is_an_error(self):
        r = self.bus.busctl("get-property", BUS_NAME, ROOT + "/service/nosuch", SERVICE_IFACE,
                            "Name", check=False)
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_introspection(self):
        out = self.bus.busctl("introspect", BUS_NAME, ROOT).stdout
        # busctl introspect: NAME TYPE SIGNATURE RESULT/VALUE FLAGS
        rows = {}
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 4:
                rows[f[0]] = (f[1], f[2], f[3])
        members = [
            # member, kind, signature, result (a property's value is not checked)
            (".Version", "property", "s", None),
            (".WorkerModel", "property", "s", None),
            (".Workers", "property", "u", None),
            (".Services", "property", "ao", None),
            (".Links", "property", "ao", None),
            (".ListPlugins", "method", "-", "a(ssss)"),
            (".AddService", "method", "sa{sv}", "o"),
            (".AddBackend", "method", "ssa{sv}", "o"),
            (".RemoveService", "method", "s", "-"),
            (".RemoveBackend", "method", "ss", "-"),
            (".SetWorkerModel", "method", "sa{sv}", "-"),
            (".GetStatistics", "method", "-", "a{sv}"),
            (".BackendStateChanged", "signal", "oss", "-"),
        ]
        for member, kind, sig, result in members:
            with self.subTest(member=member):
                self.assertIn(member, rows, out)
                self.assertEqual(rows[member][:2], (kind, sig))
                if result:
                    self.assertEqual(rows[member][2], result)
        for iface in (IFACE, "org.freedesktop.DBus.Properties",
                      "org.freedesktop.DBus.Introspectable",
                      "org.freedesktop.DBus.ObjectManager"):
            with self.subTest(interface=iface):
                self.assertIn(iface, rows, out)
        with self.subTest(member="ListPlugins result"):
            xml = self.bus.busctl("introspect", "--xml-interface", BUS_NAME, ROOT).stdout
            self.assertRegex(xml, r'<method name="ListPlugins">\s*<arg type="a\(ssss\)"[^>]*'
                                  r'direction="out"')

    def test_object_manager_lists_service_and_backends(self):
        v = self.bus.busctl_json("call", BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                                 "GetManagedObjects")
        objects = v["data"][0]
        self.assertIn(DEFAULT_SERVICE_PATH, objects)
        self.assertIn(SERVICE_IFACE, objects[DEFAULT_SERVICE_PATH])
        backend_paths = [p for p in objects if p.startswith(DEFAULT_SERVICE_PATH + "/backend/")]
        self.assertEqual(len(backend_paths), 3, sorted(objects))

    def test_gdbus(self):
        env = self.bus.env()
        version = lbd_version()
        with self.subTest(how="--address"):
            r = lbdtest.run(["gdbus", "call", "--address", self.bus.address, "--dest", BUS_NAME,
                             "--object-path", ROOT, "--method",
                             "org.freedesktop.DBus.Properties.Get", IFACE, "Version"], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), f"(<'{version}'>,)")
        with self.subTest(how="--system with DBUS_SYSTEM_BUS_ADDRESS"):
            r = lbdtest.run(["gdbus", "call", "--system", "--dest", BUS_NAME,
                             "--object-path", ROOT, "--method", IFACE + ".ListPlugins"], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            for kind, name in EXPECTED_PLUGINS:
                self.assertIn(f"('{kind}', '{name}',", r.stdout)
        with self.subTest(how="gdbus introspect"):
            r = lbdtest.run(["gdbus", "introspect", "--address", self.bus.address, "--dest",
                             BUS_NAME, "--object-path", DEFAULT_SERVICE_PATH], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("interface " + SERVICE_IFACE, r.stdout)

    def test_list_plugins(self):
        v = self.bus.call(ROOT, IFACE, "ListPlugins")
        self.assertEqual(v["type"], "a(ssss)")
        plugins = v["data"][0]
        self.assertEqual({(k, n) for k, n, _, _ in plugins}, EXPECTED_PLUGINS)
        self.assertEqual(len(plugins), len(EXPECTED_PLUGINS), "a plugin is listed twice")
        build_dir = os.path.realpath(lbdtest.plugin_dir())
        for kind, name, description, path in plugins:
            with self.subTest(plugin=f"{kind}/{name}"):
                self.assertTrue(description.strip())
                self.assertTrue(os.path.isabs(path), path)
                self.assertEqual(os.path.dirname(os.path.realpath(path)), build_dir)
                self.assertTrue(os.path.isfile(path), path)

    def test_lbclient_status(self):
        r = lbdtest.lbclient(self.bus, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        with self.subTest(what="version"):
            self.assertRegex(out, rf"(?m)^lbd {re.escape(lbd_version())}$")
        with self.subTest(what="worker model"):
            self.assertRegex(out, r"worker model:\s+event")
        with self.subTest(what="service"):
            self.assertRegex(out, r"(?m)^service default$")
            self.assertIn(self.listen, out)
            self.assertIn("round_robin", out)
        for address in DEFAULT_BACKENDS:
            with self.subTest(backend=address):
                self.assertRegex(out, rf"(?m)^\s+{re.escape(address)}\s")

    def test_lbclient_plugin_list(self):
        r = lbdtest.lbclient(self.bus, "plugin", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = set()
        for line in r.stdout.splitlines()[1:]:
            f = line.split()
            if len(f) >= 2:
                listed.add((f[0], f[1]))
        self.assertEqual(listed, EXPECTED_PLUGINS, r.stdout)

    def test_unprivileged_user_can_read(self):
        # The bus policy lets everyone call lbd; reading needs no polkit.
        for prop in ("Version", "Services"):
            with self.subTest(property=prop):
                r = lbdtest.run(NOBODY + ["busctl", f"--address={self.bus.address}",
                                          "--json=short", "get-property", BUS_NAME, ROOT, IFACE,
                                          prop])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout), self.prop(prop))

    def test_unprivileged_user_cannot_own_the_name(self):
        # Someone else's process must not be able to take over the name.
        # Owning needs a process that asks for it: gdbus cannot, so ask the
        # bus directly over busctl as nobody (RequestName is allowed to be
        # called; the policy decides whether it is granted).
        r = lbdtest.run(NOBODY + ["busctl", f"--address={self.bus.address}", "call",
                                  "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus", "RequestName", "su", BUS_NAME, "0"])
        with self.subTest(who="nobody"):
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertRegex(r.stderr, r"(?i)access denied|not allowed to own")
        with self.subTest(who="root"):
            # Allowed, and queued behind lbd (2 = DBUS_REQUEST_NAME_REPLY_IN_QUEUE).
            r = self.bus.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "RequestName", "su", BUS_NAME, "0",
                                check=False)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "u 2"), r.stderr)


class LbclientWithoutDaemon(unittest.TestCase):
    def test_status_says_lbd_is_not_running(self):
        with lbdtest.PrivateSystemBus() as bus:
            r = lbdtest.lbclient(bus, "status")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not running", r.stderr)


class Lifecycle(unittest.TestCase):
    def test_ready_then_sigterm_exits_0(self):
        tmp = lbdtest.TempDir()
        self.addCleanup(tmp.cleanup)
        with lbdtest.PrivateSystemBus() as bus:
            lbd, _ = start_default_lbd(bus, tmp)
            try:
                with self.subTest(what="sd_notify READY=1"):
                    self.assertTrue(lbd.ready, lbd.notifications)
            finally:
                status = lbd.stop(timeout=15)
            self.assertEqual(status, 0, f"lbd exited with {status}; log:\n{lbd.log_tail()}")
            with self.subTest(what="name released"):
                self.assertFalse(bus.name_has_owner(BUS_NAME))
            with self.subTest(what="STOPPING=1"):
                self.assertIn("STOPPING=1", lbd.notifications)

    def test_no_bus_is_an_error(self):
        tmp = lbdtest.TempDir()
        try:
            r = lbdtest.run([lbdtest.lbd_path(), "--config-dir", tmp.join("none"),
                             "--state-dir", tmp.join("state"),
                             *lbdtest.plugin_args(),
                             *lbdtest.default_config_args(tmp.path),
                             "--bus-address", f"unix:path={tmp.join('no-such-socket')}"],
                            timeout=30)
        finally:
            tmp.cleanup()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no-such-socket", r.stderr)


class CheckConfig(unittest.TestCase):
    """lbd --check-config (-t): validates and exits, naming file, group, key."""

    def setUp(self):
        self.tmp = lbdtest.TempDir()
        self.addCleanup(self.tmp.cleanup)
        self.dropins = self.tmp.join("conf.d")
        os.mkdir(self.dropins)

    def lbd(self, *args, config=None):
        argv = [lbdtest.lbd_path(), "--config-dir", self.dropins,
                "--state-dir", self.tmp.join("state"), *lbdtest.plugin_args()]
        if config:
            argv += ["--config", config]
        return lbdtest.run(argv + list(args), timeout=30)

    def write(self, name, text):
        path = self.tmp.join(name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_embedded_default_is_valid(self):
        default = self.write("default.conf",
                             lbdtest.run([lbdtest.lbd_path(), "--dump-default-config"]).stdout)
        r = self.lbd("--check-config", config=default)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)

    def test_flags_in_any_order(self):
        # Each flag is a separate option: one given after -t must not clear
        # it (GOption writes an int; a bool field next to it was overwritten).
        default = self.write("default.conf",
                             lbdtest.run([lbdtest.lbd_path(), "--dump-default-config"]).stdout)
        r = self.lbd("-t", "--allow-unowned-plugins", config=default)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)

    def test_valid_config_with_dropin(self):
        main = self.write("lbd.conf", "[daemon]\nworkers=3\nworker-model=thread\n\n"
                                      "[service web]\nlisten=127.0.0.1:18080\n"
                                      "backends=127.0.0.1:18001;127.0.0.1:18002\n")
        with open(os.path.join(self.dropins, "50-workers.conf"), "w") as f:
            f.write("[daemon]\nworkers=5\n")
        r = self.lbd("--check-config", config=main)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with self.subTest(what="drop-in named"):
            self.assertIn("50-workers.conf", r.stdout)
        with self.subTest(what="drop-in wins"):
            self.assertRegex(r.stdout, r"\b5 worker")

    broken = [
        # (name, group, key, file content)
        ("workers not a number", "daemon", "workers", "[daemon]\nworkers=banana\n"),
        ("unknown worker model", "daemon", "worker-model", "[daemon]\nworker-model=fork-bomb\n"),
        ("unknown policy", "service web", "policy",
         "[service web]\nlisten=127.0.0.1:18080\nbackends=127.0.0.1:18001\npolicy=dice\n"),
        ("bad mode", "service web", "mode",
         "[service web]\nlisten=127.0.0.1:18080\nbackends=127.0.0.1:18001\nmode=udp\n"),
        ("bad listen address", "service web", "listen",
         "[service web]\nlisten=not an address\nbackends=127.0.0.1:18001\n"),
    ]

    def test_broken_main_config(self):
        for what, group, key, text in self.broken:
            with self.subTest(what):
                path = self.write("broken.conf", text)
                r = self.lbd("--check-config", config=path)
                msg = r.stdout + r.stderr
                self.assertEqual(r.returncode, 1, msg)
                self.assertIn(path, msg)
                self.assertIn(group, msg)
                self.assertIn(key, msg)

    def test_broken_dropin_is_named(self):
        main = self.write("lbd.conf", "[daemon]\nworkers=3\n")
        dropin = os.path.join(self.dropins, "90-bad.conf")
        with open(dropin, "w") as f:
            f.write("[daemon]\nworkers=-7\n")
        r = self.lbd("--check-config", config=main)
        msg = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, msg)
        self.assertIn("90-bad.conf", msg)
        self.assertIn("workers", msg)

    def test_not_a_key_file(self):
        path = self.write("garbage.conf", "this is not\x00 a key file {\n")
        r = self.lbd("-t", config=path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(path, r.stdout + r.stderr)

    def test_missing_explicit_config(self):
        path = self.tmp.join("does-not-exist.conf")
        r = self.lbd("-t", config=path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(path, r.stdout + r.stderr)

    def test_daemon_refuses_to_start_with_broken_config(self):
        path = self.write("broken.conf", "[daemon]\nworkers=banana\n")
        with lbdtest.PrivateSystemBus() as bus:
            r = lbdtest.run([lbdtest.lbd_path(), "--config", path, "--config-dir", self.dropins,
                             "--state-dir", self.tmp.join("state"), *lbdtest.plugin_args()],
                            env=bus.env(), timeout=30)
            self.assertFalse(bus.name_has_owner(BUS_NAME))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("workers", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
