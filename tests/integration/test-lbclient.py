#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lbclient against the live lbd on a private system bus, with the real
polkitd and two gunicorn backends: every command's output and exit status.

- status, service/backend/link/plugin list and show: tables, terse and JSON
  output (parsed with json and compared field by field with the D-Bus
  properties read through busctl); -f selecting and ordering columns;
- terse output read by a real shell loop (IFS=: read undoes the escapes);
- service add/set/remove, backend add/set/drain/disable/enable/remove,
  policy set, workers set/model, reload: the change seen on the bus;
- stats (JSON checked against the workers and requests sent), --watch in a
  pipe and on a terminal (script(1)), monitor (lines as changes happen);
- errors: unknown service or backend (4), bad values and ambiguous prefixes
  (2), the daemon not running (5), nobody refused by polkit (3); link
  commands: argument checks, and the daemon's answer without NetworkManager;
- a daemon older than lbclient (old-lbd): "does not support X" (1);
- on a terminal pkttyagent is started and interactive authorization
  allowed, not with --no-ask-password nor in a pipe;
- --help of every command group; bash completion from the live daemon;
  colour only on a terminal and not with NO_COLOR.
"""
import json
import os
import queue
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

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
SERVICE_IFACE = IFACE + ".Service"
BACKEND_IFACE = IFACE + ".Backend"
NOBODY = lbdtest.NOBODY
EXIT_FAILED, EXIT_USAGE, EXIT_DENIED, EXIT_NOT_FOUND, EXIT_NOT_RUNNING = 1, 2, 3, 4, 5
SOURCE_ROOT = lbdtest.SOURCE_ROOT
COMPLETION = os.path.join(SOURCE_ROOT, "client", "lbclient.bash-completion")


def lbclient_argv(*args):
    return [lbdtest.lbclient_path(), *args]


class Lines:
    """The lines of a child's text stream, read by a thread, with a timeout."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.stream = stream
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def close(self):
        """After the child exited: the reader is at the end; close the stream."""
        self.thread.join(5)
        self.stream.close()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def next(self, deadline):
        """The next line; None at the end of the stream or at the deadline."""
        try:
            return self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None


def interrupt(proc, *readers):
    """Ctrl-C for a child, then close its pipes (after its Lines readers end)."""
    proc.send_signal(signal.SIGINT)
    proc.wait(5)
    for r in readers:
        r.thread.join(5)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


class LbclientCase(unittest.TestCase):
    """One bus, polkitd (when it can run), two gunicorn backends and lbd."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root: changes are authorized for uid 0 only")
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.polkit_missing = lbdtest.Polkitd.unavailable()
        policies = [lbdtest.BUS_POLICY] + ([] if cls.polkit_missing else
                                           [lbdtest.POLKIT_BUS_POLICY])
        cls.bus = lbdtest.PrivateSystemBus(policies).start()
        cls.addClassCleanup(cls.bus.stop)
        if not cls.polkit_missing:
            cls.polkitd = lbdtest.Polkitd(cls.bus).start()
            cls.addClassCleanup(cls.polkitd.stop)
        cls.backends = lbdtest.GunicornBackends(2).start()
        cls.addClassCleanup(cls.backends.stop)
        cls.b1, cls.b2 = cls.backends.addresses
        cls.listen = f"127.0.0.1:{lbdtest.free_port()}"
        config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write("[daemon]\nworkers=2\nworker-model=event\ngraceful-timeout=5\n\n"
                    f"[service web]\nlisten={cls.listen}\n"
                    f"backends={cls.b1} weight=2;{cls.b2} backup\npolicy=round_robin\n")
        cls.lbd = lbdtest.Lbd(cls.bus, config=config).start()
        cls.addClassCleanup(cls._stop_lbd)

    @classmethod
    def _stop_lbd(cls):
        lbdtest.stop_clean(cls.lbd)

    # --- helpers ------------------------------------------------------------------

    def lb(self, *args, as_nobody=False, env=None, timeout=30.0):
        argv = (NOBODY if as_nobody else []) + lbclient_argv(*args)
        return lbdtest.run(argv, env=self.bus.env(env), timeout=timeout)

    def ok(self, *args, **kw):
        r = self.lb(*args, **kw)
        self.assertEqual(r.returncode, 0, f"lbclient {' '.join(args)}: {r.stderr}")
        self.assertEqual(r.stderr, "", f"lbclient {' '.join(args)} wrote to stderr")
        return r.stdout

    def fails(self, code, pattern, *args, **kw):
        """The command exits with code and one line on stderr matching pattern."""
        r = self.lb(*args, **kw)
        self.assertEqual(r.returncode, code,
                         f"lbclient {' '.join(args)}: stdout {r.stdout!r} stderr {r.stderr!r}")
        self.assertRegex(r.stderr, pattern)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertTrue(r.stderr.startswith("lbclient: "), r.stderr)
        self.assertEqual(r.stdout, "")
        return r

    def json(self, *args):
        return json.loads(self.ok("-o", "json", *args))

    def prop(self, name, path=ROOT, iface=IFACE):
        return self.bus.get_property(path, iface, name)

    def sprop(self, service, name):
        return self.prop(name, lbdtest.service_path(service), SERVICE_IFACE)

    def bprop(self, service, address, name):
        return self.prop(name, lbdtest.backend_path(service, address), BACKEND_IFACE)

    def service_names(self):
        return [self.bus.get_property(p, SERVICE_IFACE, "Name") for p in self.prop("Services")]

    def add_service(self, name, *extra):
        self.ok("service", "add", name, "listen", f"127.0.0.1:{lbdtest.free_port()}", *extra)
        self.addCleanup(self.lb, "service", "remove", name)

    def has_method(self, method):
        xml = self.bus.busctl("introspect", "--xml-interface", lbdtest.BUS_NAME, ROOT).stdout
        return f'<method name="{method}">' in xml


class ReadCommands(LbclientCase):
    def test_status_table(self):
        out = self.ok("status")
        self.assertRegex(out, rf"(?m)^lbd {re.escape(self.prop('Version'))}$")
        self.assertRegex(out, r"(?m)^  worker model: event$")
        self.assertRegex(out, r"(?m)^  workers:\s+2$")
        self.assertRegex(out, r"(?m)^service web$")
        self.assertRegex(out, rf"(?m)^  listen: {re.escape(self.listen)}$")
        self.assertRegex(out, rf"(?m)^\s+{re.escape(self.b1)}\s+2\s+up\s+no$")
        self.assertRegex(out, rf"(?m)^\s+{re.escape(self.b2)}\s+1\s+up\s+yes$")
        self.assertNotIn("\033[", out, "colour in a pipe")
        # No command at all is status.
        self.assertEqual(self.ok(), out)

    def test_status_json(self):
        s = self.json("status")
        self.assertEqual(s["version"], self.prop("Version"))
        self.assertEqual(s["worker_model"], self.prop("WorkerModel"))
        self.assertEqual(s["workers"], self.prop("Workers"))
        self.assertEqual(s["threads"], self.prop("Threads"))
        self.assertEqual(s["worker_connections"], self.prop("WorkerConnections"))
        self.assertEqual([x["name"] for x in s["services"]], self.service_names())
        self.assertEqual(s["links"], [])
        web = s["services"][0]
        self.assertEqual(web["listen"], self.sprop("web", "Listen"))
        self.assertEqual(web["mode"], "http")
        self.assertEqual(web["policy"], self.sprop("web", "Policy"))
        self.assertEqual([(b["address"], b["weight"], b["state"], b["backup"])
                          for b in web["backends"]],
                         [(self.b1, 2, "up", False), (self.b2, 1, "up", True)])

    def test_status_terse(self):
        lines = self.ok("-t", "status").splitlines()
        self.assertIn(f"version:{self.prop('Version')}", lines)
        self.assertIn("workers:2", lines)
        self.assertIn("services:web", lines)
        self.assertEqual(self.ok("-t", "-f", "workers,worker_model", "status"),
                         "workers:2\nworker_model:event\n")

    def test_service_list(self):
        out = self.ok("service", "list").splitlines()
        header = out[0].split()
        self.assertEqual(header, ["NAME", "MODE", "LISTEN", "POLICY", "BACKENDS"])
        # Aligned: every column starts where its header does.
        col = out[0].index("POLICY")
        self.assertEqual(out[1][col:].split()[0], "round_robin", out)
        self.assertEqual(out[1].split()[:4], ["web", "http", self.listen, "round_robin"])
        data = self.json("service", "list")
        self.assertEqual(data, [{
            "name": "web", "mode": "http", "listen": [self.listen], "policy": "round_robin",
            "backends": [self.b1, self.b2]}])
        data = self.json("-f", "requests,name,read_timeout", "service", "list")
        self.assertEqual(list(data[0]), ["requests", "name", "read_timeout"])
        self.assertEqual(data[0]["read_timeout"], self.sprop("web", "ProxyReadTimeout"))
        self.assertEqual(data[0]["requests"], self.sprop("web", "Requests"))
        # Prefixes, and "service" alone lists.
        self.assertEqual(self.ok("serv", "l"), self.ok("service", "list"))
        self.assertEqual(self.ok("service"), self.ok("service", "list"))

    def test_service_show(self):
        data = self.json("service", "show", "web")
        for field, prop in (("name", "Name"), ("mode", "Mode"), ("listen", "Listen"),
                            ("policy", "Policy"), ("connect_timeout", "ProxyConnectTimeout"),
                            ("read_timeout", "ProxyReadTimeout"),
                            ("active_connections", "ActiveConnections")):
            with self.subTest(field=field):
                self.assertEqual(data[field], self.sprop("web", prop))
        out = self.ok("service", "show", "web")
        self.assertRegex(out, r"(?m)^name:\s+web$")
        self.assertRegex(out, rf"(?m)^backends:\s+{re.escape(self.b1)}, {re.escape(self.b2)}$")
        self.assertEqual(self.ok("-t", "-f", "policy,listen", "service", "show", "web"),
                         "policy:round_robin\nlisten:" + self.listen.replace(":", "\\:") + "\n")

    def test_backend_list_and_show(self):
        data = self.json("backend", "list")
        self.assertEqual([(b["service"], b["address"]) for b in data],
                         [("web", self.b1), ("web", self.b2)])
        for b in data:
            for field, prop in (("state", "State"), ("weight", "Weight"), ("backup", "Backup"),
                                ("max_fails", "MaxFails"), ("fail_timeout", "FailTimeout"),
                                ("max_conns", "MaxConns"), ("slow_start", "SlowStart")):
                with self.subTest(backend=b["address"], field=field):
                    self.assertEqual(b[field], self.bprop("web", b["address"], prop))
        self.assertEqual(self.json("backend", "list", "web"), data)
        self.assertEqual(self.ok("b", "l"), self.ok("backend", "list"))
        show = self.json("backend", "show", "web", self.b2)
        self.assertEqual(show["address"], self.b2)
        self.assertIs(show["backup"], True)
        self.assertEqual(show["failures"], self.bprop("web", self.b2, "Failures"))
        out = self.ok("backend", "list").splitlines()
        self.assertEqual(out[0].split()[:4], ["SERVICE", "ADDRESS", "STATE", "WEIGHT"])

    def test_terse_in_a_shell_loop(self):
        # IFS=: read (without -r) undoes the escaped ':' of the addresses.
        script = (f"{lbdtest.lbclient_path()} -t -f service,address,weight,backup backend list |"
                  " while IFS=: read svc addr weight backup; do"
                  ' echo "svc=$svc addr=$addr weight=$weight backup=$backup"; done')
        r = lbdtest.run(["bash", "-c", script], env=self.bus.env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            f"svc=web addr={self.b1} weight=2 backup=no",
            f"svc=web addr={self.b2} weight=1 backup=yes"])
        script = (f"{lbdtest.lbclient_path()} -t -f name service list |"
                  ' while IFS=: read name; do echo "[$name]"; done')
        r = lbdtest.run(["bash", "-c", script], env=self.bus.env())
        self.assertEqual(r.stdout, "[web]\n", r.stderr)

    def test_plugin_list(self):
        reply = self.bus.call(ROOT, IFACE, "ListPlugins")["data"][0]
        data = self.json("-f", "all", "plugin", "list")
        self.assertEqual([[p["kind"], p["name"], p["description"], p["path"]] for p in data],
                         reply)
        lines = self.ok("-t", "-f", "kind,name", "plugin", "list").splitlines()
        self.assertEqual(sorted(lines), sorted(f"{k}:{n}" for k, n, _, _ in reply))

    def test_link_list_and_show(self):
        self.assertEqual(self.json("link", "list"), [])
        self.assertEqual(self.ok("link", "list").split(),
                         ["NAME", "KIND", "MODE", "PORTS", "STATE", "MANAGED"])
        self.fails(EXIT_NOT_FOUND, r"no link 'bond9'", "link", "show", "bond9")

    def test_stats(self):
        for _ in range(6):
            status, _, _ = lbdtest.http_request(self.listen, "/")
            self.assertEqual(status, 200)

        def requests_counted():
            s = self.json("stats")
            web = s["services"][0]
            return s if sum(b["requests"] for b in web["backends"]) >= 6 else None
        s = lbdtest.wait_until(requests_counted, 10, what="6 requests in the statistics")
        self.assertEqual(s["workers"], self.prop("Workers"))
        self.assertGreaterEqual(s["requests"], 6)
        self.assertGreaterEqual(s["accepted_connections"], 6)
        pids = {w["pid"] for w in s["worker_processes"]}
        self.assertEqual(pids, set(lbdtest.worker_pids(self.lbd.pid)))
        self.assertEqual(sum(w["requests"] for w in s["worker_processes"]), s["requests"])
        web = s["services"][0]
        self.assertEqual(web["name"], "web")
        self.assertEqual([b["address"] for b in web["backends"]], [self.b1, self.b2])
        primary = web["backends"][0]
        # The backup gets nothing while the primary is up.
        self.assertEqual((primary["state"], web["backends"][1]["requests"]), ("up", 0))
        self.assertGreater(primary["latency_us"], 0)
        rows = self.ok("-t", "-f", "service,address,requests", "stats").splitlines()
        self.assertEqual(len(rows), 2)
        self.assertTrue(rows[0].startswith("web:" + self.b1.replace(":", "\\:") + ":"), rows)
        out = self.ok("stats")
        self.assertRegex(out, r"^lbd: 2 workers, \d+ active connections")
        self.assertRegex(out, rf"(?m)^web\s+{re.escape(self.b1)}\s+up\s")

    def test_stats_watch_in_a_pipe(self):
        p = subprocess.Popen(lbclient_argv("-o", "json", "stats", "--watch=0.2"),
                             env=self.bus.env(), stdout=subprocess.PIPE, text=True)
        try:
            lines = [p.stdout.readline() for _ in range(3)]
        finally:
            p.send_signal(signal.SIGINT)
            p.wait(5)
            p.stdout.close()
        for line in lines:
            self.assertEqual(json.loads(line)["workers"], 2)

    @unittest.skipUnless(shutil.which("script"), "needs script(1) for a terminal")
    def test_colour_and_watch_on_a_terminal(self):
        def on_tty(*args, env=None):
            cmd = " ".join(lbclient_argv(*args))
            return lbdtest.run(["script", "-qec", cmd, "/dev/null"], env=self.bus.env(env),
                               timeout=15)
        r = on_tty("backend", "list", env={"TERM": "xterm"})
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("\033[32mup\033[0m", r.stdout)
        r = on_tty("backend", "list", env={"TERM": "xterm", "NO_COLOR": "1"})
        self.assertNotIn("\033[", r.stdout)
        self.assertIn("up", r.stdout)
        # --watch redraws in place: home and clear before each snapshot.
        p = subprocess.Popen(["script", "-qec", " ".join(lbclient_argv("stats", "-w0.2")),
                              "/dev/null"], env=self.bus.env({"TERM": "xterm"}),
                             stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                             start_new_session=True)
        try:
            out = b""
            deadline = time.monotonic() + 10
            while out.count(b"\033[H\033[2J") < 3 and time.monotonic() < deadline:
                out += os.read(p.stdout.fileno(), 65536)
        finally:
            # Ctrl-C on the terminal: lbclient ends, then script.
            try:
                p.stdin.write(b"\x03")
                p.stdin.flush()
                p.communicate(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGTERM)
                p.communicate(timeout=5)
        self.assertGreaterEqual(out.count(b"\033[H\033[2J"), 3, out[-300:])
        self.assertGreaterEqual(out.count(b" 2 workers, "), 3)

    def test_help_of_every_command(self):
        out = self.ok("--help")
        for group, verbs in (("service", "list show add remove set"),
                             ("backend", "list show add remove set drain enable disable"),
                             ("policy", "set"), ("workers", "set model"), ("plugin", "list"),
                             ("link", "list show add modify up down delete"),
                             ("status", ""), ("stats", ""), ("monitor", ""), ("reload", "")):
            # "GROUP VERB --help" shows the group's help, listing every verb.
            args = [group] + verbs.split()[-1:] + ["--help"]
            h = self.ok(*args)
            self.assertIn(f"lbclient [OPTIONS] {group}", h)
            for verb in verbs.split() or [""]:
                with self.subTest(command=f"{group} {verb}"):
                    self.assertRegex(out, rf"(?m)^  {group}{' ' + verb if verb else ''}\b")
                    self.assertRegex(h, rf"(?m)^  {group}{' ' + verb if verb else ''}\b")
        self.assertEqual(self.ok("b", "--help"), self.ok("backend", "drain", "--help"))
        self.assertRegex(self.ok("--version"), r"^lbclient \S+\n$")

    def test_nobody_reads_but_is_refused_changes(self):
        if self.polkit_missing:
            self.skipTest(self.polkit_missing)
        out = self.ok("-o", "json", "status", as_nobody=True)
        self.assertEqual(json.loads(out)["workers"], self.prop("Workers"))
        for args in (["workers", "set", "5"], ["policy", "set", "web", "ip_hash"],
                     ["backend", "drain", "web", self.b1], ["reload"],
                     ["service", "remove", "web"]):
            with self.subTest(args=args):
                self.fails(EXIT_DENIED, r"access denied", *args, as_nobody=True)
        self.assertEqual((self.prop("Workers"), self.sprop("web", "Policy"),
                          self.bprop("web", self.b1, "State"), self.service_names()),
                         (2, "round_robin", "up", ["web"]))

    def test_usage_errors(self):
        self.fails(EXIT_USAGE, r"'s' is ambiguous: it could be status, service, stats", "s")
        self.fails(EXIT_USAGE, r"'st' is ambiguous: it could be status, stats", "st")
        self.fails(EXIT_USAGE, r"unknown command 'frobnicate'", "frobnicate")
        self.fails(EXIT_USAGE, r"'d' is ambiguous: it could be drain, disable", "backend", "d",
                   "web", self.b1)
        self.fails(EXIT_USAGE, r"unknown field 'nope' .*name, mode, listen", "-f", "nope",
                   "service", "list")
        self.fails(EXIT_USAGE, r"unknown output format 'xml'", "-o", "xml", "status")
        self.fails(EXIT_USAGE, r"weight must be a whole number from 1 to 1000, not '0'",
                   "backend", "add", "web", "127.0.0.1:1", "weight", "0")
        self.fails(EXIT_USAGE, r"backup must be yes or no", "backend", "add", "web",
                   "127.0.0.1:1", "backup", "maybe")
        self.fails(EXIT_USAGE, r"unknown setting of 'backend add' 'colour'", "backend", "add",
                   "web", "127.0.0.1:1", "colour", "red")
        self.fails(EXIT_USAGE, r"needs SERVICE ADDRESS", "backend", "drain", "web")
        self.fails(EXIT_USAGE, r"COUNT must be a whole number from 1 to 1024", "workers", "set",
                   "0")
        self.fails(EXIT_USAGE, r"--watch is an option of 'stats' only", "-w", "status")
        self.fails(EXIT_USAGE, r"'service add' needs listen", "service", "add", "api")
        self.fails(EXIT_USAGE, r"mode must be one of http, tcp, not 'udp'", "service", "add",
                   "api", "listen", "127.0.0.1:1", "mode", "udp")
        # Nothing was changed by any of them.
        self.assertEqual(self.service_names(), ["web"])
        self.assertEqual(len(self.prop("Backends", lbdtest.service_path("web"), SERVICE_IFACE)),
                         2)

    def test_not_found(self):
        self.fails(EXIT_NOT_FOUND, r"no service 'nope'", "service", "show", "nope")
        self.fails(EXIT_NOT_FOUND, r"no service 'nope'", "backend", "list", "nope")
        self.fails(EXIT_NOT_FOUND, r"service 'web' has no backend '127.0.0.1:1'", "backend",
                   "drain", "web", "127.0.0.1:1")
        self.fails(EXIT_NOT_FOUND, r"service 'web' has no backend", "backend", "set", "web",
                   "127.0.0.1:1", "weight", "3")
        self.fails(EXIT_NOT_FOUND, r"RemoveService: No service 'nope'", "service", "remove",
                   "nope")
        self.fails(EXIT_NOT_FOUND, r"No service 'nope'", "policy", "set", "nope", "least_conn")
        self.fails(EXIT_NOT_FOUND, r"has no backend", "backend", "remove", "web", "127.0.0.1:1")

    def test_link_commands(self):
        for args, pattern in (
                (["link", "add", "bond", "bond0"], r"needs ports"),
                (["link", "add", "bond", "bond0", "ports", "eth1", "runner", "lacp"],
                 r"runner is a setting of a team, not of a bond"),
                (["link", "add", "team", "team0", "ports", "eth1", "miimon", "100"],
                 r"miimon is a setting of a bond, not of a team"),
                (["link", "add", "vlan", "x", "ports", "eth1"], r"unknown link kind 'vlan'"),
                (["link", "add", "bond", "a-name-far-too-long", "ports", "eth1"],
                 r"not an interface name"),
                (["link", "add", "bond", "bond0", "ports", "eth1", "mode", "fastest"],
                 r"mode must be one of balance-rr, active-backup"),
                (["link", "add", "bond", "bond0", "ports", "eth1", "ipv4.method", "dhcp"],
                 r"ipv4.method must be one of auto, manual, disabled"),
                (["link", "modify", "bond0"], r"needs IFNAME SETTING VALUE"),
                (["link", "up"], r"needs IFNAME")):
            with self.subTest(args=args):
                self.fails(EXIT_USAGE, pattern, *args)
        # Well-formed: lbd answers. No NetworkManager runs on this bus.
        self.fails(EXIT_FAILED, r"^lbclient: CreateLink failed: NetworkManager is unavailable",
                   "link", "add", "bond", "bond0", "ports", "eth1,eth2", "mode", "active-backup",
                   "miimon", "100", "ipv4.method", "manual", "ipv4.addresses", "10.0.0.2/24",
                   "ipv4.route-metric", "100", "activate", "no")
        self.fails(EXIT_FAILED, r"^lbclient: CreateLink failed: NetworkManager is unavailable",
                   "link", "add", "team", "team0", "ports", "eth1", "runner", "lacp")
        for args, method in ((["link", "modify", "bond0", "mode", "802.3ad"], "ModifyLink"),
                             (["link", "up", "bond0"], "ActivateLink"),
                             (["link", "down", "bond0"], "DeactivateLink"),
                             (["link", "delete", "bond0"], "DeleteLink")):
            with self.subTest(method=method):
                self.fails(EXIT_NOT_FOUND, rf"^lbclient: {method}: No bond or team link 'bond0'",
                           *args)


class Changes(LbclientCase):
    def test_service_add_show_set_remove(self):
        port = lbdtest.free_port()
        self.ok("service", "add", "api", "listen", f"127.0.0.1:{port}", "mode", "tcp",
                "policy", "least_conn", "connect-timeout", "3", "read_timeout", "30",
                "backend", f"{self.b1} weight=3", "backend", self.b2)
        self.addCleanup(self.lb, "service", "remove", "api")
        self.assertEqual(self.service_names(), ["web", "api"])
        s = self.json("service", "show", "api")
        self.assertEqual((s["mode"], s["policy"], s["connect_timeout"], s["read_timeout"]),
                         ("tcp", "least_conn", 3, 30))
        self.assertEqual(s["listen"], [f"127.0.0.1:{port}"])
        self.assertEqual(s["backends"], [self.b1, self.b2])
        self.assertEqual(self.bprop("api", self.b1, "Weight"), 3)
        self.fails(EXIT_FAILED, r"AddService failed: .*api", "service", "add", "api", "listen",
                   f"127.0.0.1:{lbdtest.free_port()}")
        self.ok("service", "set", "api", "policy", "ip_hash")
        self.assertEqual(self.sprop("api", "Policy"), "ip_hash")
        self.fails(EXIT_USAGE, r"unknown setting of 'service set' 'mode'", "service", "set",
                   "api", "mode", "http")
        self.ok("service", "remove", "api")
        self.assertEqual(self.service_names(), ["web"])
        self.fails(EXIT_NOT_FOUND, r"no service 'api'", "service", "show", "api")

    def test_backend_lifecycle(self):
        self.add_service("pool")
        addr = "127.0.0.1:9"
        self.ok("backend", "add", "pool", addr, "weight", "4", "max_fails", "2",
                "fail-timeout", "20", "backup", "no", "max-conns", "50", "slow-start", "5")
        b = self.json("backend", "show", "pool", addr)
        self.assertEqual({k: b[k] for k in ("weight", "max_fails", "fail_timeout", "backup",
                                              "max_conns", "slow_start")},
                         {"weight": 4, "max_fails": 2, "fail_timeout": 20, "backup": False,
                          "max_conns": 50, "slow_start": 5})
        for field, prop in (("weight", "Weight"), ("max_conns", "MaxConns"),
                            ("slow_start", "SlowStart"), ("fail_timeout", "FailTimeout")):
            self.assertEqual(b[field], self.bprop("pool", addr, prop))
        self.fails(EXIT_FAILED, r"AddBackend failed: .*already", "backend", "add", "pool", addr)
        self.ok("backend", "set", "pool", addr, "weight", "7")
        self.assertEqual(self.bprop("pool", addr, "Weight"), 7)
        self.ok("b", "dr", "pool", addr)
        self.assertEqual(self.bprop("pool", addr, "State"), "draining")
        # Settings without a D-Bus method of their own: the backend is
        # replaced, keeping the others and its drained state.
        self.ok("backend", "set", "pool", addr, "max-fails", "5", "backup", "yes")
        b = self.json("backend", "show", "pool", addr)
        self.assertEqual((b["max_fails"], b["backup"], b["weight"], b["max_conns"], b["state"]),
                         (5, True, 7, 50, "draining"))
        self.ok("backend", "enable", "pool", addr)
        self.assertNotIn(self.bprop("pool", addr, "State"), ("draining", "disabled"))
        self.ok("backend", "disable", "pool", addr)
        self.assertEqual(self.bprop("pool", addr, "State"), "disabled")
        self.ok("backend", "enable", "pool", addr)
        self.ok("backend", "remove", "pool", addr)
        self.assertEqual(self.json("backend", "list", "pool"), [])

    def test_policy_workers_reload(self):
        self.ok("policy", "set", "web", "least_conn")
        self.addCleanup(self.lb, "policy", "set", "web", "round_robin")
        self.assertEqual(self.sprop("web", "Policy"), "least_conn")
        self.fails(EXIT_USAGE, r"SetPolicy: .*round_robin", "policy", "set", "web", "fastest")
        self.ok("workers", "set", "3")
        self.addCleanup(self.lb, "workers", "set", "2")
        self.assertEqual(self.prop("Workers"), 3)
        self.ok("workers", "model", "thread", "threads", "3")
        self.addCleanup(self.lb, "workers", "model", "event")
        self.assertEqual((self.prop("WorkerModel"), self.prop("Threads")), ("thread", 3))
        self.fails(EXIT_USAGE, r"SetWorkerModel: .*event", "workers", "model", "fibers")
        self.ok("reload")
        # What was set over D-Bus stays over a reload.
        self.assertEqual((self.prop("Workers"), self.sprop("web", "Policy")), (3, "least_conn"))

    def test_monitor(self):
        self.add_service("watched", "backend", "127.0.0.1:9")
        p = subprocess.Popen(lbclient_argv("monitor"), env=self.bus.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pj = subprocess.Popen(lbclient_argv("-o", "json", "monitor"), env=self.bus.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines, jlines = Lines(p.stdout), Lines(pj.stdout)
        try:
            for proc in (p, pj):
                self.assertIn("Monitoring", proc.stderr.readline())
            self.ok("backend", "set", "watched", "127.0.0.1:9", "weight", "6")
            self.ok("backend", "drain", "watched", "127.0.0.1:9")
            self.ok("backend", "add", "watched", "127.0.0.1:10")
            wanted = ["backend 127.0.0.1:9 of watched: Weight=6",
                      "backend 127.0.0.1:9 of watched: State=draining",
                      "backend 127.0.0.1:10 of watched: added"]
            seen = []
            deadline = time.monotonic() + 10
            while wanted and time.monotonic() < deadline:
                line = lines.next(deadline)
                if line is None:
                    break
                seen.append(line)
                if wanted[0] in line:
                    self.assertRegex(line, r"^\d\d:\d\d:\d\d\.\d{3} ")
                    wanted.pop(0)
            self.assertEqual(wanted, [], f"monitor printed: {seen}")
            events = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                line = jlines.next(deadline)
                if line is None:
                    break
                e = json.loads(line)
                events.append(e)
                if e["signal"] == "InterfacesAdded":
                    break
            changed = [e["args"][1] for e in events if e["signal"] == "PropertiesChanged" and
                       e["path"] == lbdtest.backend_path("watched", "127.0.0.1:9")]
            self.assertIn({"Weight": 6}, changed)
            self.assertIn({"State": "draining"}, changed)
            self.assertEqual(events[-1]["args"][0], lbdtest.backend_path("watched", "127.0.0.1:10"))
        finally:
            interrupt(p, lines)
            interrupt(pj, jlines)

    def test_completion(self):
        def complete(line):
            script = (f"source {COMPLETION}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}};"
                      " COMP_WORDBREAKS=$' \\t\\n\"\\'><=;|&(:'; _lbclient;"
                      " printf '%s\\n' \"${COMPREPLY[@]}\"")
            env = self.bus.env({"PATH": os.path.dirname(lbdtest.lbclient_path()) + ":" +
                                os.environ.get("PATH", "/usr/bin:/bin")})
            r = lbdtest.run(["bash", "-c", script], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            return sorted(x for x in r.stdout.splitlines() if x)
        self.assertEqual(complete("lbclient se"), ["service"])
        self.assertEqual(complete("lbclient st"), ["stats", "status"])
        self.assertEqual(complete("lbclient b d"), ["disable", "drain"])
        self.assertEqual(complete("lbclient service show "), ["web"])
        self.assertEqual(complete("lbclient -t backend drain w"), ["web"])
        self.assertEqual(complete("lbclient backend drain web "), sorted([self.b1, self.b2]))
        # readline completes after the last ':' of "127.0.0.1:".
        port1 = self.b1.split(":")[1]
        self.assertIn(port1, complete("lbclient b en web 127.0.0.1:"))
        self.assertEqual(complete("lbclient policy set web l"), ["least_conn"])
        self.assertEqual(complete("lbclient backend add web 127.0.0.1:1 max"),
                         ["max-conns", "max-fails"])
        self.assertEqual(complete("lbclient -o j"), ["json"])


@unittest.skipUnless(shutil.which("script"), "needs script(1) for a terminal")
class InteractiveAuthorization(unittest.TestCase):
    """On a terminal lbclient starts pkttyagent for itself (--fallback) and
    allows interactive authorization; --no-ask-password and a pipe do
    neither. Seen on the bus with busctl monitor. (Without a logind session
    polkitd cannot route the challenge to that agent here, so the call still
    ends in InteractiveAuthorizationRequired: exit status 3.)"""

    AUTH_ADMIN_FOR_NOBODY = """polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.example.LoadBalancer.") == 0 && subject.user == "nobody")
        return polkit.Result.AUTH_ADMIN;
});
"""
    ALLOW_INTERACTIVE_AUTHORIZATION = 0x4  # D-Bus message header flag

    @classmethod
    def setUpClass(cls):
        why = lbdtest.Polkitd.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.bus = lbdtest.PrivateSystemBus([lbdtest.BUS_POLICY, lbdtest.POLKIT_BUS_POLICY]).start()
        cls.addClassCleanup(cls.bus.stop)
        cls.polkitd = lbdtest.Polkitd(cls.bus).start()
        cls.addClassCleanup(cls.polkitd.stop)
        cls.polkitd.set_rules("50-test.rules", cls.AUTH_ADMIN_FOR_NOBODY)
        config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write("[daemon]\nworkers=1\nworker-model=event\n\n[service web]\n"
                    f"listen=127.0.0.1:{lbdtest.free_port()}\nbackends=127.0.0.1:9\n")
        cls.lbd = lbdtest.Lbd(cls.bus, config=config).start()
        cls.addClassCleanup(lambda: lbdtest.stop_clean(cls.lbd))

    def run_watched(self, argv):
        """Run argv while busctl monitors the bus: (result, messages)."""
        mon = subprocess.Popen(["busctl", f"--address={self.bus.address}", "--json=short",
                                "monitor"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        try:
            self.assertIn("Monitoring", mon.stderr.readline())
            r = lbdtest.run(argv, env=self.bus.env({"TERM": "dumb"}), timeout=30)
            time.sleep(0.3)  # busctl prints what it has seen
        finally:
            mon.terminate()
            out, _ = mon.communicate(timeout=10)
        return r, [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def member(self, messages, name):
        return [m for m in messages if m.get("member") == name]

    def test_agent_on_a_terminal(self):
        cmd = " ".join(NOBODY + lbclient_argv("workers", "set", "3"))
        r, messages = self.run_watched(["script", "-qec", cmd, "/dev/null"])
        self.assertEqual(r.returncode, EXIT_DENIED, r.stdout)
        self.assertIn("lbclient: SetWorkers: access denied: Interactive authentication is "
                      "required", r.stdout)
        agents = self.member(messages, "RegisterAuthenticationAgentWithOptions")
        self.assertEqual(len(agents), 1, [m.get("member") for m in messages])
        kind, subject = agents[0]["payload"]["data"][0]
        self.assertEqual((kind, subject["uid"]["data"]), ("unix-process", 65534))
        self.assertIs(agents[0]["payload"]["data"][3]["fallback"]["data"], True)
        call = self.member(messages, "SetWorkers")[0]
        self.assertTrue(call["flags"] & self.ALLOW_INTERACTIVE_AUTHORIZATION, call)
        check = self.member(messages, "CheckAuthorization")[0]["payload"]["data"]
        self.assertEqual(check[3], 1, "lbd did not pass AllowUserInteraction on to polkit")
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "Workers"), 1)

    def test_no_agent_with_no_ask_password_or_in_a_pipe(self):
        cmd = " ".join(NOBODY + lbclient_argv("--no-ask-password", "workers", "set", "3"))
        for how, argv in (("--no-ask-password", ["script", "-qec", cmd, "/dev/null"]),
                          ("pipe", NOBODY + lbclient_argv("workers", "set", "3"))):
            with self.subTest(how=how):
                r, messages = self.run_watched(argv)
                self.assertEqual(r.returncode, EXIT_DENIED, r.stdout + r.stderr)
                self.assertEqual(self.member(messages, "RegisterAuthenticationAgentWithOptions"),
                                 [])
                call = self.member(messages, "SetWorkers")[0]
                self.assertFalse(call["flags"] & self.ALLOW_INTERACTIVE_AUTHORIZATION, call)


class OlderDaemon(unittest.TestCase):
    """Against a daemon that lacks the newer methods (old-lbd: the first D-Bus
    API only), lbclient still shows what it can and says plainly what the
    daemon does not support."""

    def test_methods_the_daemon_lacks(self):
        old_lbd = os.environ.get("LBD_OLD_LBD") or os.path.join(
            lbdtest.BUILD_ROOT, "tests", "integration", "old-lbd")
        tmp = lbdtest.TempDir()
        self.addCleanup(tmp.cleanup)
        with lbdtest.PrivateSystemBus() as bus:
            proc = lbdtest.ManagedProcess("old-lbd", [old_lbd], tmp.join("old-lbd.log"),
                                          env=bus.env()).start()
            try:
                bus.wait_for_name(lbdtest.BUS_NAME, 10, alive=proc)
                r = lbdtest.lbclient(bus, "status")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"(?m)^lbd 0\.0\.1$")
                for args, method in (
                        (["service", "add", "api", "listen", "127.0.0.1:1"], "AddService"),
                        (["backend", "add", "web", "127.0.0.1:1"], "AddBackend"),
                        (["workers", "model", "thread"], "SetWorkerModel"),
                        (["stats"], "GetStatistics"),
                        (["reload"], "Reload"),
                        (["link", "add", "bond", "bond0", "ports", "eth1"], "CreateLink"),
                        (["link", "delete", "bond0"], "DeleteLink")):
                    with self.subTest(method=method):
                        r = lbdtest.lbclient(bus, *args)
                        self.assertEqual((r.returncode, r.stdout), (EXIT_FAILED, ""))
                        self.assertEqual(r.stderr, f"lbclient: the daemon does not support "
                                                   f"{method}; it is older than this lbclient.\n")
            finally:
                proc.stop()


class DaemonNotRunning(unittest.TestCase):
    def test_exit_status_5(self):
        with lbdtest.PrivateSystemBus() as bus:
            for args in (["status"], ["service", "list"], ["-o", "json", "stats"],
                         ["backend", "drain", "web", "127.0.0.1:1"], ["workers", "set", "2"],
                         ["monitor"]):
                with self.subTest(args=args):
                    r = lbdtest.lbclient(bus, *args, timeout=15)
                    self.assertEqual(r.returncode, EXIT_NOT_RUNNING, r.stderr)
                    self.assertEqual(r.stderr, "lbclient: lbd is not running (nothing owns "
                                               "org.example.LoadBalancer on the system bus).\n")
        # A bad command line is found before the bus is asked anything.
        for args in (["backend", "add", "web", "127.0.0.1:1", "weight", "0"],
                     ["link", "add", "bond", "bond0", "ports", "eth1", "ipv4.method", "dhcp"],
                     ["workers", "model", "thread", "threads", "0"], ["service", "add", "x"]):
            with self.subTest(args=args):
                r = lbdtest.lbclient("unix:path=/nonexistent/bus", *args)
                self.assertEqual(r.returncode, EXIT_USAGE, r.stderr)
        r = lbdtest.lbclient("unix:path=/nonexistent/bus", "status")
        self.assertEqual(r.returncode, EXIT_NOT_RUNNING)
        self.assertRegex(r.stderr, r"^lbclient: cannot connect to the system bus at "
                                   r"unix:path=/nonexistent/bus: ")

    def test_monitor_sees_lbd_stop(self):
        with lbdtest.PrivateSystemBus() as bus, lbdtest.Lbd(bus) as lbd:
            p = subprocess.Popen(lbclient_argv("monitor"), env=bus.env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lines = Lines(p.stdout)
            try:
                self.assertIn("Monitoring", p.stderr.readline())
                lbd.stop()
                line = ""
                deadline = time.monotonic() + 15
                while line is not None and "lbd: stopped" not in line:
                    line = lines.next(deadline)
                self.assertRegex(line, r"^\d\d:\d\d:\d\d\.\d{3} lbd: stopped$")
            finally:
                interrupt(p, lines)


if __name__ == "__main__":
    unittest.main(verbosity=2)
