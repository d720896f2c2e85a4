#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The workers' confinement (daemon/proxy/worker-confine.h): every worker
model serves with no_new_privs, a seccomp filter and no capabilities; a
worker that tries what a compromised one would (execve, opening the state
file for writing, signalling the master) is stopped: killed by the filter
and reported by the arbiter, or refused by Landlock, while the master and
its state stay as they were.

The workers here run as root (user=root), the master's own uid: what
stops them is the confinement, not file permissions, which is the case of
a master run as an unprivileged user (User=lbd), whose workers share its
uid. The misbehaving worker is the test-only worker plugin testsleep
(tests/integration/plugins/worker-testsleep.c, LBD_TESTSLEEP_MISBEHAVE).
"""
import grp
import hashlib
import os
import pwd
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

TEST_PLUGIN_DIR = lbdtest.TEST_PLUGIN_DIR
ROOT = lbdtest.ROOT_PATH
IFACE = lbdtest.ROOT_IFACE
KILLED = re.compile(r"worker (\d+) \(slot 0\) was killed by its system call filter: it made "
                    r"a system call workers may not make")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def confinement_of(pid):
    """What /proc says of a worker's (or a thread's) confinement."""
    return {name: lbdtest.status_field(pid, name)[0]
            for name in ("NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "CapAmb")}


CONFINED = {"NoNewPrivs": "1", "Seccomp": "2", "CapEff": "0" * 16, "CapPrm": "0" * 16,
            "CapAmb": "0" * 16}


class Misbehaviour(unittest.TestCase):
    """testsleep workers trying what they must not."""

    @classmethod
    def setUpClass(cls):
        lbdtest.require_testsleep()
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)

    def setUp(self):
        self.tmp = lbdtest.TempDir("lbd-confine-")
        self.addCleanup(self.tmp.cleanup)

    def start(self, misbehave):
        """lbd with one testsleep worker that misbehaves as told once it
        runs; state.conf exists."""
        config = self.tmp.join("lbd.conf")
        port = lbdtest.free_port()
        with open(config, "w") as f:
            f.write("[daemon]\nworkers=1\nworker-model=testsleep\nuser=root\n"
                    f"[service web]\nlisten=127.0.0.1:{port}\nmode=tcp\n"
                    "backends=127.0.0.1:9\n")
        # The misbehaviour names the state file before lbd starts: a state
        # directory of the test's own (the last --state-dir wins).
        state_dir = self.tmp.join("state")
        os.mkdir(state_dir, 0o700)
        self.state = os.path.join(state_dir, "state.conf")
        # As lbd would have kept it after SetWorkers(1) over D-Bus.
        fd = os.open(self.state, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"[daemon]\nworkers=1\n")
        os.close(fd)
        self.state_digest = digest(self.state)
        self.lbd = lbdtest.Lbd(self.bus, config=config, args=["--state-dir", state_dir],
                               plugin_dirs=[lbdtest.plugin_dir(), TEST_PLUGIN_DIR],
                               env={"LBD_TESTSLEEP_MISBEHAVE":
                                    misbehave.replace("STATE", self.state)})
        self.lbd.start()
        self.addCleanup(self.stop)

    def stop(self):
        status = self.lbd.stop()
        print(f"--- lbd log (exit status {status}) ---\n{self.lbd.log_tail(60)}",
              file=sys.stderr)

    def assert_master_unharmed(self):
        self.assertTrue(self.lbd.running(), "the master died")
        self.assertEqual(self.bus.get_property(ROOT, IFACE, "Workers"), 1)
        self.assertEqual(digest(self.state), self.state_digest, "state.conf changed")

    def assert_killed(self):
        """The worker was killed by its filter, said so, and was replaced
        (by another that tries the same: the back-off grows, the master
        stays)."""
        found = lbdtest.wait_until(lambda: KILLED.findall(self.lbd.log_text()), 15,
                                   what="the arbiter's report of a worker killed by its filter",
                                   alive=self.lbd.process)
        lbdtest.wait_until(lambda: len(set(KILLED.findall(self.lbd.log_text()))) >= 2, 15,
                           what="a second worker, killed as the first", alive=self.lbd.process)
        self.assertNotIn("testsleep: worker", self.lbd.log_text(),
                         "the system call returned instead of killing the worker")
        self.assert_master_unharmed()
        return found

    def test_execve_kills_the_worker(self):
        self.start("execve")
        self.assert_killed()

    def test_opening_the_state_file_to_write_kills_the_worker(self):
        self.start("truncate=STATE")
        self.assert_killed()

    def test_signalling_the_master_kills_the_worker(self):
        self.start("signal-master")
        self.assert_killed()
        self.assertNotIn("received SIGTERM", self.lbd.log_text())

    def test_a_signal_to_itself_is_allowed(self):
        """kill() with the worker's own pid passes (the pid the master's
        filter left open is patched in by each worker)."""
        self.start("signal-self")
        line = lbdtest.wait_until(
            lambda: re.search(r"testsleep: worker (\d+): SIGURG to itself: (.*)",
                              self.lbd.log_text()),
            15, what="testsleep's report", alive=self.lbd.process)
        self.assertEqual(line.group(2), "done")
        self.assertNotRegex(self.lbd.log_text(), KILLED)
        self.assertIn(int(line.group(1)), lbdtest.worker_pids(self.lbd.pid))

    def test_landlock_refuses_appending_to_the_state_file(self):
        """The flags a worker may open with (O_WRONLY|O_APPEND, for its log
        files) pass the filter; Landlock refuses every file outside the log
        directories, even one the worker's uid owns."""
        self.start("append=STATE")
        line = lbdtest.wait_until(
            lambda: re.search(r"testsleep: worker (\d+): open for appending: (.*)",
                              self.lbd.log_text()),
            15, what="testsleep's report", alive=self.lbd.process)
        if "Landlock is not available" in self.lbd.log_text():
            self.skipTest("this kernel has no Landlock")
        self.assertEqual(line.group(2), "Permission denied")
        self.assertNotRegex(self.lbd.log_text(), KILLED)
        self.assertIn(int(line.group(1)), lbdtest.worker_pids(self.lbd.pid))
        self.assert_master_unharmed()


class WithBackend(unittest.TestCase):
    """A bus and an nginx backend per class."""

    @classmethod
    def setUpClass(cls):
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)
        cls.backend = lbdtest.nginx_backend().start()
        cls.addClassCleanup(cls.backend.stop)


class EveryModel(WithBackend):
    """Each shipped worker model serves confined."""

    def serve(self, model, confine="yes", wrapper=()):
        tmp = lbdtest.TempDir("lbd-confine-")
        self.addCleanup(tmp.cleanup)
        config = tmp.join("lbd.conf")
        self.listen = f"127.0.0.1:{lbdtest.free_port()}"
        with open(config, "w") as f:
            f.write(f"[daemon]\nworkers=2\nworker-model={model}\nuser=root\n"
                    f"confine-workers={confine}\naccess-log=access.log\n"
                    f"[service web]\nlisten={self.listen}\n"
                    f"backends={self.backend.address}\n")
        lbd = lbdtest.Lbd(self.bus, config=config, wrapper=wrapper)
        lbd.start()
        self.addCleanup(lbd.stop)
        lbdtest.wait_until(lambda: len(lbdtest.worker_pids(lbd.pid)) == 2, 10,
                           what="2 workers", alive=lbd.process)
        for _ in range(20):
            status, _, body = lbdtest.http_request(self.listen, "/")
            self.assertEqual((status, body), (200, b"nginx backend\n"))
        return lbd

    def check_model(self, model):
        if not lbdtest.has_plugin(model):
            self.skipTest(f"the {model} plugin is not built")
        lbd = self.serve(model)
        for pid in lbdtest.worker_pids(lbd.pid):
            # Every thread (the thread model's too) inherited the filter.
            for task in os.listdir(f"/proc/{pid}/task"):
                self.assertEqual(confinement_of(f"{pid}/task/{task}"), CONFINED,
                                 f"{model} worker {pid}, thread {task}")
        self.assertNotIn("killed by its system call filter", lbd.log_text())
        self.assertNotIn("cannot confine", lbd.log_text())
        # The master is not confined (it forks, reloads, reads files).
        self.assertEqual(lbdtest.status_field(lbd.pid, "Seccomp"), ["0"])

    def test_event(self):
        self.check_model("event")

    def test_thread(self):
        self.check_model("thread")

    def test_sync(self):
        self.check_model("sync")

    def test_uring(self):
        self.check_model("uring")

    def test_without_landlock(self):
        """A kernel without Landlock (its calls fail with ENOSYS): said once,
        and the workers serve confined by their filter alone."""
        lbd = self.serve("event", wrapper=[lbdtest.DENY_SYSCALLS, "38", "landlock"])
        said = lbd.log_text().count("Landlock is not available (Function not implemented): "
                                    "workers are confined by their system call filter alone")
        self.assertEqual(said, 1, lbd.log_text())
        for pid in lbdtest.worker_pids(lbd.pid):
            self.assertEqual(confinement_of(pid), CONFINED, f"worker {pid}")

    def test_without_seccomp(self):
        """Where no seccomp filter can be loaded (seccomp() refused), lbd
        starts no unconfined worker: it refuses to start, saying why and
        what to set; with confine-workers=no it runs."""
        tmp = lbdtest.TempDir("lbd-confine-")
        self.addCleanup(tmp.cleanup)
        config = tmp.join("lbd.conf")
        with open(config, "w") as f:
            f.write(f"[daemon]\nworkers=1\n[service web]\nlisten=127.0.0.1:{lbdtest.free_port()}"
                    f"\nbackends={self.backend.address}\n")
        lbd = lbdtest.Lbd(self.bus, config=config,
                          wrapper=[lbdtest.DENY_SYSCALLS, "1", "seccomp"])
        with self.assertRaises(lbdtest.FixtureError):
            lbd.start()
        self.assertIn("confine-workers=yes, but workers cannot load a seccomp filter here",
                      lbd.log_text())
        self.assertNotIn(lbd.returncode, (0, None), "lbd started without confining")
        lbd = self.serve("event", confine="no", wrapper=[lbdtest.DENY_SYSCALLS, "1", "seccomp"])
        self.assertEqual(len(lbdtest.worker_pids(lbd.pid)), 2)

    def test_confine_workers_no(self):
        lbd = self.serve("event", confine="no")
        for pid in lbdtest.worker_pids(lbd.pid):
            self.assertEqual(lbdtest.status_field(pid, "Seccomp"), ["0"], f"worker {pid}")
            self.assertEqual(lbdtest.status_field(pid, "NoNewPrivs"), ["1"], f"worker {pid}")
        self.assertRegex(lbd.log_text(), r"\[daemon\] confine-workers=no: the workers run "
                                         r"without Landlock and without a system call filter")


class UnprivilegedMaster(WithBackend):
    """lbd run as the user lbd, as lbd.service runs it: the master is not
    dumpable, its workers share its uid and are confined all the same."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lbd_user = pwd.getpwnam("lbd")

    def setUp(self):
        self.tmp = lbdtest.TempDir("lbd-confine-")
        self.addCleanup(self.tmp.cleanup)

    def config(self, extra=""):
        path = self.tmp.join("lbd.conf")
        self.listen = f"127.0.0.1:{lbdtest.free_port()}"
        with open(path, "w") as f:
            f.write(f"[daemon]\nworkers=2\n{extra}[service web]\nlisten={self.listen}\n"
                    f"backends={self.backend.address}\n")
        return path

    def test_master_as_lbd(self):
        lbd = lbdtest.Lbd(self.bus, config=self.config(), user="lbd").start()
        self.addCleanup(lbd.stop)
        lbdtest.wait_until(lambda: len(lbdtest.worker_pids(lbd.pid)) == 2, 10,
                           what="2 workers", alive=lbd.process)
        status, _, _ = lbdtest.http_request(self.listen, "/")
        self.assertEqual(status, 200)
        uid = str(self.lbd_user.pw_uid)
        self.assertEqual(lbdtest.status_field(lbd.pid, "Uid"), [uid] * 4)
        # Not dumpable: the kernel gives its /proc files to root.
        self.assertEqual(os.stat(f"/proc/{lbd.pid}/status").st_uid, 0,
                         "the master is dumpable")
        for pid in lbdtest.worker_pids(lbd.pid):
            self.assertEqual(lbdtest.status_field(pid, "Uid"), [uid] * 4, f"worker {pid}")
            self.assertEqual(confinement_of(pid), CONFINED, f"worker {pid}")
        # user=lbd is who lbd is: nothing to say about it.
        self.assertNotIn("not running as root", lbd.log_text())

    def test_extra_groups_lbd_does_not_have(self):
        if "lbd" in grp.getgrnam("www-data").gr_mem:
            self.skipTest("the user lbd is in group www-data here")
        path = self.config("extra-groups=www-data\n")
        os.chmod(self.tmp.path, 0o755)
        r = lbdtest.run([lbdtest.SETPRIV, "--reuid=lbd", "--regid=lbd", "--init-groups", "--",
                         lbdtest.lbd_path(), "-t", "--config", path,
                         *lbdtest.plugin_args()])
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"\[daemon\] extra-groups: lbd runs as user lbd \(uid \d+\), "
                                   r"not root, and is not in group 'www-data', so its workers "
                                   r"cannot be either: give lbd the group "
                                   r"\(SupplementaryGroups=www-data")


if __name__ == "__main__":
    unittest.main(verbosity=2)
