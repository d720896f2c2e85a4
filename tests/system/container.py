# SPDX-License-Identifier: MIT
"""A Debian bookworm system, booted with systemd-nspawn, with lbd installed
as a package would install it: the fixture of tests/system.

    rootfs = Rootfs(cache_dir, PACKAGES)        # debootstrap, once per cache
    tree = install_lbd(source_root, work_dir)   # meson, prefix /usr, DESTDIR
    with Container(rootfs.path, tree, scratch) as c:
        c.run(["systemctl", "enable", "--now", "lbd"])
        c.net(["curl", "http://127.0.0.1/"])     # the host's curl, in its netns

* Rootfs: `debootstrap --variant=minbase` into the cache directory, kept
  between runs (a stamp file records the suite, the mirror and the package
  list; a different list or a half-made tree is made again).
* install_lbd: configures a build of the source tree with the standard
  prefix (/usr, /etc, /var), compiles it and installs it into a directory of
  its own with `meson install --destdir`.
* Container: an overlay of the installed tree over the rootfs, with a
  scratch upper directory (so the cached tree is never written), booted by
  `systemd-nspawn --boot --private-network`: its own network namespace with
  nothing but loopback. run() executes inside every namespace of the
  container (its binaries, its systemd); net() runs a host program (curl,
  wrk) in the container's network namespace only. stop() powers the
  container off (SIGTERM to nspawn, SIGKILL after a timeout) and unmounts.

Processes are lbdtest's ManagedProcess and the fixtures are registered with
lbdtest, like the integration tests' (stopped by PID, newest first, at exit
or on SIGTERM should a test die half way); the overlay is unmounted and the
scratch directory removed, also when a test fails.

Standard library only; runs on Debian's /usr/bin/python3 as root.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import lbdtest  # noqa: E402

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Unavailable(RuntimeError):
    """The machine cannot make or boot the container (the test is skipped)."""


def log(msg):
    print(f"system: {msg}", flush=True)


def missing_prerequisites():
    """Why this machine cannot run the system tests, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, overlay mounts, systemd-nspawn)"
    for tool in ("debootstrap", "systemd-nspawn", "nsenter", "meson", "ninja"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    with open("/proc/filesystems", encoding="ascii") as f:
        if not any(line.split()[-1] == "overlay" for line in f if line.strip()):
            return "the kernel has no overlay file system"
    return None


def host_mirror():
    """The Debian mirror the host's apt uses (the archive this machine can
    reach), else deb.debian.org."""
    try:
        with open("/etc/apt/sources.list.d/debian.sources", encoding="utf-8") as f:
            for line in f:
                if line.startswith("URIs:") and line.split()[1:]:
                    return line.split()[1]
    except OSError:
        pass
    try:
        with open("/etc/apt/sources.list", encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1]
    except OSError:
        pass
    return DEFAULT_MIRROR


class Rootfs:
    """A minimal bookworm tree made by debootstrap, cached in cache_dir."""

    def __init__(self, cache_dir, packages, mirror=None):
        self.cache_dir = cache_dir
        self.packages = sorted(packages)
        self.mirror = mirror or os.environ.get("LBD_DEBIAN_MIRROR") or host_mirror()
        self.path = os.path.join(cache_dir, "rootfs")
        self._stamp = os.path.join(cache_dir, "rootfs.stamp")
        self._proc = None  # debootstrap, while it runs
        self._log = os.path.join(cache_dir, "debootstrap.log")

    def _stamp_text(self):
        return f"{SUITE} {self.mirror}\n" + "\n".join(self.packages) + "\n"

    def cached(self):
        try:
            with open(self._stamp, encoding="utf-8") as f:
                return f.read() == self._stamp_text() and os.path.isdir(self.path)
        except OSError:
            return False

    def start(self):
        """Start debootstrap in the background unless the cache is good."""
        if self.cached():
            log(f"rootfs: cached in {self.path}")
            return
        os.makedirs(self.cache_dir, exist_ok=True)
        for p in (self._stamp, self.path + ".new"):
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.unlink(p)
        log(f"rootfs: debootstrap {SUITE} from {self.mirror} (log: {self._log})")
        if os.path.exists(self._log):
            os.unlink(self._log)
        self._proc = lbdtest.ManagedProcess(
            "debootstrap",
            ["debootstrap", "--variant=minbase", "--include=" + ",".join(self.packages),
             SUITE, self.path + ".new", self.mirror], self._log).start()
        lbdtest._register(self)

    def wait(self, timeout=1200):
        """Wait for debootstrap; raise Unavailable when it could not make the tree."""
        if self._proc is None:
            return self.path
        try:
            self._proc.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise Unavailable(f"debootstrap did not finish within {timeout} s")
        rc = self._proc.stop()
        tail = self._proc.log_tail(15)
        self._proc = None
        lbdtest._unregister(self)
        if rc != 0:
            raise Unavailable(f"debootstrap failed (status {rc}; is {self.mirror} "
                              f"reachable?); its log ends:\n{tail}")
        if os.path.isdir(self.path):
            shutil.rmtree(self.path)
        os.rename(self.path + ".new", self.path)
        # The host's name came with debootstrap; the container gets its own.
        with open(os.path.join(self.path, "etc", "hostname"), "w", encoding="ascii") as f:
            f.write("lbd-system-test\n")
        with open(self._stamp, "w", encoding="utf-8") as f:
            f.write(self._stamp_text())
        log("rootfs: made")
        return self.path

    def stop(self):
        if self._proc is not None:
            self._proc.stop()
        self._proc = None


def install_lbd(source_root, work_dir, meson_options=()):
    """Build source_root with the standard prefix and install it into
    work_dir/destdir (emptied first). Returns that directory."""
    build = os.path.join(work_dir, "build")
    destdir = os.path.join(work_dir, "destdir")
    options = ["--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var",
               "--buildtype=debugoptimized", "-Dwerror=true", "-Dtests=disabled",
               *meson_options]
    if os.path.exists(os.path.join(build, "meson-private", "coredata.dat")):
        setup = ["meson", "setup", "--reconfigure", build, source_root, *options]
    else:
        shutil.rmtree(build, ignore_errors=True)
        setup = ["meson", "setup", build, source_root, *options]
    for argv in (setup, ["meson", "compile", "-C", build]):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed:\n{r.stdout[-4000:]}")
    shutil.rmtree(destdir, ignore_errors=True)
    r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                        "--destdir", destdir],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"meson install failed:\n{r.stdout[-4000:]}")
    log(f"lbd: built with prefix /usr and installed into {destdir}")
    return destdir


class Container:
    """The booted system: rootfs below, lbd's installed tree over it."""

    def __init__(self, rootfs, installed, scratch, name="lbd-system-test"):
        self.lower = [installed, rootfs]     # overlayfs: leftmost is on top
        self.scratch = scratch
        self.name = name
        self.root = os.path.join(scratch, "merged")
        self.log_path = os.path.join(scratch, "console.log")
        self._nspawn = None
        self.leader = None
        self._mounted = False

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def path(self, p):
        """The host's path to a file of the container."""
        return os.path.join(self.root, p.lstrip("/"))

    def write(self, p, text, mode=0o644):
        full = self.path(p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(full, mode)

    def start(self, boot_timeout=90):
        shutil.rmtree(self.scratch, ignore_errors=True)
        for d in ("upper", "work", "merged"):
            os.makedirs(os.path.join(self.scratch, d))
        lbdtest._register(self)
        opts = (f"lowerdir={':'.join(self.lower)},"
                f"upperdir={self.scratch}/upper,workdir={self.scratch}/work")
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, self.root],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise Unavailable(f"cannot mount the overlay: {r.stdout.strip()}")
        self._mounted = True
        # SIGTERM (stop(), or the kernel when this test dies) is a clean
        # poweroff of the container.
        self._nspawn = lbdtest.ManagedProcess(
            "systemd-nspawn",
            ["systemd-nspawn", "--boot", "--register=no", "--keep-unit", "--private-network",
             "--console=read-only", f"--machine={self.name}", "-D", self.root],
            self.log_path).start()
        try:
            self.leader = lbdtest.wait_until(self._find_leader, boot_timeout,
                                             interval=0.1, what="the container's init",
                                             alive=self._nspawn)
        except lbdtest.FixtureError as e:
            if not self._nspawn.running():
                raise Unavailable(f"systemd-nspawn could not boot the tree: {e}") from e
            raise
        # --wait returns when the boot is over (running, or degraded); until
        # init has its control socket, systemctl fails at once and says nothing.
        state = lbdtest.wait_until(
            lambda: self.run(["systemctl", "is-system-running", "--wait"], check=False,
                             timeout=boot_timeout).stdout.strip(),
            boot_timeout, interval=0.1, what="systemd in the container to answer",
            alive=self._nspawn)
        if state not in ("running", "degraded"):
            raise RuntimeError(f"the container did not boot (state {state!r}):\n"
                               f"{self.console_tail()}")
        if state == "degraded":
            failed = self.run(["systemctl", "--failed", "--no-legend", "--plain"],
                              check=False).stdout
            log(f"container: booted degraded; failed units:\n{failed}")
        log(f"container: booted (init is pid {self.leader} here), state {state}")

    def _find_leader(self):
        """The container's init: the child of nspawn in another pid namespace."""
        own = os.readlink("/proc/self/ns/pid")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == self._nspawn.pid and os.readlink(f"/proc/{entry}/ns/pid") != own:
                    return int(entry)
            except (OSError, ValueError, IndexError):
                continue
        return None

    def console_tail(self, lines=30):
        return self._nspawn.log_tail(lines) if self._nspawn else "(no console log)"

    def run(self, argv, check=True, timeout=60.0, input=None, user=None):
        """argv inside the container, as root or as user (its name, with its
        groups), with a clean environment. Returns the CompletedProcess;
        check raises with the output when the status is not 0."""
        inner = list(argv)
        if user is not None:
            # setpriv wants the group as a number or a group's name.
            gid = self.run(["id", "-g", user]).stdout.strip()
            inner = ["setpriv", f"--reuid={user}", f"--regid={gid}", "--init-groups",
                     "--reset-env", *inner]
        full = ["nsenter", "-t", str(self.leader), "-a", "--", "/usr/bin/env", "-i",
                f"PATH={CONTAINER_PATH}", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
                "TERM=dumb", *inner]
        return _run(full, check, timeout, input)

    def net(self, argv, check=True, timeout=60.0, background=False, stdout=None):
        """A host program in the container's network namespace only."""
        full = ["nsenter", "-t", str(self.leader), "-n", "--", *argv]
        if background:
            return subprocess.Popen(full, stdin=subprocess.DEVNULL,
                                    stdout=stdout or subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True)
        return _run(full, check, timeout, None)

    def stop(self, timeout=30):
        if self._nspawn is not None:
            self._nspawn.stop(timeout)  # SIGTERM: poweroff; SIGKILL after timeout
            self._nspawn = None
            self.leader = None
        if self._mounted:
            r = subprocess.run(["umount", self.root], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "--lazy", self.root])
            self._mounted = False
        if os.path.isdir(self.scratch) and os.environ.get("LBD_TEST_KEEP_TMP") != "1":
            shutil.rmtree(self.scratch, ignore_errors=True)
        lbdtest._unregister(self)


def _run(argv, check, timeout, input):
    try:
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{' '.join(argv[-6:])}: no answer within {timeout:g} s") from e
    if check and r.returncode != 0:
        raise AssertionError(f"`{' '.join(argv[argv.index('--') + 1:] if '--' in argv else argv)}` "
                             f"exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r
