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
- changes made elsewhere appear in the window: SetWeight, AddBackend and
  RemoveBackend through busctl, a service added with a health check whose
  backend goes down (the reason from BackendStateChanged is shown);
- a named lbd error (CreateLink without NetworkManager) shows lbd's message;
- the exported actions: SetWorkerModel through org.gtk.Actions.Activate;
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
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import desktop  # noqa: E402
import lbdtest  # noqa: E402

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
        cls.bus = lbdtest.PrivateSystemBus(
            [lbdtest.BUS_POLICY, lbdtest.POLKIT_BUS_POLICY]).start()
        cls.addClassCleanup(cls.bus.stop)
        cls.polkitd = lbdtest.Polkitd(cls.bus).start()
        cls.addClassCleanup(cls.polkitd.stop)
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

    def show_view(self, name):
        self.session.click(name)
        time.sleep(0.3)  # the view's transition

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
        s.screenshot("links.png")
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
        self.polkitd.set_rules("50-desktop-test.rules", GRANT_NOBODY)
        self.addCleanup(self.polkitd.set_rules, "50-desktop-test.rules", None)

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

        # A named lbd error, with lbd's message: no NetworkManager here.
        s.activate_action("create-link", "<('bond', 'bond7', ['veth-x'], 'active-backup', true)>")
        s.wait_for(lambda nodes: any(n[0] == "dialog" and n[1] == "Create the bond bond7 Failed"
                                     for n in nodes), "the CreateLink failure")
        labels = labels_under(s.nodes(), "dialog", "Create the bond bond7 Failed")
        self.assertTrue(any(label.startswith("lbd said: ") and "NetworkManager" in label
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

        self.bus.call(ROOT, IFACE, "AddBackend", "ssa{sv}", "web", ELSEWHERE, 1, "Weight", "u", 3)
        self.wait_backend_shows(ELSEWHERE, "weight 3")
        self.bus.call(ROOT, IFACE, "RemoveBackend", "ss", "web", ELSEWHERE)
        s.wait_for(lambda nodes: not any(n[0] == "list item" and n[1] == ELSEWHERE
                                         for n in nodes), f"the row of {ELSEWHERE} to go")

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

    def test_5_lbd_stopped_and_started(self):
        s = self.session
        cls = type(self)
        self.assertEqual(cls.lbd.stop(), 0)
        cls.lbd = None
        s.wait_for_label("lbd Is Not Running")
        self.assertFalse(has_label(s.nodes(), "web"))
        s.screenshot("lbd-not-running.png")

        cls.lbd = lbdtest.Lbd(self.bus, config=self.config, user="lbd").start()
        s.wait_for_label("web")
        self.assertFalse(has_label(s.nodes(), "lbd Is Not Running"))
        # A new lbd: the configuration's state again.
        self.wait_backend_shows(B9, "weight 1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
