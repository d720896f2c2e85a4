#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The state file (docs/state.md): STATE_DIR/state.conf is merged over the
configuration at startup, an unusable one is moved aside with an error line
and lbd starts from the configuration, and `lbd -t` reports an unusable one
without moving it.

Each test runs the built lbd on a private system bus with a configuration
file (worker-model sync, workers=2, service "web" with two backends) and a
--state-dir of its own, and reads the result over D-Bus with busctl.

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-state.py
"""
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
BACKEND_IFACE = IFACE + ".Backend"
CORRUPT_NAME = re.compile(r"^state\.conf\.corrupt-\d{8}-\d{6}(-\d+)?$")
CORRUPT_STATE = "[daemon]\nworkers=5\n[service web\n"


class StateFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)

    def setUp(self):
        self.tmp = lbdtest.TempDir("lbd-state-")
        self.addCleanup(self.tmp.cleanup)
        self.state_dir = self.tmp.join("state")
        os.mkdir(self.state_dir, 0o700)
        self.conf_dir = self.tmp.join("conf.d")
        os.mkdir(self.conf_dir)
        self.port = lbdtest.free_port()
        self.backends = [f"127.0.0.1:{lbdtest.free_port()}" for _ in range(3)]
        self.config = self.tmp.join("lbd.conf")
        with open(self.config, "w") as f:
            f.write("[daemon]\n"
                    "workers=2\n"
                    "worker-model=sync\n"
                    "graceful-timeout=1\n"
                    "[service web]\n"
                    f"listen=127.0.0.1:{self.port}\n"
                    f"backends={self.backends[0]} weight=2;{self.backends[1]};"
                    f"{self.backends[2]}\n")

    # --- helpers ---------------------------------------------------------------

    def write_state(self, text):
        with open(os.path.join(self.state_dir, "state.conf"), "w") as f:
            f.write(text)

    def start_lbd(self):
        lbd = lbdtest.Lbd(self.bus, config=self.config,
                          args=["--state-dir", self.state_dir]).start()
        self.addCleanup(self.stop_lbd, lbd)
        return lbd

    def stop_lbd(self, lbd):
        if lbd.running():
            status = lbd.stop()
            self.assertEqual(status, 0, f"lbd exited with {status}; log:\n{lbd.log_tail()}")

    def workers(self):
        return self.bus.get_property(ROOT, IFACE, "Workers")

    def weight(self, i):
        return self.bus.get_property(lbdtest.backend_path("web", self.backends[i]), BACKEND_IFACE, "Weight")

    def corrupt_files(self):
        return sorted(n for n in os.listdir(self.state_dir) if n.startswith("state.conf.corrupt"))

    def check_config(self):
        return lbdtest.run([lbdtest.lbd_path(), "-t", "--config", self.config,
                            "--config-dir", self.conf_dir, "--state-dir", self.state_dir,
                            *lbdtest.plugin_args()])

    # --- tests --------------------------------------------------------------------

    def test_state_file_takes_effect(self):
        self.write_state("# changed over D-Bus\n"
                         "[daemon]\n"
                         "workers=3\n"
                         "[service web]\n"
                         f"backends={self.backends[0]} weight=7;{self.backends[1]}\n")
        lbd = self.start_lbd()
        self.assertEqual(self.workers(), 3)
        self.assertEqual(self.weight(0), 7)
        self.assertEqual(self.weight(1), 1)
        # Not in the state file: from lbd.conf.
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "WorkerModel"), "sync")
        log = lbd.log_text()
        self.assertNotIn("unusable", log)
        self.assertTrue(os.path.exists(os.path.join(self.state_dir, "state.conf")))
        self.assertEqual(self.corrupt_files(), [])

        # A reload merges it again.
        self.bus.busctl("call", lbdtest.BUS_NAME, ROOT, IFACE, "Reload")
        self.assertEqual(self.workers(), 3)
        self.assertEqual(self.weight(0), 7)

    def backend(self, address, prop, service="web"):
        return self.bus.get_property(lbdtest.backend_path(service, address), BACKEND_IFACE, prop)

    def test_dbus_changes_survive_kill_9(self):
        # What every mutating method confirmed is saved before the reply:
        # after kill -9 of the master and a restart, it is all back.
        lbd = self.start_lbd()
        name = lbdtest.BUS_NAME
        b0, b1, b2 = self.backends
        new = f"127.0.0.1:{lbdtest.free_port()}"
        api_port = lbdtest.free_port()
        self.bus.busctl("call", name, ROOT, IFACE, "SetWorkers", "u", "3")
        self.bus.busctl("call", name, ROOT, IFACE, "SetPolicy", "ss", "web", "least_conn")
        self.bus.busctl("call", name, ROOT, IFACE, "AddService", "sa{sv}", "api", "3",
                        "Listen", "as", "1", f"127.0.0.1:{api_port}", "Mode", "s", "tcp",
                        "Backends", "as", "1", b0)
        self.bus.busctl("call", name, ROOT, IFACE, "AddBackend", "ssa{sv}", "web", new, "2",
                        "Weight", "u", "5", "Backup", "b", "true")
        self.bus.busctl("call", name, lbdtest.backend_path("web", b0), BACKEND_IFACE,
                        "SetWeight", "u", "9")
        self.bus.busctl("call", name, lbdtest.backend_path("web", b1), BACKEND_IFACE, "Drain")
        self.bus.busctl("call", name, ROOT, IFACE, "RemoveBackend", "ss", "web", b2)
        self.bus.busctl("call", name, ROOT, IFACE, "SetWorkerModel", "sa{sv}", "thread", "1",
                        "Threads", "u", "8")
        state = os.path.join(self.state_dir, "state.conf")
        self.assertEqual(os.stat(state).st_mode & 0o777, 0o600)
        with open(state) as f:
            text = f.read()
        self.assertIn("workers=3", text)
        self.assertIn("policy=least_conn", text)
        self.assertIn("[service api]", text)
        os.kill(lbd.pid, signal.SIGKILL)
        lbd.process.proc.wait(timeout=10)
        lbdtest.wait_until(lambda: not self.bus.name_has_owner(lbdtest.BUS_NAME), 10,
                           what="the bus name to be released")
        # The orphaned workers stop on their own (PR_SET_PDEATHSIG) and let
        # go of the listening sockets.
        lbdtest.wait_until(lambda: lbdtest.port_is_free(self.port) and
                           lbdtest.port_is_free(api_port), 15,
                           what="the old workers to exit")
        self.start_lbd()
        self.assertEqual(self.workers(), 3)
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "WorkerModel"), "thread")
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "Threads"), 8)
        web = lbdtest.service_path("web")
        api = lbdtest.service_path("api")
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "Services"), [web, api])
        self.assertEqual(self.bus.get_property(web, IFACE + ".Service", "Policy"), "least_conn")
        self.assertEqual(self.bus.get_property(api, IFACE + ".Service", "Mode"), "tcp")
        self.assertEqual(self.bus.get_property(api, IFACE + ".Service", "Listen"),
                         [f"127.0.0.1:{api_port}"])
        self.assertEqual(self.bus.get_property(web, IFACE + ".Service", "Backends"),
                         [lbdtest.backend_path("web", a) for a in (b0, b1, new)])
        self.assertEqual(self.backend(b0, "Weight"), 9)
        self.assertEqual(self.backend(b1, "State"), "draining")
        self.assertEqual(self.backend(new, "Weight"), 5)
        self.assertIs(self.backend(new, "Backup"), True)

    def test_without_state_file(self):
        self.start_lbd()
        self.assertEqual(self.workers(), 2)
        self.assertEqual(self.weight(0), 2)
        self.assertEqual(self.corrupt_files(), [])

    def test_corrupt_state_file_is_moved_aside(self):
        self.write_state(CORRUPT_STATE)
        lbd = self.start_lbd()
        # The configuration alone.
        self.assertEqual(self.workers(), 2)
        self.assertEqual(self.weight(0), 2)

        self.assertFalse(os.path.exists(os.path.join(self.state_dir, "state.conf")))
        aside = self.corrupt_files()
        self.assertEqual(len(aside), 1, aside)
        self.assertRegex(aside[0], CORRUPT_NAME)
        with open(os.path.join(self.state_dir, aside[0])) as f:
            self.assertEqual(f.read(), CORRUPT_STATE)

        state_path = os.path.join(self.state_dir, "state.conf")
        lines = [line for line in lbd.log_text().splitlines() if "unusable" in line]
        self.assertEqual(len(lines), 1, lbd.log_tail())
        line = lines[0]
        self.assertIn("err", line)
        self.assertIn(f"{state_path}: line 3:", line)
        self.assertIn(f"moved it to {os.path.join(self.state_dir, aside[0])}", line)
        self.assertIn("lbd starts from the configuration without the changes it held", line)

    def test_invalid_state_file_is_moved_aside(self):
        # Parses, but names a policy no plugin provides.
        self.write_state("[service web]\npolicy=no_such_policy\n")
        lbd = self.start_lbd()
        self.assertEqual(self.bus.get_property(ROOT + "/service/web", IFACE + ".Service",
                                               "Policy"), "round_robin")
        self.assertEqual(len(self.corrupt_files()), 1)
        self.assertIn("no policy plugin named 'no_such_policy' is loaded", lbd.log_text())
        self.assertIn("the state file is unusable: moved it to", lbd.log_text())

    def test_check_config_reports_without_moving(self):
        self.write_state(CORRUPT_STATE)
        r = self.check_config()
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        self.assertIn(os.path.join(self.state_dir, "state.conf") + ": line 3:", out)
        self.assertIn("lbd would move it aside", out)
        self.assertIn("configuration check failed", out)
        with open(os.path.join(self.state_dir, "state.conf")) as f:
            self.assertEqual(f.read(), CORRUPT_STATE)
        self.assertEqual(self.corrupt_files(), [])

    def test_check_config_with_state(self):
        self.write_state("[daemon]\nworkers=3\n")
        r = self.check_config()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(os.path.join(self.state_dir, "state.conf"), r.stdout)
        self.assertIn("3 worker(s)", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
