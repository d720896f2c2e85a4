#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lbd's mutating D-Bus methods behind polkit, with everything real: a
private system bus, the real polkitd on it seeing the project's actions
file (polkit/org.example.LoadBalancer.policy) and the test's rules, and
callers as root and as uid 65534 (nobody) through busctl and gdbus.

- nobody reads every property of every object, ListPlugins, GetStatistics
  and GetManagedObjects, and introspects (busctl and gdbus);
- nobody's call of every mutating method (root: SetWorkers, SetWorkerModel,
  Reload, AddService, RemoveService, AddBackend, RemoveBackend, SetPolicy;
  backend: SetWeight, Drain, Enable, Disable) is refused (AccessDenied or
  InteractiveAuthorizationRequired) and changes nothing: every property,
  the worker PIDs and the state file stay;
- root's calls succeed without polkit being asked;
- with a rules file granting nobody the actions, nobody's calls of every
  mutating method succeed and take effect;
- with a rules file answering auth_admin, a non-interactive call gets
  InteractiveAuthorizationRequired;
- without polkitd, nobody is refused saying polkit is not available;
- bad arguments get the named errors, before any authorization, and the
  daemon keeps running with nothing changed;
- Workers emits PropertiesChanged on SetWorkers and on TTIN/TTOU.

lbd itself runs as the user lbd, as lbd.service runs it (so polkit must let
it ask about other users' processes: the actions' owner annotation), except
in Granted, where it runs as root as when started by hand.

Needs root (polkitd runs in a mount namespace: unshare -m); skipped without.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

BUS_NAME = lbdtest.BUS_NAME
ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
SERVICE_IFACE = IFACE + ".Service"
SERVICE_PATH = ROOT + "/service/web"
NOBODY = lbdtest.NOBODY

ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
INTERACTIVE = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
INVALID_ARGUMENT = "org.example.LoadBalancer.Error.InvalidArgument"
NOT_FOUND = "org.example.LoadBalancer.Error.NotFound"
EXISTS = "org.example.LoadBalancer.Error.Exists"

GRANT_NOBODY = """polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.example.LoadBalancer.") == 0 && subject.user == "nobody")
        return polkit.Result.YES;
});
"""
AUTH_ADMIN_FOR_NOBODY = """polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.example.LoadBalancer.") == 0 && subject.user == "nobody")
        return polkit.Result.AUTH_ADMIN;
});
"""

BACKEND_IFACE = IFACE + ".Backend"
B9 = "127.0.0.1:9"     # a backend of web in the test config
B10 = "127.0.0.1:10"   # another, configured down (so that Enable changes it)
NEW_BACKEND = "127.0.0.1:11"
API_PORT = lbdtest.free_port()


def b_path(address):
    return lbdtest.backend_path("web", address)


# Every mutating method, with arguments that change something from the test
# config (2 workers, event, service web with round_robin over B9 and B10,
# B10 down), in an order in which all of them succeed one after the other:
# (path, interface, method, busctl signature, busctl args, gdbus args, action).
MUTATING = [
    (ROOT, IFACE, "SetWorkers", "u", ["3"], ["uint32 3"], "configure-workers"),
    (ROOT, IFACE, "Reload", "", [], [], "reload"),
    (ROOT, IFACE, "SetPolicy", "ss", ["web", "least_conn"], ["web", "least_conn"],
     "manage-services"),
    (ROOT, IFACE, "SetWorkerModel", "sa{sv}", ["sync", "1", "Threads", "u", "2"],
     ["sync", "{'Threads': <uint32 2>}"], "configure-workers"),
    (ROOT, IFACE, "AddService", "sa{sv}",
     ["api", "2", "Listen", "as", "1", f"127.0.0.1:{API_PORT}", "Mode", "s", "tcp"],
     ["api", f"{{'Listen': <['127.0.0.1:{API_PORT}']>, 'Mode': <'tcp'>}}"],
     "manage-services"),
    (ROOT, IFACE, "AddBackend", "ssa{sv}", ["web", NEW_BACKEND, "1", "Weight", "u", "3"],
     ["web", NEW_BACKEND, "{'Weight': <uint32 3>}"], "manage-services"),
    (b_path(B9), BACKEND_IFACE, "SetWeight", "u", ["4"], ["uint32 4"], "manage-services"),
    (b_path(B9), BACKEND_IFACE, "Drain", "", [], [], "manage-services"),
    (b_path(B10), BACKEND_IFACE, "Enable", "", [], [], "manage-services"),
    (b_path(NEW_BACKEND), BACKEND_IFACE, "Disable", "", [], [], "manage-services"),
    (ROOT, IFACE, "RemoveBackend", "ss", ["web", B9], ["web", B9], "manage-services"),
    (ROOT, IFACE, "RemoveService", "s", ["api"], ["api"], "manage-services"),
    (ROOT, IFACE, "ReportFailoverState", "ss", ["VI_1", "MASTER"], ["VI_1", "MASTER"],
     "report-failover"),
]
# Those that need no object created by an earlier call (for the refusals).
MUTATING_ALONE = [c for c in MUTATING if c[2] not in ("Disable", "RemoveService")] + [
    (ROOT, IFACE, "RemoveService", "s", ["web"], ["web"], "manage-services"),
    (b_path(B9), BACKEND_IFACE, "Disable", "", [], [], "manage-services"),
]
MUTATING_CALLS = [(c[2], c[3], c[4]) for c in MUTATING_ALONE if c[0] == ROOT][:3]


def config_text(port):
    return ("[daemon]\nworkers=2\nworker-model=event\ngraceful-timeout=5\n\n"
            f"[service web]\nlisten=127.0.0.1:{port}\nbackends={B9};{B10} down\n"
            "policy=round_robin\n")


class PolkitCase(unittest.TestCase):
    """A bus with polkitd (unless WITH_POLKITD is false) and lbd, per class."""

    WITH_POLKITD = True
    RULES = None          # rules.d/50-test.rules text
    LBD_ARGS_BUS = False  # connect lbd with --bus-address instead of the env
    # lbd runs as lbd.service runs it, as the user lbd: polkit answers it
    # about its callers because each action names lbd its owner. None: as
    # root (lbd started by hand, the demo).
    LBD_USER = "lbd"

    @classmethod
    def setUpClass(cls):
        why = lbdtest.Polkitd.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.bus = lbdtest.PrivateSystemBus(
            [lbdtest.BUS_POLICY, lbdtest.POLKIT_BUS_POLICY]).start()
        cls.addClassCleanup(cls.bus.stop)
        cls.polkitd = None
        if cls.WITH_POLKITD:
            cls.polkitd = lbdtest.Polkitd(cls.bus).start()
            cls.addClassCleanup(cls.polkitd.stop)
            if cls.RULES:
                cls.polkitd.set_rules("50-test.rules", cls.RULES)
        config = cls.config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write(config_text(lbdtest.free_port()))
        args = ["--bus-address", cls.bus.address] if cls.LBD_ARGS_BUS else []
        cls.lbd = lbdtest.Lbd(cls.bus, config=config, args=args, user=cls.LBD_USER).start()
        cls.addClassCleanup(cls._stop_lbd)

    @classmethod
    def _stop_lbd(cls):
        status = cls.lbd.stop()
        print(f"--- lbd log (exit status {status}) ---\n{cls.lbd.log_tail(60)}",
              file=sys.stderr)
        if cls.polkitd:
            print(f"--- polkitd log ---\n{cls.polkitd.log_tail(20)}", file=sys.stderr)
        if status != 0:
            raise AssertionError(f"lbd exited with status {status}")

    def setUp(self):
        # Every test starts from the configuration: no state file, then a
        # reload (root's) puts the files' configuration back.
        state = os.path.join(self.lbd.state_dir, "state.conf")
        if os.path.exists(state):
            os.unlink(state)
        # sd_notify() blocks once 10 datagrams wait unread (max_dgram_qlen):
        # read them, as systemd would.
        self.lbd.poll_notifications()
        self.root_call("Reload")
        self.root_call("SetWorkers", "u", "2")
        self.wait_workers(2)

    # --- helpers ------------------------------------------------------------------

    def busctl(self, *args, as_nobody=False, interactive=False):
        argv = ["busctl", f"--address={self.bus.address}", "--json=short"]
        if not interactive:
            argv.append("--allow-interactive-authorization=no")
        argv += list(args)
        return lbdtest.run((NOBODY if as_nobody else []) + argv)

    def call(self, method, signature="", *args, as_nobody=False, interactive=False):
        argv = ["call", BUS_NAME, ROOT, IFACE, method]
        if signature:
            argv += [signature, *args]
        return self.busctl(*argv, as_nobody=as_nobody, interactive=interactive)

    def gdbus_call(self, method, *args, as_nobody=False):
        argv = ["gdbus", "call", "--address", self.bus.address, "--dest", BUS_NAME,
                "--object-path", ROOT, "--method", f"{IFACE}.{method}", *args]
        return lbdtest.run((NOBODY if as_nobody else []) + argv)

    def root_call(self, method, signature="", *args):
        r = self.call(method, signature, *args)
        self.assertEqual(r.returncode, 0, f"root's {method}: {r.stderr}")
        return r

    def prop(self, name, path=ROOT, iface=IFACE):
        return self.bus.get_property(path, iface, name)

    def worker_pids(self):
        return lbdtest.worker_pids(self.lbd.pid)

    def wait_workers(self, n, timeout=20.0):
        lbdtest.wait_until(lambda: len(self.worker_pids()) == n, timeout,
                           what=f"{n} worker processes", alive=self.lbd.process)

    def get_all(self, path, iface, as_nobody=False):
        r = self.busctl("call", BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                        "s", iface, as_nobody=as_nobody)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {k: v["data"] for k, v in json.loads(r.stdout)["data"][0].items()}

    def everything(self, as_nobody=False):
        """Every object's properties (path -> interface -> name -> value)."""
        r = self.busctl("call", BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                        "GetManagedObjects", as_nobody=as_nobody)
        self.assertEqual(r.returncode, 0, r.stderr)
        objects = {path: {i: {k: v["data"] for k, v in props.items()}
                          for i, props in ifaces.items()}
                   for path, ifaces in json.loads(r.stdout)["data"][0].items()}
        objects[ROOT] = {IFACE: self.get_all(ROOT, IFACE, as_nobody)}
        for ifaces in objects.values():  # counters move on their own
            for props in ifaces.values():
                for k in ("ActiveConnections", "Requests", "Failures"):
                    props.pop(k, None)
        return objects

    def state_file(self):
        try:
            with open(os.path.join(self.lbd.state_dir, "state.conf")) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def snapshot(self):
        return {"objects": self.everything(), "pids": self.worker_pids(),
                "state": self.state_file()}

    def busctl_call(self, call, as_nobody=False, interactive=False):
        path, iface, method, sig, args = call[:5]
        argv = ["call", BUS_NAME, path, iface, method] + ([sig, *args] if sig else [])
        return self.busctl(*argv, as_nobody=as_nobody, interactive=interactive)

    def gdbus_full(self, call, as_nobody=False):
        path, iface, method, _sig, _args, gargs = call[:6]
        argv = ["gdbus", "call", "--address", self.bus.address, "--dest", BUS_NAME,
                "--object-path", path, "--method", f"{iface}.{method}", *gargs]
        return lbdtest.run((NOBODY if as_nobody else []) + argv)


class Refused(PolkitCase):
    """polkitd with the project's actions and no rules: nobody has no session,
    so allow_any=no refuses every action."""

    def test_nobody_reads_properties(self):
        for name in ("Version", "WorkerModel", "Workers", "Services", "Links"):
            with self.subTest(property=name):
                r = self.busctl("get-property", BUS_NAME, ROOT, IFACE, name, as_nobody=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout)["data"], self.prop(name))
        with self.subTest(how="gdbus"):
            r = lbdtest.run(NOBODY + ["gdbus", "call", "--address", self.bus.address,
                                      "--dest", BUS_NAME, "--object-path", ROOT, "--method",
                                      "org.freedesktop.DBus.Properties.GetAll", IFACE])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("'Workers': <uint32 2>", r.stdout)
        with self.subTest(how="ListPlugins"):
            r = self.call("ListPlugins", as_nobody=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        with self.subTest(how="every object"):
            mine = self.everything(as_nobody=True)
            self.assertEqual(mine, self.everything())
            self.assertEqual(set(mine), {ROOT, SERVICE_PATH, b_path(B9), b_path(B10)})
            self.assertEqual(mine[b_path(B10)][BACKEND_IFACE]["State"], "disabled")
            for path in (SERVICE_PATH, b_path(B9)):
                iface = SERVICE_IFACE if path == SERVICE_PATH else BACKEND_IFACE
                props = self.get_all(path, iface, as_nobody=True)
                self.assertIn("ActiveConnections", props)
                self.assertIn("Requests", props)
        with self.subTest(how="GetStatistics"):
            r = self.call("GetStatistics", as_nobody=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            stats = json.loads(r.stdout)["data"][0]
            self.assertEqual(stats["Workers"]["data"], 2)
            self.assertEqual(len(stats["WorkerProcesses"]["data"]), 2)
            self.assertEqual(sorted(w[0] for w in stats["WorkerProcesses"]["data"]),
                             self.worker_pids())
            web = stats["Services"]["data"]["web"]
            self.assertEqual(set(web["Backends"]["data"]), {B9, B10})
            self.assertEqual(web["Backends"]["data"][B10]["State"]["data"], "disabled")

    def test_nobody_introspects(self):
        for path, iface, member in ((ROOT, IFACE, "AddService"),
                                    (SERVICE_PATH, SERVICE_IFACE, "Backends"),
                                    (b_path(B9), BACKEND_IFACE, "SetWeight")):
            with self.subTest(path=path, how="busctl"):
                r = lbdtest.run(NOBODY + ["busctl", f"--address={self.bus.address}",
                                          "introspect", BUS_NAME, path])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(iface, r.stdout)
                self.assertIn("." + member, r.stdout)
            with self.subTest(path=path, how="gdbus"):
                r = lbdtest.run(NOBODY + ["gdbus", "introspect", "--address", self.bus.address,
                                          "--dest", BUS_NAME, "--object-path", path])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"interface {iface}", r.stdout)
                self.assertIn(member, r.stdout)

    def test_nobody_is_refused_and_nothing_changes(self):
        before = self.snapshot()
        for call in MUTATING_ALONE:
            method, action = call[2], call[6]
            for interactive in (False, True):
                with self.subTest(method=method, how="busctl", interactive=interactive):
                    r = self.busctl_call(call, as_nobody=True, interactive=interactive)
                    self.assertNotEqual(r.returncode, 0, r.stdout)
                    # busctl shows the errno's text for these well-known
                    # errors (gdbus below shows name and message).
                    self.assertRegex(r.stderr, "(?i)access denied|interactive")
            with self.subTest(method=method, how="gdbus"):
                r = self.gdbus_full(call, as_nobody=True)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertRegex(r.stderr, f"({ACCESS_DENIED}|{INTERACTIVE})")
                self.assertIn(f"org.example.LoadBalancer.{action}", r.stderr)
        time.sleep(0.5)  # a wrongly started worker would show by now
        self.assertEqual(self.snapshot(), before)
        self.assertTrue(self.lbd.running())

    def test_root_is_allowed(self):
        before = self.worker_pids()
        self.root_call("SetWorkers", "u", "3")
        self.assertEqual(self.prop("Workers"), 3)
        self.wait_workers(3)
        self.assertTrue(set(before) < set(self.worker_pids()))

        self.wait_workers(3)
        running = self.worker_pids()
        r = self.gdbus_call("SetPolicy", "web", "least_conn")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.prop("Policy", SERVICE_PATH, SERVICE_IFACE), "least_conn")
        # The running workers take it through the shared backend table: no
        # new generation, and the worker count kept.
        self.assertEqual(self.prop("Workers"), 3)
        time.sleep(0.5)
        self.assertEqual(self.worker_pids(), running)

        pids = self.worker_pids()
        self.root_call("Reload")
        # What was set over D-Bus is saved in the state file, which a
        # reload merges over the files: 3 workers and least_conn stay.
        self.assertEqual(self.prop("Workers"), 3)
        self.assertEqual(self.prop("Policy", SERVICE_PATH, SERVICE_IFACE), "least_conn")
        lbdtest.wait_until(lambda: not set(self.worker_pids()) & set(pids), 20,
                           what="the workers to be replaced")

    def test_bad_arguments(self):
        before = self.snapshot()
        cases = [
            ("SetWorkers 0", ("SetWorkers", "u", "0"), INVALID_ARGUMENT, "0"),
            ("SetWorkers 5000", ("SetWorkers", "u", "5000"), INVALID_ARGUMENT, "5000"),
            ("unknown service", ("SetPolicy", "ss", "nosuch", "least_conn"), NOT_FOUND,
             "nosuch"),
            ("bad service name", ("SetPolicy", "ss", "no/such", "least_conn"),
             INVALID_ARGUMENT, "no/such"),
            ("unknown policy", ("SetPolicy", "ss", "web", "dice"), INVALID_ARGUMENT,
             "round_robin"),
        ]
        for what, call, name, text in cases:
            for who in ("root", "nobody"):
                # Arguments are checked before polkit is asked: nobody gets
                # the same named error.
                with self.subTest(what, who=who):
                    method, sig, *args = call
                    gargs = [f"uint32 {a}" if sig == "u" else a for a in args]
                    r = self.gdbus_call(method, *gargs, as_nobody=who == "nobody")
                    self.assertNotEqual(r.returncode, 0, r.stdout)
                    self.assertIn(name, r.stderr)
                    self.assertIn(text, r.stderr)
        with self.subTest("unknown policy names the loaded ones"):
            r = self.gdbus_call("SetPolicy", "web", "dice")
            for p in ("round_robin", "least_conn", "ip_hash"):
                self.assertIn(p, r.stderr)
        with self.subTest("busctl sees the error name too"):
            r = self.call("SetWorkers", "u", "0")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("1..1024", r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertTrue(self.lbd.running())

    def test_bad_arguments_of_every_method(self):
        before = self.snapshot()
        web_listen = self.prop("Listen", SERVICE_PATH, SERVICE_IFACE)[0]
        listen = f"127.0.0.1:{lbdtest.free_port()}"

        def svc(name, settings):
            return (ROOT, IFACE, "AddService", None, None, [name, settings])

        def backend(service, address, options="{}"):
            return (ROOT, IFACE, "AddBackend", None, None, [service, address, options])

        cases = [
            # (what, call, error, texts the message must have)
            ("bad name", svc("no/such", f"{{'Listen': <['{listen}']>}}"),
             INVALID_ARGUMENT, ["no/such"]),
            ("service exists", svc("web", f"{{'Listen': <['{listen}']>}}"),
             EXISTS, ["web"]),
            ("no Listen", svc("api", "{'Mode': <'tcp'>}"), INVALID_ARGUMENT, ["Listen"]),
            ("bad Listen", svc("api", "{'Listen': <['127.0.0.1:99999']>}"),
             INVALID_ARGUMENT, ["127.0.0.1:99999", "port"]),
            ("Listen taken", svc("api", f"{{'Listen': <['{web_listen}']>}}"),
             INVALID_ARGUMENT, [web_listen]),
            ("unknown key", svc("api", f"{{'Listen': <['{listen}']>, 'Colour': <'red'>}}"),
             INVALID_ARGUMENT, ["Colour", "Listen (as)"]),
            ("wrong type", svc("api", f"{{'Listen': <'{listen}'>}}"),
             INVALID_ARGUMENT, ["Listen", "'as'"]),
            ("bad Mode", svc("api", f"{{'Listen': <['{listen}']>, 'Mode': <'udp'>}}"),
             INVALID_ARGUMENT, ["udp", "http or tcp"]),
            ("bad Policy", svc("api", f"{{'Listen': <['{listen}']>, 'Policy': <'dice'>}}"),
             INVALID_ARGUMENT, ["dice", "least_conn"]),
            ("timeout range",
             svc("api", f"{{'Listen': <['{listen}']>, 'ProxyReadTimeout': <uint32 0>}}"),
             INVALID_ARGUMENT, ["ProxyReadTimeout", "1..86400"]),
            ("bad HealthCheck",
             svc("api", f"{{'Listen': <['{listen}']>, 'HealthCheck': <'ping'>}}"),
             INVALID_ARGUMENT, ["health-check"]),
            ("bad Backends entry",
             svc("api", f"{{'Listen': <['{listen}']>, 'Backends': <['127.0.0.1:1 weight=0']>}}"),
             INVALID_ARGUMENT, ["weight"]),
            ("Backends entry with ;",
             svc("api", f"{{'Listen': <['{listen}']>, 'Backends': <['127.0.0.1:1;x']>}}"),
             INVALID_ARGUMENT, ["';'"]),
            ("remove unknown service", (ROOT, IFACE, "RemoveService", None, None, ["nosuch"]),
             NOT_FOUND, ["nosuch"]),
            ("backend of unknown service", backend("nosuch", "127.0.0.1:12"), NOT_FOUND,
             ["nosuch"]),
            ("bad backend address", backend("web", "localhost:abc"), INVALID_ARGUMENT,
             ["localhost:abc"]),
            ("backend exists", backend("web", B9), EXISTS, [B9]),
            ("Weight range", backend("web", "127.0.0.1:12", "{'Weight': <uint32 0>}"),
             INVALID_ARGUMENT, ["Weight", "1..1000"]),
            ("Weight type", backend("web", "127.0.0.1:12", "{'Weight': <'heavy'>}"),
             INVALID_ARGUMENT, ["Weight", "'u'"]),
            ("MaxConns range", backend("web", "127.0.0.1:12", "{'MaxConns': <uint32 2000000>}"),
             INVALID_ARGUMENT, ["MaxConns", "0..1000000"]),
            ("unknown backend option", backend("web", "127.0.0.1:12", "{'Down': <true>}"),
             INVALID_ARGUMENT, ["Down", "Weight (u)"]),
            ("remove unknown backend",
             (ROOT, IFACE, "RemoveBackend", None, None, ["web", "127.0.0.1:12"]),
             NOT_FOUND, ["127.0.0.1:12"]),
            ("SetWeight 0", (b_path(B9), BACKEND_IFACE, "SetWeight", None, None, ["uint32 0"]),
             INVALID_ARGUMENT, ["1..1000"]),
            ("SetWeight 1001",
             (b_path(B9), BACKEND_IFACE, "SetWeight", None, None, ["uint32 1001"]),
             INVALID_ARGUMENT, ["1001"]),
            ("no such backend object",
             (b_path("127.0.0.1:12"), BACKEND_IFACE, "Drain", None, None, []),
             "org.freedesktop.DBus.Error.UnknownObject", []),
            ("unknown worker model",
             (ROOT, IFACE, "SetWorkerModel", None, None, ["turbo", "{}"]),
             INVALID_ARGUMENT, ["turbo", "event", "sync", "thread"]),
            ("Threads range",
             (ROOT, IFACE, "SetWorkerModel", None, None, ["thread", "{'Threads': <uint32 0>}"]),
             INVALID_ARGUMENT, ["Threads", "1..1024"]),
            ("WorkerConnections type",
             (ROOT, IFACE, "SetWorkerModel", None, None,
              ["event", "{'WorkerConnections': <'many'>}"]),
             INVALID_ARGUMENT, ["WorkerConnections", "'u'"]),
        ]
        for what, call, name, texts in cases:
            for who in ("root", "nobody"):
                # Arguments are checked before polkit is asked: nobody gets
                # the same named error.
                with self.subTest(what, who=who):
                    r = self.gdbus_full(call, as_nobody=who == "nobody")
                    self.assertNotEqual(r.returncode, 0, r.stdout)
                    self.assertIn(name, r.stderr)
                    for text in texts:
                        self.assertIn(text, r.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertTrue(self.lbd.running())

    def test_failed_reload_changes_nothing(self):
        with open(self.lbd.config_path) as f:
            good = f.read()
        def restore():
            with open(self.lbd.config_path, "w") as f:
                f.write(good)
        self.addCleanup(restore)
        with open(self.lbd.config_path, "w") as f:
            f.write(good.replace("workers=2", "workers=banana"))
        before = self.snapshot()
        r = self.gdbus_call("Reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("org.example.LoadBalancer.Error.Failed", r.stderr)
        self.assertIn("workers", r.stderr)  # the reason names the key
        self.assertEqual(self.snapshot(), before)
        self.assertTrue(self.lbd.running())

    def test_nothing_to_do_needs_no_authorization(self):
        r = self.call("SetWorkers", "u", "2", as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.call("SetPolicy", "ss", "web", "round_robin", as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_workers_emits_properties_changed(self):
        monitor = subprocess.Popen(
            ["gdbus", "monitor", "--address", self.bus.address, "--dest", BUS_NAME,
             "--object-path", ROOT], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, preexec_fn=lbdtest._set_pdeathsig)
        try:
            time.sleep(0.5)  # its match rule in place
            self.root_call("SetWorkers", "u", "3")
            os.kill(self.lbd.pid, signal.SIGTTIN)
            lbdtest.wait_until(lambda: self.prop("Workers") == 4, 10, what="TTIN")
            os.kill(self.lbd.pid, signal.SIGTTOU)
            lbdtest.wait_until(lambda: self.prop("Workers") == 3, 10, what="TTOU")
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out = monitor.communicate(timeout=10)[0]
        changes = [line for line in out.splitlines() if "PropertiesChanged" in line]
        seen = [c for c in changes if "'Workers'" in c]
        for n in (3, 4, 3):
            self.assertIn(f"'Workers': <uint32 {n}>", "\n".join(seen), out)
        self.assertEqual(len(seen), 3, out)


class Granted(PolkitCase):
    """A rules file grants nobody every org.example.LoadBalancer action; lbd
    connects with --bus-address this time."""

    RULES = GRANT_NOBODY
    LBD_ARGS_BUS = True
    LBD_USER = None

    def test_nobody_is_allowed(self):
        pids = self.worker_pids()
        r = self.call("SetWorkers", "u", "3", as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.prop("Workers"), 3)
        r = self.gdbus_call("SetPolicy", "web", "ip_hash", as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.prop("Policy", SERVICE_PATH, SERVICE_IFACE), "ip_hash")
        r = self.call("Reload", as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The change survives the reload (saved in the state file).
        self.assertEqual(self.prop("Policy", SERVICE_PATH, SERVICE_IFACE), "ip_hash")
        lbdtest.wait_until(lambda: not set(self.worker_pids()) & set(pids), 20,
                           what="the workers to be replaced")

    def test_nobody_may_call_every_method(self):
        for call in MUTATING:
            with self.subTest(method=call[2]):
                r = self.gdbus_full(call, as_nobody=True)
                self.assertEqual(r.returncode, 0, r.stderr)
        # Every change took effect, in order.
        objects = self.everything()
        root = objects[ROOT][IFACE]
        self.assertEqual((root["Workers"], root["WorkerModel"], root["Threads"]), (3, "sync", 2))
        self.assertEqual(root["Services"], [SERVICE_PATH])  # api added, then removed
        self.assertEqual(root["FailoverStates"], {"VI_1": "MASTER"})
        web = objects[SERVICE_PATH][SERVICE_IFACE]
        self.assertEqual(web["Policy"], "least_conn")
        self.assertEqual(web["Backends"], [b_path(B10), b_path(NEW_BACKEND)])  # B9 removed
        self.assertNotIn(b_path(B9), objects)
        self.assertEqual(objects[b_path(B10)][BACKEND_IFACE]["State"], "up")
        new = objects[b_path(NEW_BACKEND)][BACKEND_IFACE]
        self.assertEqual((new["Weight"], new["State"]), (3, "disabled"))
        with open(os.path.join(self.lbd.state_dir, "state.conf")) as f:
            state = f.read()
        self.assertIn("worker-model=sync", state)
        self.assertIn(NEW_BACKEND, state)

    def test_many_calls_at_once(self):
        # Queries overlap: each call is answered, in whatever order.
        procs = [subprocess.Popen(
            NOBODY + ["busctl", f"--address={self.bus.address}", "call", BUS_NAME, ROOT,
                      IFACE, "SetWorkers", "u", str(n)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for n in (3, 4, 5, 3, 4, 5, 3, 4)]
        for p in procs:
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
        self.assertIn(self.prop("Workers"), (3, 4, 5))


class Challenge(PolkitCase):
    """polkit answers auth_admin for nobody: without the interactive flag the
    caller is told that interactive authorization is required."""

    RULES = AUTH_ADMIN_FOR_NOBODY

    def test_interactive_authorization_required(self):
        before = self.snapshot()
        for method, sig, args in MUTATING_CALLS:
            with self.subTest(method=method):
                gargs = [f"uint32 {a}" if sig == "u" else a for a in args]
                r = self.gdbus_call(method, *gargs, as_nobody=True)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn(INTERACTIVE, r.stderr)
        self.assertEqual(self.snapshot(), before)


class WithoutPolkitd(PolkitCase):
    """No polkitd on the bus: root still may, nobody is refused saying so."""

    WITH_POLKITD = False

    def test_nobody_is_refused(self):
        before = self.snapshot()
        r = self.gdbus_call("SetWorkers", "uint32 3", as_nobody=True)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn(ACCESS_DENIED, r.stderr)
        self.assertIn("polkit is not available", r.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_root_is_allowed(self):
        self.root_call("SetWorkers", "u", "3")
        self.assertEqual(self.prop("Workers"), 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
