# SPDX-License-Identifier: MIT
"""Fixtures for the desktop tool's tests: an X server (Xvfb), a desktop
session for an unprivileged user (its own session bus, on which the
accessibility bus starts as it does in a desktop session), lbd-desktop in
it, and the AT-SPI driver (atspi-driver.py) run as that user.

Everything started here is stopped by PID (lbdtest's registry), also when a
test fails.
"""
import json
import os
import pwd
import shutil
import subprocess
import time

import lbdtest

XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"
IMPORT = shutil.which("import") or "/usr/bin/import"
XDOTOOL = shutil.which("xdotool") or "/usr/bin/xdotool"
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "atspi-driver.py")
APP_NAME = "lbd-desktop"
WINDOW_TITLE = "Load Balancer"
SCREEN = (1280, 800)


def desktop_path():
    return os.environ.get("LBD_DESKTOP") or os.path.join(
        lbdtest.BUILD_ROOT, "client", "desktop", "lbd-desktop")


def unavailable():
    """Why this machine cannot run the desktop tests, or None."""
    if not os.access(desktop_path(), os.X_OK):
        return f"lbd-desktop is not built: {desktop_path()} (needs GTK 4 and libadwaita)"
    for tool, package in [(XVFB, "xvfb"), (IMPORT, "imagemagick"), (XDOTOOL, "xdotool")]:
        if not os.access(tool, os.X_OK):
            return f"{tool} is missing (Debian package {package})"
    r = subprocess.run(["/usr/bin/python3", "-c", "import pyatspi"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    if r.returncode != 0:
        return "python3-pyatspi is missing (Debian packages python3-pyatspi, gir1.2-atspi-2.0)"
    if os.geteuid() != 0:
        return "the desktop user's session is started with setpriv: needs root"
    return None


def screenshot_dir():
    """Where screenshots go: out of the tree (the build directory)."""
    d = os.environ.get("LBD_SCREENSHOT_DIR") or os.path.join(lbdtest.BUILD_ROOT, "screenshots")
    os.makedirs(d, exist_ok=True)
    return d


class Xvfb:
    """An X server on a display number it picks itself (-displayfd), on a
    unix socket only, without access control (the test's users share it)."""

    def __init__(self, size=SCREEN, timeout=15.0):
        self.size = size
        self.timeout = timeout
        self.tmp = None
        self.process = None
        self.display = None

    def start(self):
        self.tmp = lbdtest.TempDir("lbd-xvfb-")
        lbdtest._register(self)
        read_fd, write_fd = os.pipe()
        log = open(self.tmp.join("xvfb.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [XVFB, "-displayfd", str(write_fd), "-screen", "0",
                 f"{self.size[0]}x{self.size[1]}x24", "-nolisten", "tcp", "-ac", "-noreset"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(write_fd,),
                start_new_session=True)
        finally:
            log.close()
            os.close(write_fd)
        with os.fdopen(read_fd) as r:
            line = lbdtest._read_line(r, self.timeout)
        if not line.isdigit():
            self.stop()
            raise lbdtest.FixtureError("Xvfb gave no display number; its log ends:\n"
                                       + lbdtest._read_file_tail(self.tmp.join("xvfb.log")))
        self.display = f":{line}"
        return self

    def stop(self):
        proc = getattr(self, "proc", None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.proc = None
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        lbdtest._unregister(self)

    def screenshot(self, path):
        """The whole screen, as PNG."""
        r = lbdtest.run([IMPORT, "-display", self.display, "-window", "root", path],
                        timeout=30)
        if r.returncode != 0:
            raise lbdtest.FixtureError(f"import failed: {r.stderr.strip()}")
        return path


class DesktopSession:
    """A desktop session of user (default nobody) on xvfb: a home and
    runtime directory of its own, its session bus (where the accessibility
    bus is activated, as in GNOME), and lbd-desktop talking to system_bus."""

    def __init__(self, xvfb, system_bus, user="nobody", app=None, timeout=60.0):
        self.xvfb = xvfb
        self.system_bus = system_bus
        self.user = pwd.getpwnam(user)
        self.app_path = app or desktop_path()
        self.timeout = timeout
        self.tmp = None
        self.session_bus = None
        self.app = None
        self.env = None

    def as_user(self):
        return [lbdtest.SETPRIV, f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                "--clear-groups", "--"]

    def start(self):
        self.tmp = lbdtest.TempDir("lbd-desktop-")
        lbdtest._register(self)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        home = self.tmp.join("home")
        runtime = self.tmp.join("runtime")
        for d in (home, runtime):
            os.mkdir(d, 0o700)
            os.chown(d, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.tmp.path, 0o755)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "USER": self.user.pw_name,
            "XDG_RUNTIME_DIR": runtime,
            "DISPLAY": self.xvfb.display,
            "LANG": "C.UTF-8",
            "DBUS_SYSTEM_BUS_ADDRESS": self.system_bus.address,
            # GTK on X11, drawn by cairo (no GL under Xvfb), accessible over
            # AT-SPI; settings in memory (no dconf in this session).
            "GDK_BACKEND": "x11",
            "GSK_RENDERER": "cairo",
            "GTK_A11Y": "atspi",
            "GSETTINGS_BACKEND": "memory",
            "NO_AT_BRIDGE": "0",
        }
        # A sanitizer build: report errors, not GTK's and fontconfig's
        # allocations still held at exit (they are not lbd-desktop's leaks).
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key].replace("detect_leaks=1", "detect_leaks=0")
        self.session_bus = lbdtest.ManagedProcess(
            "session dbus-daemon",
            self.as_user() + [lbdtest.DBUS_DAEMON, "--session", "--nofork", "--nopidfile",
                              "--print-address"],
            self.tmp.join("session-bus.log"), env=env, stdout=subprocess.PIPE).start()
        address = lbdtest._read_line(self.session_bus.proc.stdout, 15.0)
        if not address:
            raise lbdtest.FixtureError("the session bus printed no address:\n"
                                       + self.session_bus.log_tail())
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.env = env
        self.app = lbdtest.ManagedProcess(
            "lbd-desktop", self.as_user() + [self.app_path], self.tmp.join("lbd-desktop.log"),
            env=env, cwd=home).start()
        lbdtest.wait_until(self._app_on_atspi, self.timeout, interval=0.5,
                           what="lbd-desktop on the accessibility bus", alive=self.app)
        # The window at the size of the screen (there is no window manager).
        window = self._run([XDOTOOL, "search", "--sync", "--onlyvisible", "--name",
                            f"^{WINDOW_TITLE}$"], check=True).stdout.split()[0]
        self._run([XDOTOOL, "windowsize", window, str(SCREEN[0]), str(SCREEN[1])], check=True)

    def _run(self, argv, check=False, timeout=60.0):
        r = lbdtest.run(self.as_user() + argv, env=self.env, timeout=timeout)
        if check and r.returncode != 0:
            raise lbdtest.FixtureError(f"{' '.join(argv)} failed ({r.returncode}): "
                                       f"{r.stderr.strip()}")
        return r

    def _app_on_atspi(self):
        return self._run(["/usr/bin/python3", DRIVER, APP_NAME, "tree"]).returncode == 0

    # --- the driver -----------------------------------------------------------------

    def tree(self):
        r = self._run(["/usr/bin/python3", DRIVER, APP_NAME, "tree"], check=True)
        return json.loads(r.stdout)

    def nodes(self):
        """Every node as (role, name, text, path of ancestors' names)."""
        out = []

        def walk(node, ancestors):
            role, name, text, children = node
            out.append((role, name, text, ancestors))
            for child in children:
                walk(child, ancestors + [(role, name)])
        walk(self.tree(), [])
        return out

    def names(self, role=None):
        return [n[1] for n in self.nodes() if role is None or n[0] == role]

    def click(self, name):
        self._run(["/usr/bin/python3", DRIVER, APP_NAME, "click", name], check=True)

    def set_text(self, name, text):
        self._run(["/usr/bin/python3", DRIVER, APP_NAME, "set-text", name, text], check=True)

    def wait_for(self, predicate, what, timeout=20.0):
        """Poll the window's tree until predicate(nodes) is true; returns
        the seconds it took."""
        start = time.monotonic()
        last = []

        def check():
            last[:] = self.nodes()
            return predicate(last)
        try:
            lbdtest.wait_until(check, timeout, interval=0.2, what=what, alive=self.app)
        except lbdtest.FixtureError as e:
            labels = sorted({n[1] for n in last if n[0] in ("label", "push button", "dialog")})
            raise AssertionError(f"{e}; the window showed: {labels}") from None
        return time.monotonic() - start

    def wait_for_label(self, text, timeout=20.0, present=True):
        return self.wait_for(
            lambda nodes: any(n[0] == "label" and n[1] == text for n in nodes) == present,
            f"the label {text!r} to {'appear' if present else 'go'}", timeout)

    def activate_action(self, name, parameter=None):
        """Activate one of the application's actions over the session bus
        (org.gtk.Actions), as another program can; parameter is GVariant
        text, e.g. "<('thread', uint32 0, uint32 0)>"."""
        args = [shutil.which("gdbus") or "/usr/bin/gdbus", "call", "--session",
                "--dest", "org.example.LoadBalancer.Desktop",
                "--object-path", "/org/example/LoadBalancer/Desktop",
                "--method", "org.gtk.Actions.Activate", name,
                f"[{parameter}]" if parameter else "[]", "{}"]
        self._run(args, check=True)

    def screenshot(self, name):
        path = os.path.join(screenshot_dir(), name)
        return self.xvfb.screenshot(path)

    def log_tail(self, lines=40):
        return self.app.log_tail(lines) if self.app else ""

    def stop(self):
        """Quit the application (app.quit) and return its exit status."""
        status = None
        if self.app:
            if self.app.running() and self.session_bus and self.session_bus.running():
                self._run(["/usr/bin/gdbus", "call", "--session", "--dest",
                           "org.example.LoadBalancer.Desktop", "--object-path",
                           "/org/example/LoadBalancer/Desktop", "--method",
                           "org.gtk.Actions.Activate", "quit", "[]", "{}"], timeout=30)
                try:
                    self.app.proc.wait(30)
                except Exception:
                    pass
            status = self.app.stop()
            self.app = None
        if self.session_bus:
            self.session_bus.stop()
            self.session_bus = None
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        lbdtest._unregister(self)
        return status
