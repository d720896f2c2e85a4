# SPDX-License-Identifier: MIT
"""A real NetworkManager for link tests, in a network namespace of its own.

    with lbdtest.PrivateSystemBus(nmtest.BUS_POLICIES) as bus, \\
         nmtest.NetworkManager(bus) as nm:
        nm.nmcli("connection", "show")

* NetworkManager(bus): a new network namespace (unique name) with veth
  pairs whose namespace ends are named eth0, eth1, ... and NetworkManager
  started inside it on the private system bus, with the keyfile settings
  plugin and profiles in a temporary directory. It never runs in the
  host's own namespace: it could take over the machine's interfaces.
  stop() stops NetworkManager by PID (start() starts it again, same
  namespace and profiles); cleanup() also deletes the namespace (which
  removes the veths) and the temporary directory, even after a failure.
* unavailable(): why such a NetworkManager cannot run here (not root, no
  ip netns, no NetworkManager), or None; tests skip with that reason.

Standard library only; runs on Debian's /usr/bin/python3.
"""
import os
import shutil
import subprocess
import uuid

import lbdtest

NETWORKMANAGER = shutil.which("NetworkManager", path="/usr/sbin:/usr/bin:/sbin:/bin")
NMCLI = shutil.which("nmcli", path="/usr/bin:/usr/sbin:/bin")
IP = shutil.which("ip", path="/usr/sbin:/usr/bin:/sbin:/bin")
NM_NAME = "org.freedesktop.NetworkManager"
NM_BUS_POLICY = "/usr/share/dbus-1/system.d/org.freedesktop.NetworkManager.conf"
NM_POLKIT_ACTIONS = "/usr/share/polkit-1/actions/org.freedesktop.NetworkManager.policy"
# What lbd ships for NetworkManager to authorize the user lbd.
LBD_NM_RULES = os.path.join(lbdtest.SOURCE_ROOT, "polkit", "50-lbd-networkmanager.rules")
BUS_POLICIES = [lbdtest.BUS_POLICY, NM_BUS_POLICY]

_CONFIG = """[main]
plugins=keyfile
auth-polkit={auth_polkit}
dhcp=internal
no-auto-default=*

[keyfile]
path={keyfile_dir}

[logging]
level=INFO

[device]
match-device=*
managed=1
"""


def unavailable():
    """Why a NetworkManager in a network namespace cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, NetworkManager)"
    for what, path in (("NetworkManager", NETWORKMANAGER), ("nmcli", NMCLI), ("ip", IP)):
        if not path:
            return f"{what} is not installed"
    if not os.path.exists(NM_BUS_POLICY):
        return f"{NM_BUS_POLICY} is missing (NetworkManager's bus policy)"
    return lbdtest.netns_unavailable()


def start_authorizing_lbd(bus, polkitd):
    """A NetworkManager (started) that asks polkitd, to which the rules
    file lbd ships is added: lbd, running as the user lbd, is authorized by
    that file and nothing else. The caller calls cleanup() when done."""
    with open(LBD_NM_RULES) as f:
        polkitd.set_rules("50-lbd-networkmanager.rules", f.read())
    nm = NetworkManager(bus, polkit=True)
    try:
        nm.setup().start()
    except BaseException:
        nm.cleanup()
        raise
    return nm


def version():
    """NetworkManager's version as a tuple, e.g. (1, 42, 4)."""
    out = subprocess.run([NETWORKMANAGER, "--version"], stdout=subprocess.PIPE, text=True,
                         check=True).stdout.strip()
    return tuple(int(x) for x in out.split("-")[0].split(".")[:3] if x.isdigit())


class NetworkManager:
    """NetworkManager in namespace NS with ports eth0..eth{ports-1}."""

    def __init__(self, bus, ports=2, timeout=30.0, polkit=False):
        self.bus = bus
        # Authorize callers through the bus's polkitd (auth-polkit=true),
        # as a real NetworkManager does; False: everyone may do anything.
        self.polkit = polkit
        self.ports = [f"eth{i}" for i in range(ports)]
        self.timeout = timeout
        self.netns = None
        self.tmp = None
        self.process = None
        self.peers = []
        self.version = version()

    def __repr__(self):
        return f"<NetworkManager netns={self.netns} pid={self.pid}>"

    def __enter__(self):
        try:
            return self.setup().start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def keyfile_dir(self):
        return self.tmp.join("system-connections")

    # The names 1.46 gave what 1.42 calls master and slave-type.
    @property
    def controller_field(self):
        return "connection.controller" if self.version >= (1, 46) else "connection.master"

    @property
    def port_type_field(self):
        return "connection.port-type" if self.version >= (1, 46) else "connection.slave-type"

    def setup(self):
        """The namespace, its veth ports and the configuration."""
        self.tmp = lbdtest.TempDir("lbd-nm-")
        lbdtest._register(self)
        os.mkdir(self.keyfile_dir, 0o700)
        os.mkdir(self.tmp.join("conf.d"))
        with open(self.tmp.join("NetworkManager.conf"), "w") as f:
            f.write(_CONFIG.format(keyfile_dir=self.keyfile_dir,
                                   auth_polkit="true" if self.polkit else "false"))
        tag = uuid.uuid4().hex[:6]
        self.netns = f"lbd-nm-{tag}"
        self._ip("netns", "add", self.netns)
        for i, port in enumerate(self.ports):
            # Host-side names are unique; the namespace side is renamed.
            peer, inside = f"lbd{tag}p{i}", f"lbd{tag}n{i}"
            self._ip("link", "add", peer, "type", "veth", "peer", "name", inside)
            self.peers.append(peer)
            self._ip("link", "set", inside, "netns", self.netns)
            self._ip("-n", self.netns, "link", "set", inside, "name", port)
            self._ip("link", "set", peer, "up")
        self._ip("-n", self.netns, "link", "set", "lo", "up")
        return self

    def start(self):
        env = self.bus.env()
        env.pop("NOTIFY_SOCKET", None)
        argv = [IP, "netns", "exec", self.netns, NETWORKMANAGER, "--debug",
                f"--config={self.tmp.join('NetworkManager.conf')}",
                f"--config-dir={self.tmp.join('conf.d')}",
                f"--state-file={self.tmp.join('NetworkManager.state')}"]
        self.process = lbdtest.ManagedProcess(
            "NetworkManager", argv, self.tmp.join("NetworkManager.log"), env=env).start()
        self.bus.wait_for_name(NM_NAME, self.timeout, alive=self.process)
        # Ready for profiles once it knows the ports (without udev in a
        # container it may leave them unmanaged: profiles work all the same).
        lbdtest.wait_until(self._ports_known, self.timeout,
                           what="NetworkManager to see the ports", alive=self.process)
        return self

    def _ports_known(self):
        r = self.nmcli("-g", "DEVICE", "device", check=False)
        return r.returncode == 0 and set(self.ports) <= set(r.stdout.split())

    def stop(self):
        """Stop NetworkManager (by PID); the namespace and profiles stay."""
        if self.process:
            self.process.stop(timeout=15.0)
            self.process = None
        if self.bus.address:
            try:
                lbdtest.wait_until(lambda: not self.bus.name_has_owner(NM_NAME), 10.0,
                                   what="NetworkManager to leave the bus")
            except Exception:
                pass

    def cleanup(self):
        """Everything: NetworkManager, the namespace (and so the veths), files."""
        self.stop()
        if self.netns:
            subprocess.run([IP, "netns", "delete", self.netns], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            self.netns = None
        for peer in self.peers:  # gone with the namespace; make sure
            subprocess.run([IP, "link", "delete", peer], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        self.peers = []
        if self.tmp:
            self.tmp.cleanup()
            self.tmp = None
        lbdtest._unregister(self)

    def log_tail(self, lines=40):
        return lbdtest._read_file_tail(self.tmp.join("NetworkManager.log"), lines) \
            if self.tmp else ""

    def _ip(self, *args):
        r = subprocess.run([IP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise lbdtest.FixtureError(f"ip {' '.join(args)} failed: {r.stderr.strip()}")

    def nmcli(self, *args, check=True, timeout=30.0):
        """nmcli on this NetworkManager's bus (run inside the namespace)."""
        env = self.bus.env()
        argv = [IP, "netns", "exec", self.netns, NMCLI, *args]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=env, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise lbdtest.FixtureError(f"nmcli {' '.join(args)} failed ({r.returncode}): "
                                       f"{r.stderr.strip()}")
        return r

    def field(self, connection, name):
        """One setting of a profile as nmcli -g prints it."""
        return self.nmcli("-g", name, "connection", "show", connection).stdout.strip()

    def connections(self):
        """{name: type} of every profile."""
        out = self.nmcli("-g", "NAME,TYPE", "connection", "show").stdout
        return dict(line.rsplit(":", 1) for line in out.splitlines() if ":" in line)
