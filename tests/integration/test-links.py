#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Links (bond and team devices) through lbd's D-Bus API, against a real
NetworkManager in a network namespace (nmtest.py) on a private system bus,
with a real polkitd; every setting is checked with nmcli on that bus.

- the seed deployment's two setups: bond0 in 802.3ad over eth0+eth1 with its
  route, route metric and routing rule; team0 in activebackup over eth0+eth1
  with its default route;
- every bond mode and team runner created and deleted;
- ModifyLink changes what it is given and nothing else; Link properties
  follow NetworkManager (a change made with nmcli shows, PropertiesChanged
  is sent); a link made with nmcli is listed with Managed false;
- activation returns NetworkManager's reason ("Operation not supported":
  this kernel has no bonding or team driver), and a create-and-activate
  that fails leaves no profile behind;
- bad input: unknown kind, mode, runner, bond option, bad JSON, unknown
  port, duplicate name, bad routes and rules, each a named error listing
  what is allowed;
- NetworkManager stopped mid-test: NetworkManagerUnavailable, lbd keeps
  serving HTTP, and links work again once NetworkManager is back;
- an unprivileged caller is refused (AccessDenied).

lbd runs as the user lbd, and NetworkManager authorizes it through polkit
(auth-polkit=true) with lbd's shipped rules file only
(polkit/50-lbd-networkmanager.rules).

Exits 77 (skipped) when the machine cannot run it: not root, no network
namespaces, no NetworkManager, polkitd or gunicorn, or lbd built without
the network plugins.
"""
import os
import signal
import subprocess
import sys
import time
import unittest

import lbdtest
import nmtest

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
LINK_IFACE = IFACE + ".Link"
ERR = IFACE + ".Error."
NOBODY = lbdtest.NOBODY

BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad",
              "balance-tlb", "balance-alb"]
TEAM_RUNNERS = ["broadcast", "roundrobin", "random", "activebackup", "loadbalance", "lacp"]


# libnm reads team configurations with libjansson, which it dlopen()s with
# RTLD_DEEPBIND; the AddressSanitizer runtime refuses that and aborts the
# process. So under ASan (meson sets ASAN_OPTIONS for sanitized builds) no
# team profile may reach lbd's libnm: the team cases run in the normal build.
TEAM_UNDER_ASAN = ("libnm loads libjansson with RTLD_DEEPBIND, which AddressSanitizer "
                   "refuses; team is tested in the normal build")
NO_TEAM = "ASAN_OPTIONS" in os.environ


def link_path(name):
    return lbdtest.path_encode(ROOT + "/link", name)


def options(**kw):
    """busctl's a{sv} arguments from {name: (signature, value)}."""
    args = [str(len(kw))]
    for name, (sig, value) in kw.items():
        args += [name, sig]
        if sig == "as":
            args += [str(len(value)), *value]
        elif sig == "a{ss}":
            args += [str(len(value))]
            for k, v in value.items():
                args += [k, v]
        else:
            args.append(str(value))
    return args


def why_not():
    why = nmtest.unavailable() or lbdtest.Polkitd.unavailable()
    if why:
        return why
    for plugin in ("bond.so", "team.so"):
        if not os.path.exists(os.path.join(lbdtest.plugin_dir(), plugin)):
            return f"lbd was built without the network plugins ({plugin} missing: no libnm)"
    if not os.path.exists("/usr/bin/gunicorn"):
        return "gunicorn is not installed"
    return None


class LinkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = lbdtest.TempDir("lbd-links-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.bus = lbdtest.PrivateSystemBus(
            nmtest.BUS_POLICIES + [lbdtest.POLKIT_BUS_POLICY]).start()
        cls.addClassCleanup(cls.bus.stop)
        # NetworkManager asks this polkitd about lbd, which runs as the
        # user lbd (as lbd.service runs it) and is authorized by the rules
        # file lbd ships, nothing else.
        cls.polkitd = lbdtest.Polkitd(
            cls.bus, actions=[lbdtest.POLKIT_ACTIONS, nmtest.NM_POLKIT_ACTIONS]).start()
        cls.addClassCleanup(cls.polkitd.stop)
        cls.nm = nmtest.start_authorizing_lbd(cls.bus, cls.polkitd)
        cls.addClassCleanup(cls.nm.cleanup)
        cls.backends = lbdtest.GunicornBackends(1).start()
        cls.addClassCleanup(cls.backends.stop)
        cls.port = lbdtest.free_port()
        config = cls.tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write(f"[daemon]\nworkers=2\n\n[service web]\nlisten=127.0.0.1:{cls.port}\n"
                    f"backends={cls.backends.addresses[0]}\n")
        cls.lbd = lbdtest.Lbd(cls.bus, config=config, user="lbd").start()
        cls.addClassCleanup(lambda: lbdtest.stop_clean(cls.lbd))
        cls.wait_links_ready()

    @classmethod
    def wait_links_ready(cls):
        """lbd has read NetworkManager's state: a call about a missing link
        says NotFound, not NetworkManagerUnavailable."""
        def ready():
            r = cls.call_raw("DeactivateLink", "s", "nosuchlink0")
            return ERR + "NotFound" in r.stderr or "No bond or team link" in r.stderr
        lbdtest.wait_until(ready, 30, what="lbd to see NetworkManager",
                           alive=cls.lbd.process)

    def tearDown(self):
        # Each test starts from no profiles at all.
        if self.nm.process:
            for name in self.nm.connections():
                self.nm.nmcli("connection", "delete", name, check=False)

    # --- helpers ------------------------------------------------------------------

    @classmethod
    def call_raw(cls, method, signature="", *args, as_nobody=False):
        argv = ["busctl", f"--address={cls.bus.address}", "--allow-interactive-authorization=no",
                "call", lbdtest.BUS_NAME, ROOT, IFACE, method]
        if signature:
            argv += [signature, *[str(a) for a in args]]
        return lbdtest.run((NOBODY if as_nobody else []) + argv, timeout=60)

    def call(self, method, signature="", *args):
        r = self.call_raw(method, signature, *args)
        self.assertEqual(r.returncode, 0, f"{method}: {r.stderr}")
        return r.stdout

    def call_fails(self, error, method, signature="", *args, says=()):
        """The call fails and its message says what is wrong (busctl prints
        the message only; error_name() checks names)."""
        r = self.call_raw(method, signature, *args)
        self.assertNotEqual(r.returncode, 0, f"{method} should fail with {error}")
        for text in says:
            self.assertIn(text, r.stderr, f"{method}: {r.stderr}")
        return r.stderr

    def error_name(self, method, *args):
        """The D-Bus error name of a failing call (gdbus prints it)."""
        argv = ["gdbus", "call", "--address", self.bus.address, "--dest", lbdtest.BUS_NAME,
                "--object-path", ROOT, "--method", f"{IFACE}.{method}", *args]
        r = lbdtest.run(argv, timeout=60)
        self.assertNotEqual(r.returncode, 0, f"{method} should fail: {r.stdout}")
        return r.stderr

    def create(self, kind, name, ports, opts=None, activate=False):
        opts = opts or {}
        out = self.call("CreateLink", "ssasa{sv}b", kind, name, len(ports), *ports,
                        *options(**opts), "true" if activate else "false")
        self.assertIn(link_path(name), out)
        return out

    def links(self):
        return self.bus.get_property(ROOT, IFACE, "Links")

    def link_props(self, name):
        r = self.bus.busctl_json("call", lbdtest.BUS_NAME, link_path(name),
                                 "org.freedesktop.DBus.Properties", "GetAll", "s", LINK_IFACE)
        return {k: v["data"] for k, v in r["data"][0].items()}

    def wait_prop(self, name, prop, value, timeout=15):
        lbdtest.wait_until(lambda: self.link_props(name).get(prop) == value, timeout,
                           what=f"{name}'s {prop} to become {value!r}", alive=self.lbd.process)

    def port_settings(self, port_profile):
        return (self.nm.field(port_profile, self.nm.controller_field),
                self.nm.field(port_profile, self.nm.port_type_field))

    # --- the seed deployment ------------------------------------------------------

    def test_seed_bond(self):
        self.create("bond", "bond0", ["eth0", "eth1"], {
            "Mode": ("s", "802.3ad"),
            "BondOptions": ("a{ss}", {"miimon": "100", "lacp_rate": "fast",
                                      "xmit_hash_policy": "layer3+4"}),
            "IPv4Method": ("s", "manual"),
            "IPv4Addresses": ("as", ["192.168.1.100/24"]),
            "IPv4Routes": ("as", ["192.168.1.0/24 10.0.0.1 100"]),
            "IPv4RouteMetric": ("x", 100),
            "IPv4RoutingRules": ("as", ["priority 100 from 192.168.1.100 table 100"]),
        })
        nm = self.nm
        self.assertEqual(nm.connections(), {"bond0": "bond", "bond0-port-eth0": "802-3-ethernet",
                                            "bond0-port-eth1": "802-3-ethernet"})
        opts = dict(o.split("=") for o in nm.field("bond0", "bond.options").split(","))
        self.assertEqual(opts, {"mode": "802.3ad", "miimon": "100", "lacp_rate": "fast",
                                "xmit_hash_policy": "layer3+4"})
        self.assertEqual(nm.field("bond0", "connection.interface-name"), "bond0")
        self.assertEqual(nm.field("bond0", "ipv4.method"), "manual")
        self.assertEqual(nm.field("bond0", "ipv4.addresses"), "192.168.1.100/24")
        self.assertEqual(nm.field("bond0", "ipv4.routes"), "192.168.1.0/24 10.0.0.1 100")
        self.assertEqual(nm.field("bond0", "ipv4.route-metric"), "100")
        self.assertEqual(nm.field("bond0", "ipv4.routing-rules"),
                         "priority 100 from 192.168.1.100 table 100")
        for port in ("eth0", "eth1"):
            profile = f"bond0-port-{port}"
            self.assertEqual(self.port_settings(profile), ("bond0", "bond"))
            self.assertEqual(nm.field(profile, "connection.interface-name"), port)
        props = self.link_props("bond0")
        self.assertEqual(props, {"Name": "bond0", "Kind": "bond", "Mode": "802.3ad",
                                 "Ports": ["eth0", "eth1"], "State": props["State"],
                                 "Managed": True})
        self.assertEqual(self.links(), [link_path("bond0")])
        self.call("DeleteLink", "s", "bond0")
        self.assertEqual(nm.connections(), {})
        self.assertEqual(self.links(), [])

    def test_seed_team(self):
        if NO_TEAM:
            self.skipTest(TEAM_UNDER_ASAN)
        self.create("team", "team0", ["eth0", "eth1"], {
            "Runner": ("s", "activebackup"),
            "IPv4Method": ("s", "manual"),
            "IPv4Addresses": ("as", ["10.0.0.2/24"]),
            "IPv4Routes": ("as", ["0.0.0.0/0 10.0.0.1 1"]),
        })
        nm = self.nm
        self.assertEqual(nm.field("team0", "team.runner"), "activebackup")
        self.assertIn('"activebackup"', nm.field("team0", "team.config"))
        self.assertEqual(nm.field("team0", "ipv4.routes"), "0.0.0.0/0 10.0.0.1 1")
        self.assertEqual(nm.field("team0", "ipv4.addresses"), "10.0.0.2/24")
        for port in ("eth0", "eth1"):
            self.assertEqual(self.port_settings(f"team0-port-{port}"), ("team0", "team"))
        self.assertEqual(self.link_props("team0")["Mode"], "activebackup")
        self.call("DeleteLink", "s", "team0")
        self.assertEqual(nm.connections(), {})

    def test_team_config_json(self):
        if NO_TEAM:
            self.skipTest(TEAM_UNDER_ASAN)
        config = ('{"runner": {"name": "lacp", "active": true, "tx_hash": ["eth", "ipv4"]}, '
                  '"link_watch": {"name": "ethtool"}}')
        self.create("team", "team1", ["eth0"], {"TeamConfig": ("s", config)})
        self.assertEqual(self.nm.field("team1", "team.runner"), "lacp")
        self.assertIn("ipv4", self.nm.field("team1", "team.runner-tx-hash"))
        self.call("DeleteLink", "s", "team1")

    # --- every mode and runner ----------------------------------------------------

    def test_every_bond_mode(self):
        for mode in BOND_MODES:
            with self.subTest(mode=mode):
                self.create("bond", "bond1", ["eth0", "eth1"], {"Mode": ("s", mode)})
                self.assertIn(f"mode={mode}", self.nm.field("bond1", "bond.options"))
                self.assertEqual(self.link_props("bond1")["Mode"], mode)
                self.call("DeleteLink", "s", "bond1")
                self.assertEqual(self.nm.connections(), {})

    def test_every_team_runner(self):
        if NO_TEAM:
            self.skipTest(TEAM_UNDER_ASAN)
        for runner in TEAM_RUNNERS:
            with self.subTest(runner=runner):
                self.create("team", "team2", ["eth1"], {"Runner": ("s", runner)})
                self.assertEqual(self.nm.field("team2", "team.runner"), runner)
                self.call("DeleteLink", "s", "team2")
                self.assertEqual(self.nm.connections(), {})

    # --- changes ------------------------------------------------------------------

    def test_modify_and_follow_networkmanager(self):
        self.create("bond", "bond2", ["eth0"], {"Mode": ("s", "active-backup"),
                                                "BondOptions": ("a{ss}", {"miimon": "100"})})
        monitor = subprocess.Popen(
            ["busctl", f"--address={self.bus.address}", "monitor", lbdtest.BUS_NAME],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            self.call("ModifyLink", "sa{sv}", "bond2", *options(
                Mode=("s", "balance-alb"), IPv4Method=("s", "manual"),
                IPv4Addresses=("as", ["10.1.0.2/24"]), IPv4Gateway=("s", "10.1.0.1")))
            self.assertEqual(self.link_props("bond2")["Mode"], "balance-alb")
            opts = self.nm.field("bond2", "bond.options")
            self.assertIn("mode=balance-alb", opts)
            self.assertIn("miimon=100", opts)  # kept: not given
            self.assertEqual(self.nm.field("bond2", "ipv4.gateway"), "10.1.0.1")
            # A change made with nmcli shows on the object.
            self.nm.nmcli("connection", "modify", "bond2", "bond.options", "mode=broadcast")
            self.wait_prop("bond2", "Mode", "broadcast")
            time.sleep(0.5)
        finally:
            monitor.terminate()
            out = monitor.communicate(timeout=10)[0]
        self.assertIn("PropertiesChanged", out)
        self.assertIn(link_path("bond2"), out)
        # No option: nothing to change, and nothing to authorize.
        r = self.call_raw("ModifyLink", "sa{sv}", "bond2", "0", as_nobody=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Only what was given changes: an empty value removes a bond option.
        self.call("ModifyLink", "sa{sv}", "bond2",
                  *options(BondOptions=("a{ss}", {"miimon": ""})))
        self.assertNotIn("miimon", self.nm.field("bond2", "bond.options"))
        self.assertEqual(self.nm.field("bond2", "ipv4.gateway"), "10.1.0.1")

    def test_link_made_with_nmcli_is_listed_unmanaged(self):
        self.nm.nmcli("connection", "add", "type", "bond", "ifname", "bond7", "con-name",
                      "bond7", "bond.options", "mode=active-backup")
        lbdtest.wait_until(lambda: link_path("bond7") in self.links(), 15,
                           what="bond7 in Links", alive=self.lbd.process)
        props = self.link_props("bond7")
        self.assertFalse(props["Managed"])
        self.assertEqual(props["Mode"], "active-backup")
        self.nm.nmcli("connection", "delete", "bond7")
        lbdtest.wait_until(lambda: link_path("bond7") not in self.links(), 15,
                           what="bond7 to leave Links", alive=self.lbd.process)

    # --- activation ---------------------------------------------------------------

    def test_activation_reports_networkmanager_reason(self):
        self.create("bond", "bond3", ["eth0", "eth1"], {"Mode": ("s", "802.3ad")})
        err = self.call_fails("NotSupported", "ActivateLink", "s", "bond3",
                              says=["Operation not supported", "bond3"])
        self.assertIn(ERR + "NotSupported", self.error_name("ActivateLink", "bond3"))
        self.assertIn("Operation not supported", err)
        # The profile stays; deactivating a link that is down is fine.
        self.call("DeactivateLink", "s", "bond3")
        self.assertIn("bond3", self.nm.connections())

    def test_create_and_activate_failing_rolls_back(self):
        kinds = [("bond", {"Mode": ("s", "active-backup")})]
        if not NO_TEAM:
            kinds.append(("team", {"Runner": ("s", "activebackup")}))
        for kind, opts in kinds:
            with self.subTest(kind=kind):
                self.call_fails("NotSupported", "CreateLink", "ssasa{sv}b", kind, "agg0", "2",
                                "eth0", "eth1", *options(**opts), "true",
                                says=["Operation not supported", "nothing was left behind"])
                # No controller and no orphan port profiles.
                self.assertEqual(self.nm.connections(), {})
                self.assertNotIn(link_path("agg0"), self.links())

    # --- bad input ------------------------------------------------------------------

    def test_bad_input(self):
        cases = [
            ("unknown kind", "NotFound", ["vlan", "x0", [], {}],
             ["vlan", "loaded: bond, team"]),
            ("unknown mode", "InvalidArgument", ["bond", "bond4", ["eth0"],
                                                 {"Mode": ("s", "round-robin")}],
             ["round-robin", "balance-rr, active-backup", "balance-alb"]),
            ("unknown runner", "InvalidArgument", ["team", "team4", ["eth0"],
                                                   {"Runner": ("s", "fastest")}],
             ["fastest", "broadcast, roundrobin, random, activebackup, loadbalance, lacp"]),
            ("bad bond option", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"BondOptions": ("a{ss}", {"miimon": "often"})}],
             ["miimon=often", "milliseconds"]),
            ("unknown bond option", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"BondOptions": ("a{ss}", {"speed": "10"})}],
             ["speed", "miimon", "arp_ip_target"]),
            ("option of another mode", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"Mode": ("s", "balance-rr"),
                                          "BondOptions": ("a{ss}", {"lacp_rate": "fast"})}],
             ["lacp_rate", "802.3ad"]),
            ("bad JSON", "InvalidArgument",
             ["team", "team4", ["eth0"], {"TeamConfig": ("s", '{"runner": {"name": }')}],
             ["Invalid TeamConfig JSON at byte"]),
            ("JSON with an unknown runner", "InvalidArgument",
             ["team", "team4", ["eth0"], {"TeamConfig": ("s", '{"runner": {"name": "x"}}')}],
             ["runner.name", "activebackup"]),
            ("team option on a bond", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"Runner": ("s", "lacp")}], ["bond takes Mode"]),
            ("unknown port", "NotFound", ["bond", "bond4", ["eth0", "eth7"], {}],
             ["eth7", "eth0, eth1"]),
            ("bad route", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"IPv4Routes": ("as", ["192.168.1.0/33 10.0.0.1"])}],
             ["192.168.1.0/33", "DEST/PREFIX [NEXT-HOP] [METRIC]"]),
            ("bad routing rule", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"IPv4RoutingRules": ("as", ["priority x from y"])}],
             ["priority x from y", "priority 100 from 192.168.1.100 table 100"]),
            ("bad method", "InvalidArgument",
             ["bond", "bond4", ["eth0"], {"IPv4Method": ("s", "dhcp")}],
             ["auto, manual, disabled"]),
            ("bad interface name", "InvalidArgument", ["bond", "bond/0", [], {}],
             ["bond/0"]),
            ("unknown option", "InvalidArgument", ["bond", "bond4", [], {"Speed": ("u", 1)}],
             ["Speed", "IPv4RoutingRules"]),
            ("option of a wrong type", "InvalidArgument",
             ["bond", "bond4", [], {"Mode": ("u", 4)}], ["Mode", "type s"]),
        ]
        for what, error, (kind, name, ports, opts), says in cases:
            with self.subTest(what):
                self.call_fails(error, "CreateLink", "ssasa{sv}b", kind, name, len(ports),
                                *ports, *options(**opts), "false", says=says)
                self.assertEqual(self.nm.connections(), {})
        # The D-Bus error names.
        self.assertIn(ERR + "InvalidArgument", self.error_name(
            "CreateLink", "bond", "bond4", "['eth0']", "{'Mode': <'fast'>}", "false"))
        self.assertIn(ERR + "NotFound", self.error_name(
            "CreateLink", "bond", "bond4", "['eth9']", "{}", "false"))
        self.assertIn(ERR + "NotFound", self.error_name("DeleteLink", "nosuch0"))
        # A duplicate name, and a port that belongs to another link.
        self.create("bond", "bond5", ["eth0"])
        self.assertIn(ERR + "Exists", self.error_name(
            "CreateLink", "team", "bond5", "['eth1']", "{}", "false"))
        self.call_fails("Exists", "CreateLink", "ssasa{sv}b", "bond", "bond6", "1", "eth0", "0",
                        "false", says=["eth0 is a port of bond5"])
        self.assertEqual(set(self.nm.connections()), {"bond5", "bond5-port-eth0"})

    # --- NetworkManager going away --------------------------------------------------

    def test_networkmanager_stopped_and_back(self):
        self.create("bond", "bond8", ["eth0"], {"Mode": ("s", "active-backup")})
        self.nm.stop()
        try:
            lbdtest.wait_until(lambda: self.links() == [], 15, what="Links to empty",
                               alive=self.lbd.process)
            err = self.call_fails("NetworkManagerUnavailable", "CreateLink", "ssasa{sv}b",
                                  "bond", "bond9", "1", "eth1", "0", "false",
                                  says=["NetworkManager is unavailable"])
            self.assertIn("not running", err)
            self.assertIn(ERR + "NetworkManagerUnavailable", self.error_name(
                "CreateLink", "bond", "bond9", "['eth1']", "{}", "false"))
            # Traffic is not affected.
            for _ in range(5):
                status, _, body = lbdtest.http_request(f"127.0.0.1:{self.port}", "/")
                self.assertEqual(status, 200)
        finally:
            self.nm.start()
        # Back: the profile made before is listed again and calls work.
        lbdtest.wait_until(lambda: link_path("bond8") in self.links(), 30,
                           what="bond8 to be listed again", alive=self.lbd.process)
        self.call("DeleteLink", "s", "bond8")
        self.assertEqual(self.nm.connections(), {})

    def test_slow_networkmanager_blocks_nothing(self):
        """A CreateLink waiting on a stopped (SIGSTOP) NetworkManager leaves
        lbd's loop free: properties and traffic are answered meanwhile."""
        os.kill(self.nm.pid, signal.SIGSTOP)
        try:
            pending = subprocess.Popen(
                ["busctl", f"--address={self.bus.address}", "--timeout=60", "call",
                 lbdtest.BUS_NAME, ROOT, IFACE, "CreateLink", "ssasa{sv}b", "bond", "bond13",
                 "1", "eth0", "0", "false"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            worst = 0.0
            for _ in range(10):
                t = time.monotonic()
                self.bus.get_property(ROOT, IFACE, "Version")
                self.assertEqual(lbdtest.http_request(f"127.0.0.1:{self.port}", "/")[0], 200)
                worst = max(worst, time.monotonic() - t)
            self.assertIsNone(pending.poll(), "CreateLink returned while NetworkManager was "
                                              "stopped")
            print(f"\nwhile NetworkManager was stopped: a property read and an HTTP request "
                  f"took at most {worst * 1000:.0f} ms", file=sys.stderr)
            self.assertLess(worst, 2.0)
        finally:
            os.kill(self.nm.pid, signal.SIGCONT)
        out, err = pending.communicate(timeout=60)
        self.assertEqual(pending.returncode, 0, err)
        self.assertIn(link_path("bond13"), out)
        self.call("DeleteLink", "s", "bond13")

    def test_networkmanager_gone_mid_call(self):
        """NetworkManager dies while a CreateLink waits on it: the caller gets
        NetworkManagerUnavailable, not a hang; nothing was made."""
        os.kill(self.nm.pid, signal.SIGSTOP)
        pending = subprocess.Popen(
            ["busctl", f"--address={self.bus.address}", "--timeout=60", "call",
             lbdtest.BUS_NAME, ROOT, IFACE, "CreateLink", "ssasa{sv}b", "bond", "bond14",
             "1", "eth0", "0", "false"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            os.kill(self.nm.pid, signal.SIGKILL)
            out, err = pending.communicate(timeout=30)
        finally:
            self.nm.stop()  # reaps it
            self.nm.start()
        self.assertNotEqual(pending.returncode, 0, out)
        print(f"\nNetworkManager killed mid-call: {err.strip()}", file=sys.stderr)
        self.assertIn("NetworkManager went away", err)
        self.wait_links_ready()
        self.assertEqual(self.nm.connections(), {})

    # --- reload -----------------------------------------------------------------

    def test_reload_keeps_links(self):
        self.create("bond", "bond12", ["eth0"], {"Mode": ("s", "active-backup")})
        for _ in range(2):
            self.call("Reload")  # loads the plugins again: a new set
            self.assertIn(link_path("bond12"), self.links())
        # The new generation of workers (forked after libnm's threads exist)
        # serves.
        for _ in range(5):
            self.assertEqual(lbdtest.http_request(f"127.0.0.1:{self.port}", "/")[0], 200)
        self.call("ModifyLink", "sa{sv}", "bond12", *options(Mode=("s", "broadcast")))
        self.assertEqual(self.link_props("bond12")["Mode"], "broadcast")
        self.call("DeleteLink", "s", "bond12")
        self.assertEqual(self.nm.connections(), {})

    # --- the master's connections stay the master's -------------------------------

    def test_respawned_worker_keeps_no_master_bus_connection(self):
        """libnm's connection to the system bus is made after the first
        workers were forked; a worker forked later (a respawn) must not
        inherit it: it is authenticated as the master."""
        def sockets(pid):
            out = set()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    out.add(target[8:-1])
            return out

        def listening():
            # The listeners are shared on purpose: tcp state 0A, unix __SO_ACCEPTCON.
            out = set()
            for name in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(name) as f:
                    out |= {w[9] for w in (line.split() for line in list(f)[1:]) if w[3] == "0A"}
            with open("/proc/net/unix") as f:
                out |= {w[6] for w in (line.split() for line in list(f)[1:])
                        if len(w) >= 7 and int(w[3], 16) & 0x10000}
            return out

        def workers():
            return lbdtest.worker_pids(self.lbd.pid)

        lbdtest.wait_until(lambda: len(workers()) == 2, 10, what="2 workers")
        before = workers()
        master_only = sockets(self.lbd.pid) - listening()
        # sd-bus's connection (closed by the arbiter) and libnm's own.
        self.assertGreaterEqual(len(master_only), 2, master_only)
        os.kill(before[0], signal.SIGKILL)
        lbdtest.wait_until(lambda: len(workers()) == 2 and workers() != before, 15,
                           what="the respawn", alive=self.lbd.process)
        new = [w for w in workers() if w not in before][0]
        leaked = sockets(new) & (sockets(self.lbd.pid) - listening())
        self.assertEqual(leaked, set(), f"worker {new} holds the master's sockets")
        self.assertEqual(lbdtest.http_request(f"127.0.0.1:{self.port}")[0], 200)

    # --- authorization ------------------------------------------------------------

    def test_unprivileged_caller_refused(self):
        self.create("bond", "bond10", ["eth0"])
        calls = [
            ("CreateLink", "ssasa{sv}b", "bond", "bond11", "1", "eth1", "0", "false"),
            ("ModifyLink", "sa{sv}", "bond10", *options(Mode=("s", "broadcast"))),
            ("ActivateLink", "s", "bond10"),
            ("DeactivateLink", "s", "bond10"),
            ("DeleteLink", "s", "bond10"),
        ]
        for method, sig, *args in calls:
            with self.subTest(method=method):
                r = self.call_raw(method, sig, *args, as_nobody=True)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("Access denied", r.stderr + r.stdout)
        self.assertEqual(set(self.nm.connections()), {"bond10", "bond10-port-eth0"})
        self.assertIn("balance-rr", self.nm.field("bond10", "bond.options"))
        # Reading is open to everyone.
        r = lbdtest.run(NOBODY + ["busctl", f"--address={self.bus.address}", "get-property",
                                  lbdtest.BUS_NAME, ROOT, IFACE, "Links"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(link_path("bond10"), r.stdout)


if __name__ == "__main__":
    why = why_not()
    if why:
        print(f"skipped: {why}")
        sys.exit(77)
    unittest.main(verbosity=2)
