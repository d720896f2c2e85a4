#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""HUP under real wrk load loses no request; so does replacing a killed worker.

lbd (http mode, event workers and then uring workers) in front of two real
gunicorn backends, wrk
keeping 20 keep-alive connections busy; meanwhile the test sends the master
SIGHUP three times (each replaces every worker with a new generation). wrk
must report no socket errors and no non-2xx responses, and the worker PIDs
must all have changed. The same for a worker taken away (TTOU) and added
again (TTIN) under the load. (wrk's timeout is raised to 10 s: on a loaded 2-core
machine a slow answer is not a lost one.)
"""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lbdtest  # noqa: E402


class ReloadUnderLoadBase:
    MODEL = None

    def setUp(self):
        self.bus = lbdtest.PrivateSystemBus().start()
        self.addCleanup(self.bus.stop)
        self.backends = lbdtest.GunicornBackends(2, workers=2).start()
        self.addCleanup(self.backends.stop)
        self.tmp = lbdtest.TempDir("lbd-reload-")
        self.addCleanup(self.tmp.cleanup)
        self.port = lbdtest.free_port()
        self.config = self.tmp.join("lbd.conf")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "[daemon]", "workers=2", f"worker-model={self.MODEL}", "user=nobody",
                "graceful-timeout=10", "",
                "[service web]", f"listen=127.0.0.1:{self.port}", "mode=http",
                "backends=" + ";".join(self.backends.addresses), ""]))
        self.lbd = lbdtest.Lbd(self.bus, config=self.config, log_level="info").start()
        self.addCleanup(lbdtest.stop_clean, self.lbd)
        lbdtest.wait_until(lambda: not lbdtest.port_is_free(self.port), 10,
                           what="lbd to listen", alive=self.lbd.process)
        lbdtest.wait_until(lambda: len(set(lbdtest.worker_pids(self.lbd.pid))) == 2, 10,
                           what="two workers")

    def run_wrk(self, seconds, during):
        wrk = subprocess.Popen(["wrk", "-t2", "-c20", f"-d{seconds}s", "--timeout", "10s",
                                f"http://127.0.0.1:{self.port}/"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: wrk.poll() is None and wrk.kill())
        try:
            time.sleep(1.0)
            during()
        finally:
            out, _ = wrk.communicate(timeout=seconds + 30)
        return out

    def test_hup_under_load_loses_nothing(self):
        before = set(lbdtest.worker_pids(self.lbd.pid))

        def reload_three_times():
            for _ in range(3):
                os.kill(self.lbd.pid, signal.SIGHUP)
                time.sleep(1.5)

        out = self.run_wrk(7, reload_three_times)
        requests, socket_errors, non2xx = lbdtest.wrk_totals(out)
        self.assertGreater(requests, 500, out)
        self.assertEqual(socket_errors, 0, out)
        self.assertEqual(non2xx, 0, out)
        lbdtest.wait_until(lambda: len(set(lbdtest.worker_pids(self.lbd.pid))) == 2, 15,
                           what="old workers gone")
        after = set(lbdtest.worker_pids(self.lbd.pid))
        self.assertFalse(before & after, "the workers were not replaced")

    def test_ttou_ttin_under_load_loses_nothing(self):
        # TTOU stops the second worker gracefully while it serves about
        # half of wrk's keep-alive connections: each finishes its request
        # and closes, and wrk reconnects to the one left. TTIN then starts
        # a worker again, which takes its share of new connections.
        before = set(lbdtest.worker_pids(self.lbd.pid))

        def shrink_and_grow():
            os.kill(self.lbd.pid, signal.SIGTTOU)
            lbdtest.wait_until(lambda: len(set(lbdtest.worker_pids(self.lbd.pid))) == 1, 15,
                               what="one worker left")
            time.sleep(1.0)
            os.kill(self.lbd.pid, signal.SIGTTIN)
            lbdtest.wait_until(lambda: len(set(lbdtest.worker_pids(self.lbd.pid))) == 2, 10,
                               what="a second worker again")
            time.sleep(1.5)

        out = self.run_wrk(7, shrink_and_grow)
        requests, socket_errors, non2xx = lbdtest.wrk_totals(out)
        self.assertGreater(requests, 500, out)
        self.assertEqual(socket_errors, 0, out)
        self.assertEqual(non2xx, 0, out)
        self.assertEqual(len(before & set(lbdtest.worker_pids(self.lbd.pid))), 1,
                         "TTOU did not stop one of the two workers")

    def test_killed_worker_is_replaced_and_service_goes_on(self):
        before = set(lbdtest.worker_pids(self.lbd.pid))
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        lbdtest.wait_until(lambda: len(set(lbdtest.worker_pids(self.lbd.pid)) - {victim}) == 2, 10,
                           what="a replacement worker")
        status, _, body = lbdtest.http_request(f"127.0.0.1:{self.port}", "/")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"backend b"))


class EventModel(ReloadUnderLoadBase, unittest.TestCase):
    MODEL = "event"


@unittest.skipUnless(lbdtest.has_plugin("uring"), lbdtest.UNBUILT)
class UringModel(ReloadUnderLoadBase, unittest.TestCase):
    MODEL = "uring"


if __name__ == "__main__":
    unittest.main(verbosity=2)
