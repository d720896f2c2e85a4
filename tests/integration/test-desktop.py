#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lbd-desktop, the GTK 4 desktop tool, in a real window: Xvfb, a session of
the unprivileged user nobody (its own session bus and accessibility bus),
a private system bus with the real polkitd, and lbd from the build tree
running as the user lbd, as lbd.service runs it. The window is driven and
read through AT-SPI, as a screen reader or dogtail would (atspi-driver.py);
lbd's state is checked with busctl.

- the window lists lbd's services (listeners, mode, policy) and their
  backends (state, weight) as lbd's objects say, the workers and plugins;
- nobody without a polkit rule: Drain and a weight set through the dialog
  are refused, the window shows polkit's refusal, lbd is unchanged;
- with a rules file granting nobody lbd's actions: a backend added through
  the dialog (address, weight), a weight set, a backend drained, the worker
  count changed: busctl sees each change;
- changes made elsewhere appear in the window: SetWeight, AddBackend (with
  another client's Origin, shown) and RemoveBackend through busctl,
  keepalived's ReportFailoverState, a service added with a health check
  whose backend goes down (the reason from BackendStateChanged is shown);
- more through the window: Disable, Enable, a backend removed and a service
  added and removed (each confirmed in a dialog), Reload; a policy and the
  worker model through the exported actions (org.gtk.Actions.Activate on
  the session bus); a bad address gets lbd's InvalidArgument message;
- real traffic (wrk-free: a loop of requests through lbd to a Gunicorn
  backend) shows as a request rate in the backend's row;
- links, with a real NetworkManager in a network namespace (skipped where
  it cannot run): a bond created through the dialog, its mode modified,
  activated (NetworkManager's answer shown: activated, or its reason), a
  bond made with nmcli listed as made outside lbd without buttons, the bond
  deleted after confirmation; NetworkManager's state checked with nmcli;
- lbd stopped: the window says lbd is not running and lists nothing; lbd
  started again: the window shows it again;
- screenshots of every view at 1280x800 go to BUILD/screenshots (or
  LBD_SCREENSHOT_DIR), out of the tree;
- the application quits cleanly (app.quit, exit status 0; under ASan, with
  no memory error).

Needs root (polkitd in a mount namespace, the session as nobody); skipped
without, or when lbd-desktop is not built (no GTK 4 / libadwaita).
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import desktop  # noqa: E402
import lbdtest  # noqa: E402
import nmtest  # noqa: E402

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
BACKEND_IFACE = IFACE + ".Backend"
B9, B10 = "127.0.0.1:9", "127.0.0.1:10"
ADDED = "127.0.0.1:11"      # added through the window
ELSEWHERE = "127.0.0.1:12"  # added with busctl

GRANT_NOBODY = """polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.example.LoadBalancer.") == 0 && subject.user == "nobody")
        return polkit.Result.YES;
});
"""


def config_text(port):
    return ("[daemon]\nworkers=2\nworker-model=event\ngraceful-timeout=5\n\n"
            f"[service web]\nlisten=127.0.0.1:{port}\nbackends={B9};{B10} down\n"
            "policy=round_robin\n")


def has_label(nodes, text):
    return any(n[0] == "label" and n[1] == text for n in nodes)


def labels_under(nodes, role, name):
    """The labels inside the node (role, name), e.g. a backend's row."""
    return [n[1] for n in nodes if n[0] == "label" and (role, name) in n[3]]


def row_value(nodes, title):
    """A property row's value: the label after its title."""
    labels = labels_under(nodes, "list item", title)
    return labels[1] if len(labels) > 1 else None


class DesktopTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = desktop.unavailable() or lbdtest.Polkitd.unavailable()
        if why:
            raise unittest.SkipTest(why)
        cls.tmp = lbdtest.TempDir()
        cls.addClassCleanup(cls.tmp.cleanup)
        # NetworkManager for the links, where it can run (the rest of the
        # tests run without it).
        cls.no_nm = nmtest.unavailable()
        policies = [lbdtest.BUS_POLICY, lbdtest.POLKIT_BUS_POLICY]
        actions = [lbdtest.POLKIT_ACTIONS]
        if not cls.no_nm:
            policies += [nmtest.NM_BUS_POLICY]
            actions += [nmtest.NM_POLKIT_ACTIONS]
        cls.bus = lbdtest.PrivateSystemBus(policies).start()
        cls.addClassCleanup(cls.bus.stop)
        cls.polkitd = lbdtest.Polkitd(cls.bus, actions=actions).start()
        cls.addClassCleanup(cls.polkitd.stop)
        cls.nm = None
        if not cls.no_nm:
            cls.nm = nmtest.start_authorizing_lbd(cls.bus, cls.polkitd)
            cls.addClassCleanup(cls.nm.cleanup)
        cls.backends = lbdtest.GunicornBackends(1).start()
        cls.addClassCleanup(cls.backends.stop)
        cls.config = cls.tmp.join("lbd.conf")
        cls.port = lbdtest.free_port()
        with open(cls.config, "w") as f:
            f.write(config_text(cls.port))
        cls.lbd = lbdtest.Lbd(cls.bus, config=cls.config, user="lbd").start()
        cls.addClassCleanup(cls._stop_lbd)
        cls.xvfb = desktop.Xvfb().start()
        cls.addClassCleanup(cls.xvfb.stop)
        cls.session = desktop.DesktopSession(cls.xvfb, cls.bus).start()
        cls.addClassCleanup(cls._stop_session)

    @classmethod
    def _stop_lbd(cls):
        if cls.lbd:
            status = cls.lbd.stop()
            if status != 0:
                print(f"--- lbd log ---\n{cls.lbd.log_tail(40)}", file=sys.stderr)
                raise AssertionError(f"lbd exited with status {status}")

    @classmethod
    def _stop_session(cls):
        log = cls.session.log_tail(30)
        status = cls.session.stop()
        print(f"--- lbd-desktop log (exit status {status}) ---\n{log}", file=sys.stderr)
        if status != 0:
            raise AssertionError(f"lbd-desktop exited with status {status}")

    # --- helpers ------------------------------------------------------------------

    def prop(self, path, interface, name):
        return self.bus.get_property(path, interface, name)

    def backend_prop(self, address, name):
        return self.prop(lbdtest.backend_path("web", address), BACKEND_IFACE, name)

    def backend_labels(self, nodes, address):
        return labels_under(nodes, "list item", address)

    def wait_backend_shows(self, address, text, timeout=20.0):
        """Until the backend's row has a label containing text; seconds."""
        return self.session.wait_for(
            lambda nodes: any(text in label for label in self.backend_labels(nodes, address)),
            f"the row of {address} to show {text!r}", timeout)

    def close_dialog(self, button="Close"):
        self.session.click(button)
        self.session.wait_for(lambda nodes: not any(n[0] == "dialog" for n in nodes),
                              "the dialog to close")

    def refused_dialog(self):
        """Wait for the refusal dialog; its labels."""
        self.session.wait_for(
            lambda nodes: any(n[0] == "dialog" and n[1] == "Not Authorized" for n in nodes),
            "the Not Authorized dialog")
        return labels_under(self.session.nodes(), "dialog", "Not Authorized")

    def grant_nobody(self):
        self.polkitd.set_rules("50-desktop-test.rules", GRANT_NOBODY)
        self.addCleanup(self.polkitd.set_rules, "50-desktop-test.rules", None)

    def wait_dialog(self, name=None):
        self.session.wait_for(
            lambda nodes: any(n[0] == "dialog" and (name is None or n[1] == name)
                              for n in nodes),
            f"the dialog {name!r}" if name else "a dialog")

    def wait_failure(self, heading):
        """Wait for the failure dialog with heading; its labels."""
        self.wait_dialog(heading)
        return labels_under(self.session.nodes(), "dialog", heading)

    def show_view(self, name):
        self.session.click(name)
        time.sleep(0.3)  # the view's transition

    def setUp(self):
        # A test that failed with a dialog open leaves it to the next.
        nodes = self.session.nodes()
        for role, name, _, _ in nodes:
            if role == "dialog":
                labels = labels_under(nodes, "dialog", name)
                self.session.click("Close" if "Close" in labels else "Cancel")

    # --- tests, in order --------------------------------------------------------------

    def test_1_shows_lbd(self):
        s = self.session
        s.wait_for_label("web")
        nodes = s.nodes()
        self.assertTrue(has_label(nodes, f"http \u00b7 round_robin \u00b7 127.0.0.1:{self.port}"),
                        "the service's mode, policy and listener")
        b9 = self.backend_labels(nodes, B9)
        b10 = self.backend_labels(nodes, B10)
        self.assertIn("up", b9)
        self.assertIn("disabled", b10)
        self.assertTrue(any(label.startswith("weight 1 \u00b7 0 active") for label in b9), b9)
        # Every button has an accessible name (no unnamed control).
        unnamed = [n for n in nodes if n[0] == "push button" and not n[1].strip()]
        self.assertEqual(unnamed, [])
        for name in [f"Drain {B9}", f"Disable {B9}", f"Enable {B10}",
                     f"Set the weight of {B9}", f"Remove {B9}", "Add a backend to web",
                     "Change the policy of web", "Remove the service web"]:
            self.assertIn(name, [n[1] for n in nodes if n[0] == "push button"])
        s.screenshot("services.png")

        self.show_view("Workers")
        s.wait_for_label("event")
        nodes = s.nodes()
        self.assertEqual(row_value(nodes, "Worker processes"), "2")
        s.screenshot("workers.png")

        self.show_view("Plugins")
        s.wait_for_label("least_conn")
        for name in ["round_robin", "ip_hash", "event", "thread", "sync"]:
            self.assertTrue(has_label(s.nodes(), name), name)
        s.screenshot("plugins.png")

        self.show_view("Links")
        s.wait_for_label("No Links")
        s.screenshot("links-empty.png")
        self.show_view("Services")

    def test_2_refused_without_a_rule(self):
        s = self.session
        s.click(f"Drain {B9}")
        labels = self.refused_dialog()
        self.assertTrue(any(label.startswith(f"Drain {B9}: ") for label in labels), labels)
        s.screenshot("refused.png")
        self.close_dialog()
        self.assertEqual(self.backend_prop(B9, "State"), "up")

        s.click(f"Set the weight of {B9}")
        s.wait_for(lambda nodes: any(n[0] == "dialog" for n in nodes), "the weight dialog")
        s.set_text("Weight", "5")
        s.click("Apply")
        labels = self.refused_dialog()
        self.assertTrue(any(label.startswith(f"Set the weight of {B9} to 5: ")
                            for label in labels), labels)
        self.close_dialog()
        self.assertEqual(self.backend_prop(B9, "Weight"), 1)
        self.assertIn("weight 1 \u00b7 0 active",
                      " ".join(self.backend_labels(s.nodes(), B9)))

    def test_3_granted_by_a_rule(self):
        s = self.session
        self.grant_nobody()

        # A backend added through the dialog.
        s.click("Add a backend to web")
        s.wait_for(lambda nodes: any(n[0] == "dialog" for n in nodes), "the add dialog")
        s.set_text("Address", ADDED)
        s.set_text("Weight", "2")
        s.screenshot("add-backend.png")
        s.click("Add")
        self.wait_backend_shows(ADDED, "weight 2")
        self.assertEqual(self.backend_prop(ADDED, "Weight"), 2)

        # A weight set.
        s.click(f"Set the weight of {B9}")
        s.wait_for(lambda nodes: any(n[0] == "dialog" for n in nodes), "the weight dialog")
        s.set_text("Weight", "4")
        s.click("Apply")
        self.wait_backend_shows(B9, "weight 4")
        self.assertEqual(self.backend_prop(B9, "Weight"), 4)

        # A backend drained.
        s.click(f"Drain {B9}")
        self.wait_backend_shows(B9, "draining")
        self.assertEqual(self.backend_prop(B9, "State"), "draining")
        self.assertIn(f"Enable {B9}", s.names("push button"))

        # The worker count.
        self.show_view("Workers")
        s.click("Change Count\u2026")
        s.wait_for(lambda nodes: any(n[0] == "dialog" for n in nodes), "the workers dialog")
        s.set_text("Worker processes", "3")
        s.click("Apply")
        s.wait_for(lambda nodes: row_value(nodes, "Worker processes") == "3", "3 workers shown")
        self.assertEqual(self.prop(ROOT, IFACE, "Workers"), 3)

        # The exported action, from outside the window (the session bus).
        s.activate_action("set-worker-model", "<('thread', uint32 0, uint32 0)>")
        lbdtest.wait_until(lambda: self.prop(ROOT, IFACE, "WorkerModel") == "thread", 20,
                           what="the thread model")
        s.wait_for_label("thread")
        self.show_view("Services")

        # A named lbd error, with lbd's message: no such port (or, where
        # NetworkManager cannot run, no NetworkManager).
        s.activate_action("create-link",
                          "<('bond', 'bond7', ['veth-x'], @a{sv} {}, true)>")
        labels = self.wait_failure("Create the bond bond7 Failed")
        said = "NetworkManager" if self.no_nm else "veth-x"
        self.assertTrue(any(label.startswith("lbd said: ") and said in label
                            for label in labels), labels)
        self.close_dialog()

        # A bad address: lbd's InvalidArgument, nothing added.
        s.activate_action("add-backend", "<('web', 'no-port-here', uint32 1)>")
        s.wait_for(lambda nodes: any(n[0] == "dialog" and n[1].startswith("Add no-port-here")
                                     for n in nodes), "the AddBackend failure")
        self.close_dialog()
        self.assertEqual(len(self.prop(lbdtest.service_path("web"),
                                       IFACE + ".Service", "Backends")), 3)

    def test_4_changes_made_elsewhere(self):
        s = self.session
        start = time.monotonic()
        self.bus.call(lbdtest.backend_path("web", B10), BACKEND_IFACE, "SetWeight", "u", 7)
        self.wait_backend_shows(B10, "weight 7")
        print(f"SetWeight through busctl shown after {time.monotonic() - start:.2f} s "
              "(the driver reads the tree every 0.2 s, ~0.3 s a read)", file=sys.stderr)

        # Added by another client (its Origin shown, as lbd-etcd-sync's are).
        self.bus.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", ELSEWHERE, 2, "Weight", "u", 3,
                      "Origin", "s", "etcd:/lbd/")
        self.wait_backend_shows(ELSEWHERE, "from etcd:/lbd/ \u00b7 weight 3")
        self.bus.call(ROOT, IFACE, "RemoveBackend", "ss", "web", ELSEWHERE)
        s.wait_for(lambda nodes: not any(n[0] == "list item" and n[1] == ELSEWHERE
                                         for n in nodes), f"the row of {ELSEWHERE} to go")

        # keepalived's report (lbclient failover-notify), on the workers page.
        self.show_view("Workers")
        s.wait_for(lambda nodes: row_value(nodes, "Failover (keepalived)") == "not reported",
                   "no failover state yet")
        self.bus.call(ROOT, IFACE, "ReportFailoverState", "ss", "VI_1", "MASTER")
        s.wait_for(lambda nodes: row_value(nodes, "Failover (keepalived)") == "VI_1 MASTER",
                   "VI_1 MASTER shown")
        self.show_view("Services")

        # A health check takes a backend down: the state and lbd's reason.
        refusing_socket, refusing = lbdtest.refusing_port()
        self.addCleanup(refusing_socket.close)
        api_port = lbdtest.free_port()
        self.bus.call(ROOT, IFACE, "AddService", "sa{sv}", "api", 3,
                      "Listen", "as", 1, f"127.0.0.1:{api_port}",
                      "Backends", "as", 1, f"127.0.0.1:{refusing}",
                      "HealthCheck", "s", "tcp interval=1 rise=1 fall=1")
        s.wait_for_label("api")
        address = f"127.0.0.1:{refusing}"
        self.session.wait_for(
            lambda nodes: "down" in labels_under(nodes, "list item", address)
            and any("connection refused" in label.lower()
                    for label in labels_under(nodes, "list item", address)),
            f"{address} shown down with the health check's reason")
        s.screenshot("health-down.png")
        self.bus.call(ROOT, IFACE, "RemoveService", "s", "api")
        s.wait_for_label("api", present=False)

    def test_4b_more_actions(self):
        s = self.session
        self.grant_nobody()
        b10 = lbdtest.backend_path("web", B10)
        # Enable and Disable.
        s.click(f"Enable {B10}")
        lbdtest.wait_until(lambda: self.backend_prop(B10, "State") == "up", 20,
                           what=f"{B10} up")
        self.wait_backend_shows(B10, "up")
        s.click(f"Disable {B10}")
        self.wait_backend_shows(B10, "disabled")
        self.assertEqual(self.prop(b10, BACKEND_IFACE, "State"), "disabled")

        # A policy through the exported action, shown in the service's line.
        s.activate_action("set-policy", "<('web', 'least_conn')>")
        s.wait_for_label(f"http \u00b7 least_conn \u00b7 127.0.0.1:{self.port}")
        self.assertEqual(self.prop(lbdtest.service_path("web"), IFACE + ".Service", "Policy"),
                         "least_conn")

        # A backend removed, after its confirmation.
        s.click(f"Remove {ADDED}")
        self.wait_dialog(f"Remove {ADDED} from web?")
        s.screenshot("confirm-remove.png")
        s.click("Remove")
        s.wait_for(lambda nodes: not any(n[0] == "list item" and n[1] == ADDED for n in nodes),
                   f"the row of {ADDED} to go")
        self.assertNotIn(lbdtest.backend_path("web", ADDED),
                         self.prop(lbdtest.service_path("web"), IFACE + ".Service", "Backends"))

        # A service added through the dialog (defaults: http, round_robin)
        # with a real backend, and traffic through it shown as a rate.
        shop_port = lbdtest.free_port()
        s.click("Add Service")
        self.wait_dialog("Add Service")
        s.set_text("Name", "shop")
        s.set_text("Listen addresses", f"127.0.0.1:{shop_port}")
        s.click("Add")
        s.wait_for_label("shop")
        s.wait_for_label(f"http \u00b7 round_robin \u00b7 127.0.0.1:{shop_port}")
        backend = self.backends.addresses[0]
        s.click("Add a backend to shop")
        self.wait_dialog()
        s.set_text("Address", backend)
        s.click("Add")
        self.session.wait_for(lambda nodes: any(n[0] == "list item" and n[1] == backend
                                                for n in nodes), f"the row of {backend}")
        lbdtest.wait_until(lambda: lbdtest.port_accepts(shop_port), 20, what="shop serving")

        def shows_traffic(nodes):
            rates = [float(m.group(1)) for label in labels_under(nodes, "list item", backend)
                     for m in [re.search(r"([0-9.]+) req/s", label)] if m]
            return any(rate > 0 for rate in rates)
        deadline = time.monotonic() + 30
        sent = 0
        while time.monotonic() < deadline:
            for _ in range(20):
                status, _, _ = lbdtest.http_request(f"127.0.0.1:{shop_port}", "/")
                self.assertEqual(status, 200)
                sent += 1
            if shows_traffic(s.nodes()):
                break
        else:
            self.fail(f"no request rate shown for {backend} after {sent} requests: "
                      f"{labels_under(s.nodes(), 'list item', backend)}")
        s.screenshot("traffic.png")
        stats = self.bus.call(ROOT, IFACE, "GetStatistics")
        self.assertGreaterEqual(stats["data"][0]["Requests"]["data"], sent)

        # The service removed, after its confirmation.
        s.click("Remove the service shop")
        self.wait_dialog("Remove the Service shop?")
        s.click("Remove")
        s.wait_for_label("shop", present=False)
        self.assertEqual(len(self.prop(ROOT, IFACE, "Services")), 1)

        # Reload (the configuration files again; the state file keeps what
        # was changed here).
        self.show_view("Workers")
        workers = set(lbdtest.worker_pids(self.lbd.pid))
        s.click("Reload")
        lbdtest.wait_until(lambda: not workers & set(lbdtest.worker_pids(self.lbd.pid)), 30,
                           what="lbd to reload (new workers)")
        self.show_view("Services")
        self.wait_backend_shows(B10, "weight 7")

    def test_5_links(self):
        if self.no_nm:
            self.skipTest(self.no_nm)
        s = self.session
        self.grant_nobody()
        self.show_view("Links")
        s.wait_for_label("No Links")
        s.click("Create Link\u2026")
        self.wait_dialog("Create Link")
        s.set_text("Interface name", "bond0")
        s.set_text("Ports", "eth0, eth1")
        s.set_text("Mode or runner", "active-backup")
        s.click("Activate now")  # off: only the profile
        s.screenshot("create-link.png")
        s.click("Create")
        s.wait_for_label("bond0")
        link = lbdtest.ROOT_PATH + "/link/bond0"
        self.assertEqual(self.prop(link, IFACE + ".Link", "Mode"), "active-backup")
        self.assertEqual(self.prop(link, IFACE + ".Link", "Managed"), True)
        self.assertEqual(self.nm.field("bond0", "connection.interface-name"), "bond0")
        s.wait_for(lambda nodes: any(label.startswith("bond \u00b7 active-backup \u00b7 "
                                                      "eth0, eth1 \u00b7 ")
                                     for label in labels_under(nodes, "list item", "bond0")),
                   "bond0's kind, mode and ports")

        # Modify: the mode.
        s.click("Modify bond0")
        self.wait_dialog("Modify bond0")
        s.set_text("Mode", "balance-rr")
        s.click("Apply")
        s.wait_for(lambda nodes: any("balance-rr" in label
                                     for label in labels_under(nodes, "list item", "bond0")),
                   "bond0 in balance-rr")
        self.assertIn("balance-rr", self.nm.field("bond0", "bond.options"))

        # Activate: NetworkManager's answer, whichever it is here.
        s.click("Activate bond0")
        def answered(nodes):
            return (any(n[0] == "dialog" and n[1] == "Activate bond0 Failed" for n in nodes)
                    or any("activated" in label
                           for label in labels_under(nodes, "list item", "bond0")))
        s.wait_for(answered, "NetworkManager's answer to the activation", timeout=60)
        nodes = s.nodes()
        if any(n[0] == "dialog" for n in nodes):
            labels = labels_under(nodes, "dialog", "Activate bond0 Failed")
            self.assertTrue(any(label.startswith("lbd said: ") and "bond0" in label
                                for label in labels), labels)
            print(f"activation refused here: {labels}", file=sys.stderr)
            self.close_dialog()
        else:
            self.assertEqual(self.prop(link, IFACE + ".Link", "State"), "activated")
            s.click("Deactivate bond0")
            s.wait_for(lambda nodes: "Activate bond0" in [n[1] for n in nodes],
                       "bond0 deactivated")

        # A bond made outside lbd: listed, not touched.
        self.nm.nmcli("connection", "add", "type", "bond", "ifname", "bond7", "con-name",
                      "bond7", "bond.options", "mode=broadcast")
        self.addCleanup(self.nm.nmcli, "connection", "delete", "bond7", check=False)
        s.wait_for(lambda nodes: any("made outside lbd" in label
                                     for label in labels_under(nodes, "list item", "bond7")),
                   "bond7 listed as made outside lbd")
        buttons = s.names("push button")
        self.assertNotIn("Delete bond7", buttons)
        self.assertNotIn("Modify bond7", buttons)
        s.screenshot("links.png")

        # Delete, after its confirmation.
        s.click("Delete bond0")
        self.wait_dialog("Delete bond0?")
        s.click("Delete")
        s.wait_for_label("bond0", present=False)
        self.assertNotIn("bond0", self.nm.connections())
        self.show_view("Services")

    def test_6_lbd_stopped_and_started(self):
        s = self.session
        cls = type(self)
        self.assertEqual(cls.lbd.stop(), 0)
        cls.lbd = None
        s.wait_for_label("lbd Is Not Running")
        nodes = s.nodes()
        self.assertFalse(has_label(nodes, "web"))
        # Nothing to switch to or add without lbd.
        self.assertNotIn("Add a backend to web", [n[1] for n in nodes])
        self.assertFalse(any(n[0] == "page tab" for n in nodes), "the view switcher is hidden")
        s.screenshot("lbd-not-running.png")

        cls.lbd = lbdtest.Lbd(self.bus, config=self.config, user="lbd").start()
        s.wait_for_label("web")
        nodes = s.nodes()
        self.assertFalse(has_label(nodes, "lbd Is Not Running"))
        self.assertTrue(any(n[0] == "page tab" and n[1] == "Services" for n in nodes))
        # A new lbd: the configuration's state again.
        self.wait_backend_shows(B9, "weight 1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
