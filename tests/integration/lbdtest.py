# SPDX-License-Identifier: MIT
"""Fixtures for lbd's integration tests and the demo: real components only.

    with lbdtest.PrivateSystemBus() as bus, \\
         lbdtest.GunicornBackends(3) as backends, \\
         lbdtest.Lbd(bus) as lbd:
        print(bus.get_property("/org/example/LoadBalancer",
                               "org.example.LoadBalancer", "Version"))

* PrivateSystemBus: a dbus-daemon of type "system" on a unix socket in a
  temporary directory, with the project's bus policy and default rules like
  the real system bus. Clients find it through DBUS_SYSTEM_BUS_ADDRESS
  (bus.env()), which sd-bus and GDBus honour.
* Lbd: the built daemon on that bus; start() returns once it owns
  org.example.LoadBalancer. stop() sends SIGTERM and returns the exit status.
* Polkitd: the real /usr/lib/polkit-1/polkitd on that bus (the bus needs
  POLKIT_BUS_POLICY), in a mount namespace of its own where only the
  project's actions file and the test's rules files are visible.
* GunicornBackends: N Debian gunicorn processes serving app.py on loopback
  TCP ports or unix sockets, with the seed's worker class (sync, gthread,
  gevent) and, like the seed, another user and umask if asked.
* ConfigServer: a server run from a configuration file in a temporary
  directory (nginx, HAProxy; the benchmark's too); nginx_backend() is one
  that answers 200 to everything, faster than any proxy in front of it.

Everything started is stopped by PID: by the context managers, and, should a
test die half way, by an atexit handler; SIGTERM/SIGHUP turn into SystemExit
so both run; each child also gets SIGTERM from the kernel if this process
dies (PR_SET_PDEATHSIG). Temporary directories are removed afterwards unless
LBD_TEST_KEEP_TMP=1.

Paths come from the environment meson's test() sets, with build-tree
defaults so that a developer can run a test file directly:
LBD, LBCLIENT, LBD_PLUGIN_DIR, LBD_SOURCE_ROOT, LBD_BUILD_ROOT.

Standard library only; runs on Debian's /usr/bin/python3.
"""
import atexit
import ctypes
import http.client
import json
import re
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import unittest

BUS_NAME = "org.example.LoadBalancer"
ROOT_PATH = "/org/example/LoadBalancer"
ROOT_IFACE = "org.example.LoadBalancer"


def path_encode(prefix, element):
    """sd_bus_path_encode(): every byte of element outside [A-Za-z0-9], and
    a leading digit, becomes _XX (lower-case hex); "" becomes "_"."""
    if not element:
        return prefix + "/_"
    out = "".join(f"_{b:02x}" if not (chr(b).isascii() and chr(b).isalnum()) or
                  (i == 0 and chr(b).isdigit()) else chr(b)
                  for i, b in enumerate(element.encode()))
    return f"{prefix}/{out}"


def service_path(name):
    return path_encode(ROOT_PATH + "/service", name)


def backend_path(service, address):
    """The object of a backend: named by its address (stable across restarts)."""
    return path_encode(service_path(service) + "/backend", address)

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("LBD_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
BUILD_ROOT = os.environ.get("LBD_BUILD_ROOT") or os.path.join(SOURCE_ROOT, "build")
BUS_POLICY = os.path.join(SOURCE_ROOT, "dbus", "org.example.LoadBalancer.conf")
POLKIT_ACTIONS = os.path.join(SOURCE_ROOT, "polkit", "org.example.LoadBalancer.policy")
POLKIT_BUS_POLICY = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf"
POLKITD = "/usr/lib/polkit-1/polkitd"
POLKIT_NAME = "org.freedesktop.PolicyKit1"
DEFAULT_CONFIG_FILE = "/etc/lbd/lbd.conf"

DBUS_DAEMON = shutil.which("dbus-daemon") or "/usr/bin/dbus-daemon"
GUNICORN = "/usr/bin/gunicorn"  # Debian's: runs on /usr/bin/python3
BUSCTL = shutil.which("busctl") or "/usr/bin/busctl"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
# Run a command as uid 65534 (nobody), no groups: an unprivileged caller.
NOBODY = [SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"]
# The test-only plugins (tests/integration/plugins), testsleep among them.
TEST_PLUGIN_DIR = os.environ.get("LBD_TEST_PLUGIN_DIR") or os.path.join(
    BUILD_ROOT, "tests", "integration", "plugins")
# tests/integration/deny-syscalls.c: a program run where some calls fail.
DENY_SYSCALLS = os.environ.get("LBD_DENY_SYSCALLS") or os.path.join(
    BUILD_ROOT, "tests", "integration", "deny-syscalls")


def lbd_path():
    return os.environ.get("LBD") or os.path.join(BUILD_ROOT, "daemon", "lbd")


def lbclient_path():
    return os.environ.get("LBCLIENT") or os.path.join(BUILD_ROOT, "client", "lbclient")


def plugin_dir():
    return os.environ.get("LBD_PLUGIN_DIR") or os.path.join(BUILD_ROOT, "plugins")


def require_testsleep():
    """The plugin directories for lbd with the test worker model testsleep;
    unittest.SkipTest when it is not built."""
    if not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "testsleep.so")):
        raise unittest.SkipTest(f"testsleep.so is not built in {TEST_PLUGIN_DIR}")
    return [plugin_dir(), TEST_PLUGIN_DIR]


def has_plugin(name):
    """Whether the build made plugin `name` (uring needs liburing)."""
    return os.path.exists(os.path.join(plugin_dir(), name + ".so"))


# The worker models every per-model test runs with.
WORKER_MODELS = ("event", "thread", "sync") + (("uring",) if has_plugin("uring") else ())
UNBUILT = "the uring plugin was not built (liburing missing)"


class FixtureError(RuntimeError):
    """A fixture could not start what it was asked to (with the reason)."""


# --- cleanup of everything started ----------------------------------------------

_live = []          # fixtures with a stop(), in start order
_live_lock = threading.Lock()
_handlers_installed = False


def _register(obj):
    global _handlers_installed
    with _live_lock:
        _live.append(obj)
    if not _handlers_installed and threading.current_thread() is threading.main_thread():
        _handlers_installed = True
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _exit_on_signal)


def _unregister(obj):
    with _live_lock:
        if obj in _live:
            _live.remove(obj)


def _exit_on_signal(signum, frame):
    # Unwinds through every "with" and finally, then atexit runs.
    raise SystemExit(128 + signum)


def stop_all():
    """Stop every fixture still running, newest first."""
    while True:
        with _live_lock:
            if not _live:
                return
            obj = _live[-1]
        try:
            obj.stop()
        except Exception as e:  # keep going: stop the rest
            print(f"lbdtest: stopping {obj!r} failed: {e}", file=sys.stderr)
        _unregister(obj)


atexit.register(stop_all)

_libc = None


def _set_pdeathsig():
    """In the child before exec: get SIGTERM when the parent dies."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class TempDir:
    """A temporary directory that uid 65534 can traverse (for polkit tests)."""

    def __init__(self, prefix="lbd-test-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o755)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def cleanup(self):
        if self.path and os.environ.get("LBD_TEST_KEEP_TMP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)
        self.path = None


class ManagedProcess:
    """A child process in its own session, its output in a log file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None, stdout=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self._stdout = stdout
        self.proc = None
        self.returncode = None

    def __repr__(self):
        return f"<{self.name} pid={self.pid}>"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._stdout if self._stdout is not None else log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_set_pdeathsig,
            )
        except OSError as e:
            raise FixtureError(f"cannot start {self.name} ({self.argv[0]}): {e}") from e
        finally:
            log.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0, sig=signal.SIGTERM):
        """Send sig to the PID, wait; SIGKILL its process group on timeout.
        Returns the exit status (negative: killed by that signal)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"lbdtest: {self.name} (pid {self.proc.pid}) did not stop within "
                      f"{timeout:g}s of {signal.Signals(sig).name}; killing it",
                      file=sys.stderr)
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        # Stray children (e.g. workers of a killed master) share its session.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.returncode = self.proc.returncode
        if self._stdout is not None and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None
        return self.returncode

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])


def wait_until(predicate, timeout, interval=0.05, what="condition", alive=None):
    """Poll predicate() until true; raise FixtureError after timeout or when
    alive (a ManagedProcess) exits first."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if alive is not None and not alive.running():
            code = alive.proc.returncode if alive.proc else alive.returncode
            raise FixtureError(f"{alive.name} exited (status {code}) while waiting for "
                               f"{what}; its log ends:\n{alive.log_tail()}")
        if time.monotonic() >= deadline:
            extra = f"; {alive.name}'s log ends:\n{alive.log_tail()}" if alive else ""
            raise FixtureError(f"timed out after {timeout:g}s waiting for {what}{extra}")
        time.sleep(interval)


# --- ports and HTTP ------------------------------------------------------------------


def worker_pids(master):
    """The PIDs of master's child processes (the children of each of its
    threads), sorted; [] once master is gone."""
    found = set()
    try:
        tasks = os.listdir(f"/proc/{master}/task")
    except FileNotFoundError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{master}/task/{task}/children") as f:
                found.update(int(x) for x in f.read().split())
        except FileNotFoundError:
            pass
    return sorted(found)


def status_field(pid, name):
    """The words of the "Name:" line of /proc/pid/status."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].split()
    raise AssertionError(f"no {name} line in /proc/{pid}/status")


def netns_unavailable():
    """Why network namespaces cannot be made here (ip netns add as root),
    or None: the tests that need them skip with the reason."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    ip = shutil.which("ip", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not ip:
        return "ip is not installed (Debian package iproute2)"
    name = f"lbd-probe-{uuid.uuid4().hex[:8]}"
    r = subprocess.run([ip, "netns", "add", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        return f"ip netns add does not work here: {r.stderr.strip()}"
    subprocess.run([ip, "netns", "delete", name], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return None


def port_is_free(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port, host="127.0.0.1"):
    """Whether something accepts connections on host:port (a server that
    has bound but not yet listened does not)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def refusing_port(host="127.0.0.1"):
    """(socket, port): a port bound and not listening, so that a connect to it
    is refused for as long as the socket is kept open, and free_port() cannot
    hand it to anything else meanwhile (a "dead backend" that free_port()
    alone gave could become one of lbd's own listeners). Close the socket
    when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    return s, s.getsockname()[1]


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._unix_path)


def http_connection(address, timeout=5.0, source=None):
    """An HTTPConnection to "HOST:PORT" or "unix:PATH", from source (a local
    address, such as any of 127/8) if given."""
    if address.startswith("unix:"):
        return _UnixHTTPConnection(address[5:], timeout)
    host, _, port = address.rpartition(":")
    return http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout,
                                      source_address=(source, 0) if source else None)


def http_request(address, path="/", method="GET", body=None, headers=None, timeout=5.0,
                 source=None):
    """One request on a fresh connection: (status, headers dict, body bytes)."""
    conn = http_connection(address, timeout, source)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


def raw_exchange(address, data, timeout=10.0):
    """Send data on a fresh connection to address ("HOST:PORT") and read
    until the peer closes: the bytes it sent back."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


# --- the private system bus -------------------------------------------------------

# Default rules of Debian's /usr/share/dbus-1/system.conf: nobody owns names
# or calls methods unless a policy file allows it.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- written by lbd's tests/integration/lbdtest.py -->
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
{includes}
</busconfig>
"""


class PrivateSystemBus:
    """dbus-daemon with <type>system</type> on TMP/system_bus_socket.

    policy_files: bus policy files to <include> (default: the project's
    dbus/org.example.LoadBalancer.conf); add e.g.
    /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf for polkitd.
    """

    def __init__(self, policy_files=None, timeout=10.0):
        self.policy_files = [BUS_POLICY] if policy_files is None else list(policy_files)
        self.timeout = timeout
        self.tmp = None
        self.process = None
        self.socket_path = None
        self.address = None

    def __repr__(self):
        return f"<PrivateSystemBus {self.address}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for f in self.policy_files:
            if not os.path.exists(f):
                raise FixtureError(f"bus policy file {f} does not exist")
        self.tmp = TempDir("lbd-bus-")
        _register(self)
        self.socket_path = self.tmp.join("system_bus_socket")
        config = self.tmp.join("system.conf")
        includes = "\n".join(f"  <include>{_xml_escape(os.path.abspath(f))}</include>"
                             for f in self.policy_files)
        with open(config, "w") as f:
            f.write(_BUS_CONFIG.format(socket=_xml_escape(self.socket_path), includes=includes))
        self.process = ManagedProcess(
            "dbus-daemon",
            [DBUS_DAEMON, f"--config-file={config}", "--nofork", "--nopidfile",
             "--nosyslog", "--print-address"],
            self.tmp.join("dbus-daemon.log"), stdout=subprocess.PIPE).start()
        # It prints its address once it listens.
        line = _read_line(self.process.proc.stdout, self.timeout)
        if not line:
            self.stop()
            raise FixtureError("dbus-daemon printed no address; its log ends:\n"
                               + _read_file_tail(self.tmp and self.tmp.join("dbus-daemon.log")))
        wait_until(lambda: os.path.exists(self.socket_path), self.timeout,
                   what="the bus socket", alive=self.process)
        os.chmod(self.socket_path, 0o777)
        self.address = f"unix:path={self.socket_path}"
        return self

    def stop(self):
        if self.process:
            self.process.stop()
            self.process = None
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        _unregister(self)

    def env(self, base=None):
        """A copy of base (default os.environ) pointing at this bus."""
        env = dict(os.environ if base is None else base)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return env

    def busctl(self, *args, check=True, timeout=15.0):
        """Run busctl --address=THIS-BUS ARGS; returns CompletedProcess (text)."""
        argv = [BUSCTL, f"--address={self.address}", *args]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise FixtureError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def busctl_json(self, *args, **kw):
        """busctl --json=short ARGS, parsed; None for a method that returns
        nothing (busctl prints nothing)."""
        r = self.busctl("--json=short", *args, **kw)
        return json.loads(r.stdout) if r.stdout.strip() else None

    def get_property(self, path, interface, name, service=BUS_NAME):
        """A property's value (busctl's JSON "data")."""
        return self.busctl_json("get-property", service, path, interface, name)["data"]

    def call(self, path, interface, method, signature="", *args, service=BUS_NAME):
        """Call a method; returns busctl's JSON ({"type": ..., "data": [...]}),
        None when it returns nothing."""
        argv = ["call", service, path, interface, method]
        if signature:
            argv += [signature, *[str(a) for a in args]]
        return self.busctl_json(*argv)

    def name_has_owner(self, name):
        r = self.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameHasOwner", "s", name, check=False)
        return r.returncode == 0 and r.stdout.strip() == "b true"

    def wait_for_name(self, name, timeout=10.0, alive=None):
        wait_until(lambda: self.name_has_owner(name), timeout,
                   what=f"{name} on the bus", alive=alive)


def _xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
             .replace('"', "&quot;"))


def _read_line(stream, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace").strip()


def _read_file_tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])
    except (OSError, TypeError):
        return ""


# --- polkitd -----------------------------------------------------------------------


class Polkitd:
    """The real polkitd on bus (a PrivateSystemBus whose policy_files include
    POLKIT_BUS_POLICY), in its own mount namespace (unshare -m) where
    /usr/share/polkit-1/actions holds only actions (default: the project's
    polkit/org.example.LoadBalancer.policy) and /etc/polkit-1/rules.d only
    the rules given to set_rules(). Both are bind mounts of directories in a
    temporary directory that the polkitd user can read. Needs root.

    set_rules() restarts polkitd, so that the rules are in effect when it
    returns (polkitd also reloads on its own when the directory changes,
    but gives no sign when it has)."""

    def __init__(self, bus, actions=None, timeout=15.0):
        self.bus = bus
        self.actions = [POLKIT_ACTIONS] if actions is None else list(actions)
        self.timeout = timeout
        self.tmp = None
        self.process = None

    def __repr__(self):
        return f"<Polkitd pid={self.process.pid if self.process else None}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def unavailable():
        """Why this machine cannot run it, or None."""
        if os.geteuid() != 0:
            return "polkitd in a mount namespace needs root"
        if not os.access(POLKITD, os.X_OK):
            return f"{POLKITD} is missing (Debian package polkitd)"
        if not os.path.exists(POLKIT_BUS_POLICY):
            return f"{POLKIT_BUS_POLICY} is missing"
        return None

    @property
    def rules_dir(self):
        return self.tmp.join("rules.d")

    def start(self):
        why = self.unavailable()
        if why:
            raise FixtureError(why)
        for f in self.actions:
            if not os.path.exists(f):
                raise FixtureError(f"polkit actions file {f} does not exist")
        self.tmp = TempDir("lbd-polkit-")
        _register(self)
        try:
            actions_dir = self.tmp.join("actions")
            os.mkdir(actions_dir)
            for f in self.actions:
                dest = os.path.join(actions_dir, os.path.basename(f))
                shutil.copyfile(f, dest)
                os.chmod(dest, 0o644)
            os.chmod(actions_dir, 0o755)
            os.mkdir(self.rules_dir)
            os.chmod(self.rules_dir, 0o755)
            self._spawn(actions_dir)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, actions_dir, retry=False):
        script = ('mount --bind "$1" /usr/share/polkit-1/actions && '
                  'mount --bind "$2" /etc/polkit-1/rules.d && exec "$3" --no-debug')
        # unshare and sh exec: the PID is polkitd's.
        self.process = ManagedProcess(
            "polkitd",
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             actions_dir, self.rules_dir, POLKITD],
            self.tmp.join("polkitd.log"), env=self.bus.env()).start()
        try:
            self.bus.wait_for_name(POLKIT_NAME, self.timeout, alive=self.process)
        except FixtureError as e:
            # Once in a full ASan run, a polkitd restarted right after the
            # previous one left the bus never claimed its name and logged
            # nothing. polkitd is not what is tested: start it once more,
            # and say so.
            if retry:
                raise
            print(f"lbdtest: {e}; starting polkitd again", file=sys.stderr)
            self.process.stop()
            self._spawn(actions_dir, retry=True)

    def set_rules(self, name, text):
        """Write rules.d/NAME (text None: remove it) and restart polkitd."""
        path = os.path.join(self.rules_dir, name)
        if text is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.chmod(path + ".tmp", 0o644)
            os.rename(path + ".tmp", path)
        self.process.stop()
        wait_until(lambda: not self.bus.name_has_owner(POLKIT_NAME), self.timeout,
                   what=f"{POLKIT_NAME} to leave the bus")
        self._spawn(self.tmp.join("actions"))

    def log_tail(self, lines=40):
        return self.process.log_tail(lines) if self.process else ""

    def stop(self):
        if self.process:
            self.process.stop()
            self.process = None
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        _unregister(self)


# --- lbd ---------------------------------------------------------------------------


def default_config_args(tmp_dir, lbd=None):
    """Arguments that make lbd use its embedded default configuration.

    Without --config lbd reads /etc/lbd/lbd.conf when it exists; on a machine
    where it does, pass the dumped embedded default explicitly instead, so
    tests never depend on the host's configuration."""
    if not os.path.exists(DEFAULT_CONFIG_FILE):
        return []
    out = subprocess.run([lbd or lbd_path(), "--dump-default-config"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True, timeout=10).stdout
    path = os.path.join(tmp_dir, "embedded-default.conf")
    with open(path, "wb") as f:
        f.write(out)
    return ["--config", path]


def dumped_default_config(path, listen=None, lbd=None):
    """Write lbd's embedded default (--dump-default-config) to path, with the
    default service's listen= replaced by listen if given; returns path."""
    text = subprocess.run([lbd or lbd_path(), "--dump-default-config"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True, timeout=10, text=True).stdout
    if listen:
        lines = text.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.startswith("listen="):
                lines[i] = f"listen={listen}\n"
        text = "".join(lines)
    with open(path, "w") as f:
        f.write(text)
    return path


class Lbd:
    """The built lbd on a PrivateSystemBus (or any bus address).

    By default it gets an empty --config-dir, a fresh --state-dir, the build
    tree's plugins (--plugin-dir; --allow-unowned-plugins only when a plugin
    file or directory there is not root's or is writable by others, as in a
    checkout owned by a developer) and its embedded default configuration
    (see default_config_args); pass config=PATH for a config file, or
    args=[...] for anything else (appended last).
    """

    def __init__(self, bus, args=(), config=None, plugin_dirs=None, env=None, lbd=None,
                 log_level="debug", start_timeout=20.0, allow_unowned_plugins=None,
                 wrapper=(), user=None):
        self.bus = bus
        # Run lbd as this user (with its groups, no capabilities), as
        # lbd.service does with User=lbd; None: as the test (root).
        self.user = user
        self.wrapper = list(wrapper)  # argv before lbd's own (DENY_SYSCALLS ERRNO NAMES)
        self.allow_unowned_plugins = allow_unowned_plugins
        self.extra_args = list(args)
        self.config = config
        self.plugin_dirs = [plugin_dir()] if plugin_dirs is None else list(plugin_dirs)
        self.extra_env = dict(env or {})
        self.lbd = lbd or lbd_path()
        self.log_level = log_level
        self.start_timeout = start_timeout
        self.tmp = None
        self.process = None
        self.notifications = []
        self._notify_sock = None
        self.returncode = None

    def __repr__(self):
        return f"<Lbd pid={self.pid}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def state_dir(self):
        return self.tmp.join("state")

    @property
    def config_dir(self):
        return self.tmp.join("conf.d")

    @property
    def logs_dir(self):
        """--logs-dir: where the default access.log goes (lbd creates it)."""
        return self.tmp.join("logs")

    @property
    def log_path(self):
        return self.tmp.join("lbd.log") if self.tmp else None

    def argv(self):
        argv = self.wrapper + [self.lbd, "--config-dir", self.config_dir,
                               "--state-dir", self.state_dir, "--logs-dir", self.logs_dir]
        argv += plugin_args(self.plugin_dirs, self.allow_unowned_plugins)
        if self.log_level:
            argv += ["--log-level", self.log_level]
        if self.config:
            argv += ["--config", self.config_path]
        else:
            argv += default_config_args(self.tmp.path, self.lbd)
        return self._as_user() + argv + self.extra_args

    @property
    def config_path(self):
        """The configuration file lbd reads: config, or when lbd runs as
        another user, a copy of it in lbd's own directory (a test's
        directory is the test's own, mode 0700)."""
        return self.tmp.join("lbd.conf") if self.user else self.config

    def _as_user(self):
        if not self.user:
            return []
        return [SETPRIV, f"--reuid={self.user}", f"--regid={self.user}", "--init-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--"]

    def _give_to_user(self):
        """lbd's directories and the notification socket, to self.user."""
        pw = pwd.getpwnam(self.user)
        if self.config:
            shutil.copyfile(self.config, self.config_path)
        for path in [self.tmp.path, self.config_dir, self.state_dir] + (
                [self.config_path] if self.config else []):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp.join("notify"), 0o666)

    def start(self):
        if not os.access(self.lbd, os.X_OK):
            raise FixtureError(f"lbd is not built: {self.lbd}")
        self.tmp = TempDir("lbd-daemon-")
        _register(self)
        os.mkdir(self.config_dir)
        os.mkdir(self.state_dir)
        # sd_notify(): collect what lbd sends (READY=1, STATUS=...).
        notify_path = self.tmp.join("notify")
        self._notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify_sock.bind(notify_path)
        if self.user:
            self._give_to_user()
        env = self.bus.env() if hasattr(self.bus, "env") else dict(os.environ)
        if isinstance(self.bus, str):
            env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus
        env["NOTIFY_SOCKET"] = notify_path
        env.update(self.extra_env)
        self.process = ManagedProcess("lbd", self.argv(), self.log_path, env=env).start()
        try:
            wait_until(self._owns_name, self.start_timeout,
                       what=f"lbd to own {BUS_NAME}", alive=self.process)
            # READY=1 should follow (or precede) the name closely.
            deadline = time.monotonic() + 3.0
            while not self.ready and time.monotonic() < deadline:
                self.poll_notifications(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    def _owns_name(self):
        self.poll_notifications(0)
        if isinstance(self.bus, PrivateSystemBus):
            return self.bus.name_has_owner(BUS_NAME)
        r = subprocess.run([BUSCTL, f"--address={self.bus}", "status", BUS_NAME],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
        return r.returncode == 0

    def poll_notifications(self, timeout=0.0):
        """Read pending sd_notify messages into self.notifications."""
        if not self._notify_sock:
            return
        end = time.monotonic() + timeout
        while True:
            left = max(0.0, end - time.monotonic())
            ready, _, _ = select.select([self._notify_sock], [], [], left)
            if not ready:
                return
            msg = self._notify_sock.recv(65536).decode(errors="replace")
            self.notifications.extend(x for x in msg.split("\n") if x)

    @property
    def ready(self):
        return "READY=1" in self.notifications

    def running(self):
        return bool(self.process and self.process.running())

    def stop(self, timeout=15.0):
        """SIGTERM by PID; returns lbd's exit status (None if never started).

        One sanitizer failure is not lbd's: LeakSanitizer's own tracer
        crashing while it suspends the threads for the leak check at exit
        ("Tracer caught signal 11", then "LeakSanitizer has encountered a
        fatal error", and an abort). The leak check did not run then; that
        is said on stderr and the exit counts as clean. Any report of lbd's
        (ASan, UBSan, leaks found) still fails."""
        if self.process:
            self.returncode = self.process.stop(timeout)
            self.poll_notifications(0)
            self._log_text = self.process.log_text()
            self.process = None
            if self.returncode == -signal.SIGABRT and lsan_tool_crash(self._log_text):
                tracer = [line for line in self._log_text.splitlines()
                          if "Tracer caught signal" in line]
                print("lbdtest: LeakSanitizer's tracer crashed at lbd's exit (a sanitizer "
                      "runtime failure, not a report): no leak check this time: "
                      + " | ".join(tracer), file=sys.stderr)
                self.returncode = 0
                self._log_text = without_lsan_tool_crash(self._log_text)
        if self._notify_sock:
            self._notify_sock.close()
            self._notify_sock = None
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        _unregister(self)
        return self.returncode

    def log_text(self):
        if self.process:
            return self.process.log_text()
        return getattr(self, "_log_text", "")

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])


def plugin_args(dirs=None, allow_unowned=None):
    """--plugin-dir for each of dirs (default: the build tree's), plus
    --allow-unowned-plugins when allow_unowned is true, or, if None, when a
    plugin file or directory is not root's or is writable by others (a
    checkout owned by a developer)."""
    dirs = [plugin_dir()] if dirs is None else list(dirs)
    if allow_unowned is None:
        allow_unowned = not all(_owned_by_root(d) for d in dirs)
    argv = ["--allow-unowned-plugins"] if allow_unowned else []
    for d in dirs:
        argv += ["--plugin-dir", d]
    return argv


def _owned_by_root(directory):
    """directory and the .so files in it belong to root, writable by no one else."""
    import stat
    try:
        paths = [directory] + [os.path.join(directory, f) for f in os.listdir(directory)
                               if f.endswith(".so")]
        for p in paths:
            st = os.stat(p)
            if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
    except OSError:
        return True  # lbd will say what is wrong
    return True


# --- gunicorn backends ---------------------------------------------------------------


_LSAN_TOOL_CRASH = "LeakSanitizer has encountered a fatal error"


def lsan_tool_crash(log):
    """Whether log ends in LeakSanitizer's own crash and has no report of
    lbd's (see Lbd.stop)."""
    return (_LSAN_TOOL_CRASH in log and "Tracer caught signal" in log
            and "ERROR: AddressSanitizer" not in log and "detected memory leaks" not in log
            and "runtime error" not in log)


def without_lsan_tool_crash(log):
    return "\n".join(line for line in log.splitlines()
                     if not re.match(r"(==\d+==.*(LeakSanitizer|HINT)|Tracer caught signal)",
                                     line))


def stop_clean(lbd, extra_log=""):
    """Stop lbd and fail unless it exited 0 without a sanitizer report in its
    log (or in extra_log: an error-log file, say). For test cleanups: a
    worker that aborts under ASan is respawned by the master, so the exit
    status alone would not show it."""
    status = lbd.stop()
    log = lbd.log_text() + extra_log
    if status not in (0, None) or "Sanitizer" in log or "runtime error" in log:
        print(f"--- lbd log (exit status {status}) ---\n{log[-6000:]}", file=sys.stderr)
        raise AssertionError(f"lbd exited with status {status} or logged a sanitizer report")


class GunicornBackends:
    """count gunicorn servers running app.py, named b1..bN (LBD_BACKEND_NAME).

    ports: list of TCP ports on 127.0.0.1 (default: free ones);
    unix=True: unix sockets in a temporary directory instead.
    addresses: "127.0.0.1:PORT" or "unix:PATH", in the names' order.
    env: extra environment for every backend (LBD_BACKEND_DELAY_MS, say);
    envs: {name: extra environment} for some.
    worker_class: Gunicorn's --worker-class, as the seed uses them: "gthread"
    (the default here: a thread pool with keep-alive), "sync" (Gunicorn's
    own default: one request per connection, closed after every response;
    Gunicorn turns sync into gthread when --threads > 1, so threads is not
    passed for it) or "gevent" (Debian's python3-gevent).
    user, group, umask: Gunicorn's -u, -g and -m (the seed: www-data and 007
    on a unix socket); the socket directory is then made reachable.
    """

    WORKER_CLASSES = ("sync", "gthread", "gevent")

    def __init__(self, count=3, ports=None, unix=False, names=None, workers=1, threads=4,
                 timeout=20.0, env=None, envs=None, worker_class="gthread", user=None,
                 group=None, umask=None):
        if worker_class not in self.WORKER_CLASSES:
            raise ValueError(f"unknown gunicorn worker class {worker_class!r}")
        if ports is not None and len(ports) != count:
            raise ValueError("need one port per backend")
        self.count = count
        self.ports = list(ports) if ports is not None else None
        self.unix = unix
        self.names = list(names) if names else [f"b{i + 1}" for i in range(count)]
        self.workers = workers
        self.threads = threads
        self.timeout = timeout
        self.env = dict(env or {})
        self.envs = dict(envs or {})
        self.worker_class = worker_class
        self.user = user
        self.group = group
        self.umask = umask
        self.tmp = None
        self.processes = []
        self.addresses = []

    def __repr__(self):
        return f"<GunicornBackends {self.worker_class} {self.addresses}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def by_address(self):
        return dict(zip(self.addresses, self.names))

    def start(self):
        if not os.access(GUNICORN, os.X_OK):
            raise FixtureError(f"{GUNICORN} is missing (Debian package gunicorn)")
        self.tmp = TempDir("lbd-backends-")
        _register(self)
        try:
            if self.unix:
                self.addresses = [f"unix:{self.tmp.join(n + '.sock')}" for n in self.names]
            else:
                ports = self.ports or distinct_free_ports(self.count)
                for p in ports:
                    if not port_is_free(p):
                        raise FixtureError(f"127.0.0.1:{p} is in use already "
                                           f"(see: ss -ltnp 'sport = :{p}')")
                self.addresses = [f"127.0.0.1:{p}" for p in ports]
            for name, address in zip(self.names, self.addresses):
                env = dict(os.environ)
                env.pop("PYTHONHOME", None)
                env.pop("PYTHONPATH", None)
                env.update(self.env)
                env.update(self.envs.get(name, {}))
                env["LBD_BACKEND_NAME"] = name
                argv = [GUNICORN, "--bind", address, "--workers", str(self.workers),
                        "--worker-class", self.worker_class, "--chdir", HERE,
                        "--graceful-timeout", "3", "--log-level", "warning",
                        "--worker-tmp-dir", "/dev/shm"]
                if self.worker_class == "gthread":
                    argv += ["--threads", str(self.threads)]
                if self.user:
                    argv += ["--user", self.user]
                if self.group:
                    argv += ["--group", self.group]
                if self.umask is not None:
                    argv += ["--umask", self.umask]
                argv.append("app:application")
                self.processes.append(ManagedProcess(
                    f"gunicorn {name} ({address})", argv, self.tmp.join(name + ".log"),
                    env=env).start())
            for name, address, proc in zip(self.names, self.addresses, self.processes):
                wait_until(lambda a=address, n=name: self._answers(a, n), self.timeout,
                           what=f"gunicorn {name} to answer on {address}", alive=proc)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _answers(address, name):
        try:
            status, _, body = http_request(address, "/", timeout=1.0)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200 and body == f"backend {name}\n".encode()

    def stop(self):
        # Gunicorn's quick shutdown (SIGQUIT) to all first, then wait for each:
        # a graceful stop of a gthread worker takes a second or more apiece.
        for p in self.processes:
            if p.running():
                try:
                    os.kill(p.pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
        for p in reversed(self.processes):
            p.stop(timeout=10.0)
        self.processes = []
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        _unregister(self)


class ConfigServer:
    """A foreground server process (nginx, HAProxy) run from a configuration
    file that config_fn(tmp) writes into a temporary directory; start()
    returns once it accepts connections on each of ports. Stopped by PID
    (and by the atexit handler, should a test die half way).

    argv_fn(config_path, tmp) gives its command line."""

    def __init__(self, name, argv_fn, config_fn, config_name, ports, timeout=10.0,
                 stop_signal=signal.SIGTERM, host="127.0.0.1"):
        self.name = name
        self.host = host
        self.argv_fn = argv_fn
        self.config_fn = config_fn
        self.config_name = config_name
        self.ports = ports
        self.timeout = timeout
        self.stop_signal = stop_signal
        self.tmp = None
        self.process = None

    def __repr__(self):
        return f"<{self.name} pid={self.pid}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self):
        self.tmp = TempDir(f"lbd-{self.name.replace(' ', '-')}-")
        _register(self)
        try:
            config = self.tmp.join(self.config_name)
            with open(config, "w") as f:
                f.write(self.config_fn(self.tmp))
            self.process = ManagedProcess(self.name, self.argv_fn(config, self.tmp),
                                          self.tmp.join("server.log")).start()
            for port in self.ports:
                wait_until(lambda p=port: port_accepts(p, self.host), self.timeout,
                           what=f"{self.name} to listen on {port}", alive=self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.process:
            self.process.stop(timeout=10.0, sig=self.stop_signal)
            self.process = None
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        _unregister(self)


NGINX = "/usr/sbin/nginx"


def nginx_backend(connections=1024, port=None, body="nginx backend\n", hosts=None):
    """Debian's nginx on a loopback port answering every request with 200
    and body (a fixed Content-Length), for tests that need a backend faster
    than the proxy in front of it (the connection storm): a ConfigServer,
    .address its "127.0.0.1:PORT". worker_connections and its fd limit are
    set for `connections` clients at once.

    hosts: listen on PORT of each of these loopback addresses instead (one
    process as many backends, for large pools), naming the address each
    answer came to in an X-Backend header ("HOST:PORT"); .addresses lists
    them."""
    if not os.access(NGINX, os.X_OK):
        raise FixtureError(f"{NGINX} is missing (Debian package nginx-light)")
    port = port or free_port()
    text = body.replace("\n", "\\n")
    hosts = hosts or ["127.0.0.1"]
    connections += 2 * len(hosts)  # a listener and an idle upstream connection each
    listens = "".join(f"        listen {h}:{port} backlog={max(511, connections)};\n"
                      for h in hosts)

    def config(tmp):
        return f"""daemon off;
master_process off;
pid {tmp.join("nginx.pid")};
error_log stderr warn;
worker_rlimit_nofile {connections + 64};
events {{ worker_connections {connections + 64}; }}
http {{
    access_log off;
    client_body_temp_path {tmp.path};
    proxy_temp_path {tmp.path};
    fastcgi_temp_path {tmp.path};
    uwsgi_temp_path {tmp.path};
    scgi_temp_path {tmp.path};
    server {{
{listens}        keepalive_requests 1000000;
        location / {{
            default_type text/plain;
            add_header X-Backend $server_addr:$server_port;
            return 200 "{text}";
        }}
    }}
}}
"""
    server = ConfigServer(f"nginx backend {port}",
                          lambda path, tmp: [NGINX, "-c", path, "-p", tmp.path, "-e", "stderr"],
                          config, "nginx.conf", [port], stop_signal=signal.SIGQUIT,
                          host=hosts[0])
    server.addresses = [f"{h}:{port}" for h in hosts]
    server.address = server.addresses[0]
    return server


def distinct_free_ports(n):
    """n different ports nothing listens on right now (free_port() twice can
    give the same one: the kernel reuses a port once it is released)."""
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


# --- the command-line tools ---------------------------------------------------------


def wrk_totals(out):
    """(requests, socket errors, non-2xx/3xx answers) from wrk's report: every
    socket error counted (connect, read, write, timeout). FixtureError when
    out is no wrk report."""
    m = re.search(r"(\d+) requests in", out)
    if not m:
        raise FixtureError(f"not a wrk report:\n{out}")
    requests = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, socket_errors, int(m.group(1)) if m else 0


def run(argv, env=None, timeout=30.0, check=False):
    """Run a command, capturing text output; returns CompletedProcess."""
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, check=check, stdin=subprocess.DEVNULL)


def lbclient(bus, *args, timeout=30.0):
    """lbclient ARGS against bus (a PrivateSystemBus or an address)."""
    env = bus.env() if hasattr(bus, "env") else dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus)
    return run([lbclient_path(), *args], env=env, timeout=timeout)
