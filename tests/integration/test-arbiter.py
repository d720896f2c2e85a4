#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The arbiter: lbd's supervision of its worker processes (Gunicorn's
semantics). Workers are counted as the children of the lbd process in /proc.

The workers run the test-only worker plugin `testsleep`
(tests/integration/plugins/worker-testsleep.c): it heartbeats, accepts and
closes connections on its listeners, and can be made to fail at once, to
hang without heartbeats, or to ignore a graceful stop, through environment
variables lbd passes on to its workers.

Run by meson (tests/integration/meson.build) or directly after a build:
/usr/bin/python3 tests/integration/test-arbiter.py
"""
import os
import re
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402

TEST_PLUGIN_DIR = lbdtest.TEST_PLUGIN_DIR
NOBODY_UID = 65534


def alive(pid):
    """pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def uid_of(pid):
    return [int(x) for x in lbdtest.status_field(pid, "Uid")]


def connect_result(port, timeout=2.0):
    """"accepted" when something accepted the connection (and closed it),
    "refused" when nothing listens, "timeout" when nobody accepted."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        # testsleep accepts and closes at once: EOF.
        data = s.recv(1)
        return "accepted" if data == b"" else f"data {data!r}"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "accepted"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()


def unix_connect_result(path, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        return "accepted" if s.recv(1) == b"" else "data"
    except (ConnectionRefusedError, FileNotFoundError):
        return "refused"
    except ConnectionResetError:
        return "accepted"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()


def config_text(workers, listen, model="testsleep", user="nobody", **daemon):
    lines = ["[daemon]", f"workers={workers}", f"worker-model={model}", f"user={user}"]
    lines += [f"{k.replace('_', '-')}={v}" for k, v in daemon.items()]
    lines += ["", "[service web]", "listen=" + ";".join(listen), "mode=tcp",
              "backends=127.0.0.1:9", ""]
    return "\n".join(lines)


class ArbiterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lbdtest.require_testsleep()
        cls.bus = lbdtest.PrivateSystemBus().start()
        cls.addClassCleanup(cls.bus.stop)

    def setUp(self):
        self.tmp = lbdtest.TempDir("lbd-arbiter-")
        self.addCleanup(self.tmp.cleanup)
        self.config_path = self.tmp.join("lbd.conf")
        self.starts = self.tmp.join("starts")
        self.hang = self.tmp.join("hang")
        # Workers run as nobody: they must be able to write and read these.
        for path in (self.starts, self.hang):
            with open(path, "w"):
                pass
            os.chmod(path, 0o666)
        self.lbd = None

    def write_config(self, *args, **kw):
        with open(self.config_path + ".tmp", "w") as f:
            f.write(config_text(*args, **kw))
        os.rename(self.config_path + ".tmp", self.config_path)

    def start_lbd(self, workers=2, listen=None, env=None, **daemon):
        self.port = lbdtest.free_port()
        self.write_config(workers, listen or [f"127.0.0.1:{self.port}"], **daemon)
        worker_env = {"LBD_TESTSLEEP_STARTS": self.starts,
                      "LBD_TESTSLEEP_HANG_FILE": self.hang}
        worker_env.update(env or {})
        self.lbd = lbdtest.Lbd(self.bus, config=self.config_path,
                               plugin_dirs=[lbdtest.plugin_dir(), TEST_PLUGIN_DIR],
                               env=worker_env)
        self.lbd.start()
        self.addCleanup(self.stop_lbd)
        return self.lbd

    def stop_lbd(self):
        """Cleanup: stop lbd by PID (the fixture SIGKILLs its process group,
        workers included, should SIGTERM not do); show its log on failure."""
        if self.lbd is None:
            return
        status = self.lbd.stop()
        print(f"--- lbd log (exit status {status}) ---\n{self.lbd.log_tail(80)}",
              file=sys.stderr)

    def workers(self):
        return set(lbdtest.worker_pids(self.lbd.pid))

    def wait_workers(self, n, timeout=10.0, what=None):
        """Wait until lbd has exactly n children; returns their PIDs."""
        def exactly_n():
            pids = self.workers()  # one reading: each call may differ
            return len(pids) == n and pids
        return lbdtest.wait_until(exactly_n, timeout, what=what or f"{n} workers",
                                  alive=self.lbd.process)

    def started_pids(self):
        with open(self.starts) as f:
            return [int(x) for x in f.read().split()]

    def wait_log(self, pattern, timeout=10.0):
        rx = re.compile(pattern)
        return lbdtest.wait_until(lambda: rx.search(self.lbd.log_text()), timeout,
                                  what=f"lbd to log /{pattern}/", alive=self.lbd.process)

    def send(self, sig):
        os.kill(self.lbd.pid, sig)

    def wait_exit(self, timeout):
        """Wait for lbd to exit by itself; returns (status, seconds taken)."""
        t0 = time.monotonic()
        proc = self.lbd.process.proc
        proc.wait(timeout)
        return proc.returncode, time.monotonic() - t0

    # --- starting -------------------------------------------------------------

    def test_starts_configured_workers_as_user(self):
        self.start_lbd(workers=3)
        pids = self.wait_workers(3)
        # They stay: a second later still the same three.
        time.sleep(1.5)
        self.assertEqual(self.workers(), pids)
        for pid in pids:
            self.assertEqual(uid_of(pid), [NOBODY_UID] * 4, f"worker {pid} kept root")
            # No way up again, not even through a setuid program; and the
            # precondition of a seccomp filter without CAP_SYS_ADMIN.
            self.assertEqual(lbdtest.status_field(pid, "NoNewPrivs"), ["1"], f"worker {pid}")
        # The master keeps its privileges (it forks workers of other users).
        self.assertEqual(lbdtest.status_field(self.lbd.pid, "NoNewPrivs"), ["0"])
        self.assertEqual(sorted(self.started_pids()), sorted(pids))
        # The workers accept on the listener the master bound.
        self.assertEqual(connect_result(self.port), "accepted")

    def test_refuses_to_start_without_the_user(self):
        port = lbdtest.free_port()
        with open(self.config_path, "w") as f:
            f.write(config_text(1, [f"127.0.0.1:{port}"], user="lbd-test-no-such-user"))
        state = self.tmp.join("state")
        r = lbdtest.run([lbdtest.lbd_path(), "--config", self.config_path, "--config-dir",
                         self.tmp.join("none"), "--state-dir", state,
                         *lbdtest.plugin_args([lbdtest.plugin_dir(), TEST_PLUGIN_DIR])],
                        env=self.bus.env(), timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("[daemon] user: no user named 'lbd-test-no-such-user'; create it", r.stderr)
        self.assertEqual(lbdtest.port_is_free(port), True, "the port stayed bound")

    def test_refuses_to_start_when_the_address_is_taken(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with open(self.config_path, "w") as f:
                f.write(config_text(1, [f"127.0.0.1:{port}"]))
            r = lbdtest.run([lbdtest.lbd_path(), "--config", self.config_path, "--config-dir",
                             self.tmp.join("none"), "--state-dir", self.tmp.join("state"),
                             *lbdtest.plugin_args([lbdtest.plugin_dir(), TEST_PLUGIN_DIR])],
                            env=dict(self.bus.env(), LBD_TESTSLEEP_STARTS=self.starts),
                            timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"service web: cannot listen on 127.0.0.1:{port}: Address already in use",
                      r.stderr)
        self.assertEqual(self.started_pids(), [], "workers were started")

    def test_unix_listener_replaces_only_a_stale_socket(self):
        path = self.tmp.join("web.sock")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()  # the file stays, nobody listens: stale
        self.start_lbd(workers=1, listen=[f"unix:{path}"])
        self.wait_workers(1)
        self.assertEqual(unix_connect_result(path), "accepted")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o666)
        self.assertEqual(self.lbd.stop(), 0)
        self.assertFalse(os.path.exists(path), "the socket file was left behind")

        # A file that is not a socket is never removed.
        with open(path, "w") as f:
            f.write("precious\n")
        with open(self.config_path, "w") as f:
            f.write(config_text(1, [f"unix:{path}"]))
        r = lbdtest.run([lbdtest.lbd_path(), "--config", self.config_path, "--config-dir",
                         self.tmp.join("none"), "--state-dir", self.tmp.join("state"),
                         *lbdtest.plugin_args([lbdtest.plugin_dir(), TEST_PLUGIN_DIR])],
                        env=self.bus.env(), timeout=20)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"service web: cannot listen on unix:{path}: the path exists and is not "
                      "a socket", r.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), "precious\n")

    # --- supervision ----------------------------------------------------------

    def test_killed_worker_is_respawned(self):
        self.start_lbd(workers=2)
        before = self.wait_workers(2)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        def replaced():
            pids = self.workers()  # one reading: each call may differ
            return len(pids) == 2 and victim not in pids and pids
        after = lbdtest.wait_until(replaced, 10, what="a replacement worker",
                                   alive=self.lbd.process)
        self.assertEqual(len(after - before), 1)
        self.assertEqual(before - after, {victim})
        self.assertRegex(self.lbd.log_text(),
                         rf"worker {victim} \(slot \d+\) was killed by signal KILL")
        self.assertEqual(connect_result(self.port), "accepted")

    def test_ttin_ttou_change_the_count(self):
        self.start_lbd(workers=2)
        self.wait_workers(2)
        self.send(signal.SIGTTIN)
        three_before = self.wait_workers(3)
        self.send(signal.SIGTTIN)
        four = self.wait_workers(4)
        (newest,) = four - three_before
        self.send(signal.SIGTTOU)
        three = self.wait_workers(3)
        # The highest slot goes first: the one started last.
        self.assertEqual(four - three, {newest})
        for _ in range(3):
            self.send(signal.SIGTTOU)
            time.sleep(0.3)
        one = self.wait_workers(1)
        time.sleep(1.0)
        self.assertEqual(self.workers(), one, "TTOU went below one worker")
        self.wait_log(r"already at 1 worker")

    def test_heartbeat_timeout_kills_a_hung_worker(self):
        self.start_lbd(workers=2, timeout=2)
        before = self.wait_workers(2)
        victim = max(before)
        with open(self.hang, "w") as f:
            f.write(f"{victim}\n")
        t0 = time.monotonic()
        self.wait_log(rf"worker {victim} \(slot \d+\) silent for \d+s; killing it", timeout=10)
        waited = time.monotonic() - t0
        self.assertGreater(waited, 1.5, "killed before its timeout")
        self.assertLess(waited, 5.0, "killed long after its timeout")
        def replaced():
            pids = self.workers()  # one reading: each call may differ
            return len(pids) == 2 and victim not in pids and pids
        after = lbdtest.wait_until(replaced, 10, what="a replacement worker",
                                   alive=self.lbd.process)
        self.assertFalse(alive(victim))
        # The other worker heartbeats: it was left alone.
        self.assertIn(min(before), after)

    def test_crash_loop_backs_off(self):
        self.start_lbd(workers=2, env={"LBD_TESTSLEEP_FAIL": "1"})
        time.sleep(5.0)
        forks = len(self.started_pids())
        # Without back-off this is thousands; with it 1, 2, 4 s apart.
        self.assertGreater(forks, 2, "workers were not restarted at all")
        self.assertLessEqual(forks, 10, f"{forks} workers started in 5 s")
        self.assertTrue(self.lbd.running())
        self.assertIn("keep exiting right after they start", self.lbd.log_text())
        # The master still answers on the bus.
        self.assertEqual(self.bus.get_property(lbdtest.ROOT_PATH, lbdtest.ROOT_IFACE,
                                               "WorkerModel"), "testsleep")
        # And the log is not flooded.
        lines = len(self.lbd.log_text().splitlines())
        self.assertLess(lines, 150, f"{lines} log lines in 5 s")

    # --- reloading ------------------------------------------------------------

    def test_hup_reload_replaces_workers_and_listeners(self):
        self.start_lbd(workers=2)
        old_port = self.port
        old = self.wait_workers(2)
        self.assertEqual(connect_result(old_port), "accepted")
        new_port = lbdtest.free_port()
        self.write_config(3, [f"127.0.0.1:{new_port}"])
        self.lbd.notifications.clear()
        self.send(signal.SIGHUP)
        def new_generation():
            pids = self.workers()  # one reading: each call may differ
            return len(pids) == 3 and not (pids & old) and pids
        new = lbdtest.wait_until(new_generation, 10, what="3 workers of the new generation",
                                 alive=self.lbd.process)
        self.assertFalse(new & old)
        for pid in old:
            lbdtest.wait_until(lambda p=pid: not alive(p), 5, what=f"old worker {pid} to exit")
        self.assertEqual(connect_result(new_port), "accepted")
        # The old address is closed once its workers are gone: nothing in
        # the new generation holds it.
        lbdtest.wait_until(lambda: connect_result(old_port) == "refused", 5,
                           what=f"127.0.0.1:{old_port} to be closed")
        self.lbd.poll_notifications(1.0)
        self.assertIn("RELOADING=1", self.lbd.notifications)
        self.assertIn("READY=1", self.lbd.notifications)
        self.assertLess(self.lbd.notifications.index("RELOADING=1"),
                        self.lbd.notifications.index("READY=1"))

    def test_hup_keeps_a_listener_that_stays(self):
        self.start_lbd(workers=1)
        old = self.wait_workers(1)
        self.write_config(1, [f"127.0.0.1:{self.port}"])
        self.send(signal.SIGHUP)
        def replaced():
            pids = self.workers()  # one reading: each call may differ
            return len(pids) == 1 and not (pids & old)
        lbdtest.wait_until(replaced, 10, what="the new worker", alive=self.lbd.process)
        # Same address, same socket: it was never closed and reopened.
        self.assertEqual(connect_result(self.port), "accepted")
        self.assertNotIn(f"listening on 127.0.0.1:{self.port}",
                         self.lbd.log_text().split("reloading the configuration", 1)[1])

    def test_hup_with_a_broken_config_keeps_everything(self):
        self.start_lbd(workers=2)
        before = self.wait_workers(2)
        with open(self.config_path, "w") as f:
            f.write("[daemon]\nworkers=lots\n")
        self.lbd.notifications.clear()
        self.send(signal.SIGHUP)
        self.wait_log(r"reload failed; still running the previous configuration")
        self.assertRegex(self.lbd.log_text(), r"\[daemon\] workers: .*lots")
        time.sleep(1.0)
        self.assertEqual(self.workers(), before)
        self.assertEqual(connect_result(self.port), "accepted")
        # systemd hears that the reload ended (with the old configuration).
        self.lbd.poll_notifications(0.5)
        self.assertIn("RELOADING=1", self.lbd.notifications)
        self.assertIn("READY=1", self.lbd.notifications)
        self.assertLess(self.lbd.notifications.index("RELOADING=1"),
                        len(self.lbd.notifications) - 1 -
                        self.lbd.notifications[::-1].index("READY=1"))

    def test_hup_refused_when_the_user_is_gone(self):
        self.start_lbd(workers=1)
        before = self.wait_workers(1)
        self.write_config(1, [f"127.0.0.1:{self.port}"], user="lbd-test-no-such-user")
        self.send(signal.SIGHUP)
        self.wait_log(r"no user named 'lbd-test-no-such-user'")
        self.wait_log(r"reload failed")
        time.sleep(0.5)
        self.assertEqual(self.workers(), before)

    # --- stopping -------------------------------------------------------------

    def test_term_stops_gracefully_and_exits_0(self):
        self.start_lbd(workers=3)
        pids = self.wait_workers(3)
        self.send(signal.SIGTERM)
        status, took = self.wait_exit(10)
        self.assertEqual(status, 0)
        self.assertLess(took, 3.0)
        for pid in pids:
            self.assertFalse(alive(pid), f"worker {pid} outlived the master")
        self.assertIn("all workers are gone; exiting", self.lbd.log_text())

    def test_term_kills_workers_after_graceful_timeout(self):
        self.start_lbd(workers=2, graceful_timeout=2, env={"LBD_TESTSLEEP_IGNORE_STOP": "1"})
        pids = self.wait_workers(2)
        self.send(signal.SIGTERM)
        status, took = self.wait_exit(15)
        self.assertEqual(status, 0)
        self.assertGreaterEqual(took, 1.9, "did not give the workers graceful-timeout")
        self.assertLess(took, 6.0)
        for pid in pids:
            self.assertFalse(alive(pid), f"worker {pid} outlived the master")
        self.assertIn("did not stop in time; killing it", self.lbd.log_text())

    def test_quit_stops_at_once(self):
        # Workers that ignore a graceful stop still stop at once on QUIT.
        self.start_lbd(workers=2, graceful_timeout=30, env={"LBD_TESTSLEEP_IGNORE_STOP": "1"})
        pids = self.wait_workers(2)
        self.send(signal.SIGQUIT)
        status, took = self.wait_exit(10)
        self.assertEqual(status, 0)
        self.assertLess(took, 2.5)
        for pid in pids:
            self.assertFalse(alive(pid), f"worker {pid} outlived the master")


if __name__ == "__main__":
    unittest.main(verbosity=2)
