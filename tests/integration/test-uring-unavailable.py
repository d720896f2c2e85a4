#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Where io_uring cannot be used, lbd says why and never runs another model.

lbd runs under deny-syscalls, a seccomp filter that makes the io_uring
system calls fail as a kernel without them does (ENOSYS) or as
kernel.io_uring_disabled=2 and a forbidding policy do (EPERM). The uring
plugin's init then fails with the reason, and:
- `lbd -t` of a configuration with worker-model=uring fails and repeats it;
- lbd refuses to start with that configuration;
- a running lbd (event workers) refuses SetWorkerModel("uring") with
  org.example.LoadBalancer.Error.NotSupported and the reason, keeps its
  model and serves on.
Without the filter, the same configuration checks and serves (the control).
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

DENY = lbdtest.DENY_SYSCALLS
ENOSYS, EPERM = 38, 1
REASON = {
    ENOSYS: "this kernel has no io_uring",
    EPERM: "io_uring is not permitted to this process",
}


@unittest.skipUnless(lbdtest.has_plugin("uring"), lbdtest.UNBUILT)
class UringUnavailable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(DENY, os.X_OK):
            raise unittest.SkipTest(f"deny-syscalls is not built: {DENY}")
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backend = lbdtest.nginx_backend().start()
        cls.addClassCleanup(cls.backend.stop)

    def setUp(self):
        self.tmp = lbdtest.TempDir("lbd-uring-")
        self.addCleanup(self.tmp.cleanup)
        self.port = lbdtest.free_port()

    def config(self, model):
        path = self.tmp.join(f"{model}.conf")
        with open(path, "w") as f:
            f.write("\n".join([
                "[daemon]", "workers=1", f"worker-model={model}", "user=nobody", "",
                "[service web]", f"listen=127.0.0.1:{self.port}", "mode=http",
                f"backends={self.backend.address}", ""]))
        return path

    def check(self, config, wrapper=()):
        argv = [*wrapper, lbdtest.lbd_path(), "-t", "--config", config,
                "--config-dir", self.tmp.join("none"), "--state-dir", self.tmp.join("state"),
                *lbdtest.plugin_args()]
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)

    def test_check_config_says_why(self):
        config = self.config("uring")
        r = self.check(config)
        self.assertEqual(r.returncode, 0, "control: io_uring works here\n" + r.stderr)
        for err, reason in REASON.items():
            with self.subTest(errno=err):
                r = self.check(config, [DENY, str(err), "io_uring"])
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("[daemon] worker-model: the worker plugin 'uring' cannot be "
                              "used here: init failed: io_uring is unavailable: " + reason,
                              r.stderr)
                self.assertIn("io_uring_setup: ", r.stderr)
                self.assertNotIn("configuration OK", r.stdout)

    def test_refuses_to_start(self):
        lbd = lbdtest.Lbd(self.bus, config=self.config("uring"), wrapper=[DENY, str(EPERM), "io_uring"])
        with self.assertRaises(lbdtest.FixtureError):
            lbd.start()
        self.addCleanup(lbd.stop)
        self.assertIn("io_uring is unavailable: " + REASON[EPERM], lbd.log_text())
        self.assertNotIn("serving with the", lbd.log_text(), "a worker ran anyway")

    def test_set_worker_model_is_refused_and_nothing_changes(self):
        lbd = lbdtest.Lbd(self.bus, config=self.config("event"), wrapper=[DENY, str(ENOSYS), "io_uring"])
        lbd.start()
        self.addCleanup(lbdtest.stop_clean, lbd)
        lbdtest.wait_until(lambda: not lbdtest.port_is_free(self.port), 10,
                           what="lbd to listen", alive=lbd.process)
        # gdbus prints the error's name with its message.
        r = lbdtest.run(["gdbus", "call", "--address", self.bus.address, "--dest",
                         lbdtest.BUS_NAME, "--object-path", lbdtest.ROOT_PATH, "--method",
                         lbdtest.ROOT_IFACE + ".SetWorkerModel", "uring", "{}"])
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("org.example.LoadBalancer.Error.NotSupported: Worker model 'uring' "
                      "cannot be used here: init failed: io_uring is unavailable: " +
                      REASON[ENOSYS], r.stderr)
        self.assertEqual(self.bus.get_property(lbdtest.ROOT_PATH, lbdtest.ROOT_IFACE,
                                               "WorkerModel"), "event")
        status, _, _ = lbdtest.http_request(f"127.0.0.1:{self.port}", "/")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
