# SPDX-License-Identifier: MIT
"""A small network of namespaces for the multi-node tests: one "lan"
namespace holding a bridge, and one namespace per host, each joined to the
bridge by a veth pair (eth0 inside the host, named after it in the lan).
Traffic stays inside these namespaces; nothing touches the host's own.

    lab = NetLab("f").start()
    lab.add_host("lb1", "10.91.0.11/24")
    lab.run("lb1", "ip", "addr")          # a command in lb1's namespace
    lab.link("lb1", up=False)             # cut lb1 off the lan (its veth down)
    lab.cleanup()                         # every namespace (and with them the veths)

Standard library only; needs root (ip netns).
"""
import shutil
import subprocess
import uuid

import lbdtest

IP = shutil.which("ip", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/ip"


def unavailable():
    """Why namespaces cannot be made here, or None."""
    return lbdtest.netns_unavailable()


class NetLab:
    def __init__(self, tag):
        # Short names: interface names have 15 bytes at most.
        self.prefix = f"lb{tag}{uuid.uuid4().hex[:5]}"
        self.lan = f"{self.prefix}-lan"
        self.hosts = {}  # name -> (namespace, address)

    def ns(self, host):
        return self.hosts[host][0]

    def address(self, host):
        return self.hosts[host][1].split("/")[0]

    def _ip(self, *args, ns=None, check=True):
        argv = [IP] + (["-n", ns] if ns else []) + list(args)
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        if check and r.returncode != 0:
            raise lbdtest.FixtureError(f"{' '.join(argv)}: {r.stderr.strip()}")
        return r

    def start(self):
        lbdtest._register(self)
        try:
            self._ip("netns", "add", self.lan)
            self._ip("link", "add", "br0", "type", "bridge", ns=self.lan)
            self._ip("link", "set", "br0", "up", ns=self.lan)
            self._ip("link", "set", "lo", "up", ns=self.lan)
        except BaseException:
            self.cleanup()
            raise
        return self

    def add_host(self, host, address):
        ns = f"{self.prefix}-{host}"
        self._ip("netns", "add", ns)
        self.hosts[host] = (ns, address)
        port = f"v{len(self.hosts)}{self.prefix[-5:]}"
        self._ip("link", "add", port, "netns", self.lan, "type", "veth", "peer", "name", "eth0",
                 "netns", ns)
        self._ip("link", "set", port, "master", "br0", ns=self.lan)
        self._ip("link", "set", port, "up", ns=self.lan)
        self._ip("link", "set", "lo", "up", ns=ns)
        self._ip("addr", "add", address, "dev", "eth0", ns=ns)
        self._ip("link", "set", "eth0", "up", ns=ns)
        return ns

    def link(self, host, up):
        """Connect or cut host: its eth0 up or down."""
        self._ip("link", "set", "eth0", "up" if up else "down", ns=self.ns(host))

    def exec_argv(self, host, argv):
        return [IP, "netns", "exec", self.ns(host)] + list(argv)

    def run(self, host, *argv, check=True, timeout=30):
        r = subprocess.run(self.exec_argv(host, argv), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise lbdtest.FixtureError(f"{' '.join(argv)} in {host}: {r.stderr.strip()}")
        return r

    def has_address(self, host, address):
        out = self._ip("-o", "addr", "show", "dev", "eth0", ns=self.ns(host)).stdout
        return f" {address}/" in out

    def cleanup(self):
        for ns, _ in list(self.hosts.values()) + [(self.lan, None)]:
            self._ip("netns", "delete", ns, check=False)
        self.hosts = {}
        lbdtest._unregister(self)

    def stop(self):
        self.cleanup()
