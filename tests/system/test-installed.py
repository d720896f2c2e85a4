#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""lbd as installed: built with the standard prefix, installed into a Debian
bookworm tree made by debootstrap, booted with systemd-nspawn, and checked as
an administrator would check it, through systemd, journald, polkitd and
the system bus of that system (container.py says how it is made).

In order, each printed as "ok N - what" when it holds:
  1. systemd-sysusers makes the lbd user; `systemctl enable --now lbd`
     returns once lbd is ready (Type=notify: traffic is served at once),
     and `systemctl status` shows the status text;
  2. traffic through /etc/lbd/lbd.conf and a conf.d drop-in, to Gunicorn
     units started with systemd-run: the sync and gthread worker classes on
     TCP, and the seed's unix socket (-m 007, group www-data, which lbd,
     run as the user lbd, has as a group of that user, and extra-groups=
     names); a tcp-mode service; 0 non-200 answers;
  3. journald: access entries with their LBD_* fields (access-log=journal),
     error-log entries (a backend that refuses), `journalctl -u lbd`;
  4. lbclient inside the container, on the real system bus;
  5. the hardening in force: /proc/PID/status of the master (user lbd,
     CAP_NET_BIND_SERVICE only, non-dumpable) and of the workers (user lbd,
     no capabilities, their own seccomp filter over systemd's), and
     `systemd-analyze security lbd` on the live unit (at most the exposure
     that unit-security allows);
  6. polkit: uid 65534 is refused and nothing changes; the shipped example
     rules file, copied to /etc/polkit-1/rules.d, grants group lbdadmin;
  7. bus activation: after `systemctl stop`, a busctl call starts lbd, with
     the change made in 6 still there (the state directory);
  8. `systemctl reload` under wrk load (switching the access log to the
     default file): 0 failed requests, the same master;
  9. log rotation with the shipped logrotate snippet (logrotate -f): the
     postrotate's USR1 makes lbd write to the new file;
 10. `systemctl restart` over a log file as a root master left it (root:lbd
     0660): a new master that serves and goes on writing it;
 11. the master SIGKILLed: systemd restarts it, with its saved state, and
     no worker of the old master is left;
 12. `systemctl stop` within TimeoutStopSec=, with result "success".

The tree is cached in LBD_SYSTEM_CACHE (default: the build directory's
tests/system/cache); LBD_DEBIAN_MIRROR overrides the mirror. Exits 77
(skipped) when the machine cannot make or boot the container, saying why.

LBD_SYSTEM_TEST_BREAK_UNIT=1 removes CAP_NET_BIND_SERVICE from the installed
unit (AmbientCapabilities= and CapabilityBoundingSet=) before the boot: lbd can then not listen on port 80, and this test must
fail (how the test was shown to catch a unit that cannot start lbd).
"""
import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import container  # noqa: E402
from container import lbdtest  # noqa: E402

SOURCE_ROOT = os.environ.get("LBD_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.dirname(
                                 os.path.abspath(__file__)))))
BUILD_ROOT = os.path.abspath(os.environ.get("LBD_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build")))
WORK = os.path.join(BUILD_ROOT, "tests", "system")
CACHE = os.path.abspath(os.environ.get("LBD_SYSTEM_CACHE", os.path.join(WORK, "cache")))
# systemd-analyze's exposure allowed, in tenths (unit-security's figure).
EXPOSURE_MAX = int(os.environ.get("LBD_UNIT_EXPOSURE_MAX", "23")) / 10

# What lbd needs at run time (libraries of the daemon and its plugins), the
# real components around it, and the tools the checks run inside.
PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "libpam-systemd", "polkitd",
    "libglib2.0-0", "libjson-glib-1.0-0", "libnm0", "liburing2",
    "gunicorn", "python3", "curl", "procps", "logrotate",
]

BACKENDS = {  # name: (gunicorn arguments, lbd's address)
    "sync": (["-k", "sync", "-w", "2", "-b", "127.0.0.1:8001"], "127.0.0.1:8001"),
    "gthread": (["-k", "gthread", "--threads", "4", "-w", "2", "-b", "127.0.0.1:8002"],
                "127.0.0.1:8002"),
    # The seed's socket: only its owner and group www-data may connect.
    "unix": (["-k", "sync", "-w", "2", "-b", "unix:/run/gunicorn/app.sock", "-m", "007"],
             "unix:/run/gunicorn/app.sock"),
}

LBD_CONF = f"""\
# The system test's configuration (tests/system/test-installed.py).
[daemon]
workers=2
access-log=journal
extra-groups=www-data

[service web]
listen=127.0.0.1:80
backends={';'.join(addr for _, addr in BACKENDS.values())}
"""

DROPIN_CONF = """\
# A drop-in adds services: a tcp one, and one whose backend refuses.
[service tcp]
listen=127.0.0.1:9000
mode=tcp
backends=127.0.0.1:8002

[service refused]
listen=127.0.0.1:9001
backends=127.0.0.1:8009
"""

count = 0


def ok(what):
    global count
    count += 1
    print(f"ok {count} - {what}", flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def show(c, *props):
    """systemctl show lbd, as a dict."""
    out = c.run(["systemctl", "show", "lbd", *[f"--property={p}" for p in props]]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def curl(c, url, n=1):
    """n requests from the host's curl (a new connection each); returns
    [(status, X-Backend)]."""
    argv = ["curl", "-sS", "--max-time", "10", "-H", "Connection: close", "-D", "-",
            *[url] * n]
    r = c.net(argv, check=False)
    check(r.returncode == 0, f"curl {url} failed ({r.returncode}): {r.stderr}{r.stdout}")
    answers = []
    for block in re.split(r"(?=^HTTP/1\.[01] )", r.stdout, flags=re.M):
        m = re.match(r"HTTP/1\.[01] (\d+)", block)
        if not m:
            continue
        backend = re.search(r"^X-Backend: *(\S+)", block, re.M | re.I)
        answers.append((int(m.group(1)), backend.group(1) if backend else None))
    check(len(answers) == n, f"curl {url}: {len(answers)} answers to {n} requests:\n{r.stdout}")
    return answers


def proc_status(c, pid):
    out = c.run(["cat", f"/proc/{pid}/status"]).stdout
    return dict((k, v.strip()) for k, v in (line.split(":", 1) for line in out.splitlines()))


def lbd_pids(c):
    """(master, [workers]) from the unit's cgroup."""
    main = int(show(c, "MainPID")["MainPID"])
    out = c.run(["ps", "-o", "pid=,ppid=", "--ppid", str(main)], check=False).stdout
    workers = [int(line.split()[0]) for line in out.splitlines() if line.strip()]
    return main, workers


def cgroup_pids(c):
    cg = show(c, "ControlGroup")["ControlGroup"]
    out = c.run(["cat", f"/sys/fs/cgroup{cg}/cgroup.procs"], check=False).stdout
    return sorted(int(p) for p in out.split())


def wrk(c, seconds, connections=20):
    return c.net(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                  "http://127.0.0.1/"], background=True)


def wrk_result(proc, seconds):
    """(requests, socket errors, non-2xx) of a wrk started by wrk()."""
    out, _ = proc.communicate(timeout=seconds + 30)
    check(proc.returncode == 0, f"wrk failed ({proc.returncode}):\n{out}")
    return lbdtest.wrk_totals(out)


def start_backends(c):
    c.write("/srv/lbd-app/app.py",
            open(os.path.join(SOURCE_ROOT, "tests", "integration", "app.py")).read())
    for name, (args, _) in BACKENDS.items():
        c.run(["systemd-run", f"--unit=app-{name}", "--property=User=www-data",
               "--property=Group=www-data", "--property=RuntimeDirectory=gunicorn",
               "--property=RuntimeDirectoryPreserve=yes",
               f"--setenv=LBD_BACKEND_NAME={name}", "--working-directory=/srv/lbd-app",
               "--", "/usr/bin/gunicorn", *args, "app:application"])
    lbdtest.wait_until(lambda: all(
        c.run(["curl", "-s", "-o", "/dev/null", "--max-time", "2",
               *(["--unix-socket", addr[5:], "http://app/"] if addr.startswith("unix:")
                 else [f"http://{addr}/"])], check=False).returncode == 0
        for _, addr in BACKENDS.values()), 30, what="the Gunicorn units")


def journal(c, *match):
    out = c.run(["journalctl", "-u", "lbd", "-o", "json", "--no-pager", *match]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    why = container.missing_prerequisites()
    if why is None and shutil.which("wrk") is None:
        why = "wrk is not installed"
    if why:
        print(f"SKIP: {why}")
        return 77
    rootfs = container.Rootfs(CACHE, PACKAGES)
    try:
        rootfs.start()           # downloads while lbd compiles
        installed = container.install_lbd(SOURCE_ROOT, os.path.join(WORK, "lbd-usr"))
        rootfs.wait()
    except container.Unavailable as e:
        print(f"SKIP: cannot make the container: {e}")
        return 77
    if os.environ.get("LBD_SYSTEM_TEST_BREAK_UNIT") == "1":
        unit = os.path.join(installed, "usr/lib/systemd/system/lbd.service")
        text = open(unit).read()
        for key in ("AmbientCapabilities", "CapabilityBoundingSet"):
            text = text.replace(f"{key}=CAP_NET_BIND_SERVICE\n", f"{key}=\n")
        open(unit, "w").write(text)
        print("system: the installed unit is broken on purpose (no CAP_NET_BIND_SERVICE)")
    try:
        with container.Container(rootfs.path, installed, os.path.join(WORK, "run")) as c:
            try:
                run_checks(c)
            except (AssertionError, lbdtest.FixtureError):
                print("--- journalctl -u lbd (last 40 lines) ---")
                print(c.run(["journalctl", "-u", "lbd", "-n", "40", "--no-pager"],
                            check=False).stdout)
                raise
    except container.Unavailable as e:
        print(f"SKIP: cannot boot the container: {e}")
        return 77
    print(f"all {count} checks passed")
    return 0


def run_checks(c):
    # 1. Installing: the user, the unit, readiness.
    c.run(["systemd-sysusers"])
    pw = c.run(["getent", "passwd", "lbd"]).stdout.strip().split(":")
    check(int(pw[2]) < 1000 and pw[6].endswith("nologin"), f"lbd's user: {pw}")
    c.write("/etc/lbd/lbd.conf", LBD_CONF)
    c.write("/etc/lbd/conf.d/50-more.conf", DROPIN_CONF)
    # What lbd(8) tells an administrator whose backend socket is another
    # user's (the seed's -m 007 Gunicorn): give lbd the group, here as a
    # group of the user lbd (systemd applies the user's groups; the other
    # way, SupplementaryGroups= in a drop-in, costs 0.1 of exposure).
    c.run(["usermod", "-aG", "www-data", "lbd"])
    start_backends(c)
    r = c.run(["systemctl", "enable", "--now", "lbd"], check=False, timeout=120)
    check(r.returncode == 0, f"systemctl enable --now lbd failed:\n{r.stdout}{r.stderr}\n"
          + c.run(["systemctl", "status", "lbd", "--no-pager", "-l"], check=False).stdout)
    # Type=notify: start returned after READY=1, so lbd serves already.
    first = curl(c, "http://127.0.0.1/")
    state = show(c, "ActiveState", "SubState", "StatusText", "Type")
    check(state["ActiveState"] == "active" and state["SubState"] == "running"
          and state["Type"] == "notify" and state["StatusText"],
          f"lbd after start: {state}")
    status = c.run(["systemctl", "status", "lbd", "--no-pager"], check=False).stdout
    check("active (running)" in status and "Status: " in status,
          f"systemctl status:\n{status}")
    ok(f"sysusers made lbd (uid {pw[2]}); enable --now returned ready "
       f"(first answer {first[0][0]}); status: {state['StatusText']!r}")

    # 2. Traffic through the files to every kind of Gunicorn backend.
    answers = curl(c, "http://127.0.0.1/", n=30)
    statuses = [a[0] for a in answers]
    seen = {a[1] for a in answers}
    check(statuses == [200] * 30, f"statuses: {statuses}")
    check(seen == set(BACKENDS), f"backends answering: {seen}")
    tcp = curl(c, "http://127.0.0.1:9000/", n=5)
    check([a[0] for a in tcp] == [200] * 5 and {a[1] for a in tcp} == {"gthread"},
          f"tcp service: {tcp}")
    ok("30 of 30 answers 200 from sync, gthread and the seed's unix socket; "
       "the drop-in's tcp service 5 of 5")

    # 3. journald.
    refused = curl(c, "http://127.0.0.1:9001/")
    check(refused[0][0] == 502, f"a refusing backend: {refused}")
    # journald may take a moment to have read every entry.
    def web_access_entries():
        got = [e for e in journal(c, "LBD_COMPONENT=access") if e.get("LBD_SERVICE") == "web"]
        return got if len(got) >= 31 else None
    access = lbdtest.wait_until(web_access_entries, 10,
                                what="31 access entries for service web in the journal")
    e = access[-1]
    for field in ("LBD_CLIENT", "LBD_REQUEST", "LBD_STATUS", "LBD_UPSTREAM",
                  "LBD_UPSTREAM_STATUS", "LBD_REQUEST_TIME", "LBD_USER_AGENT"):
        check(field in e, f"access entry without {field}: {e}")
    check(e["LBD_STATUS"] == "200" and e["LBD_REQUEST"] == "GET / HTTP/1.1"
          and e["SYSLOG_IDENTIFIER"] == "lbd", f"access entry: {e}")
    upstreams = {x["LBD_UPSTREAM"] for x in access}
    check({a for _, a in BACKENDS.values()} <= upstreams, f"upstreams logged: {upstreams}")
    errors = [x for x in journal(c, "-p", "warning")
              if x.get("LBD_COMPONENT") != "access" and "127.0.0.1:8009" in x.get("MESSAGE", "")]
    check(errors, "no warning in the journal about the refusing backend 127.0.0.1:8009")
    text = c.run(["journalctl", "-u", "lbd", "--no-pager", "-n", "200"]).stdout
    check(re.search(r"lbd\[\d+\]: ", text), f"journalctl -u lbd:\n{text[-2000:]}")
    ok(f"journal: {len(access)} access entries with LBD_* fields, the refusing backend "
       f"as a warning ({errors[0]['MESSAGE']!r})")

    # 4. lbclient on the real system bus.
    out = c.run(["lbclient", "status"]).stdout
    for word in ("web", "tcp", "refused", "127.0.0.1:8001", "unix:/run/gunicorn/app.sock"):
        check(word in out, f"lbclient status has no {word}:\n{out}")
    ok("lbclient status inside the container shows the three services and their backends")

    # 5. Hardening in force.
    master, workers = lbd_pids(c)
    check(len(workers) == 2, f"workers: {workers}")
    ms = proc_status(c, master)
    lbd_uid = pw[2]
    www_gid = c.run(["getent", "group", "www-data"]).stdout.split(":")[2]
    want = 1 << 10  # CAP_NET_BIND_SERVICE
    check(ms["Uid"].split() == [lbd_uid] * 4, f"master uid: {ms['Uid']}")
    check(all(int(ms[k], 16) == want for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb")),
          f"master capabilities: {[(k, ms[k]) for k in ('CapEff', 'CapBnd', 'CapAmb')]} "
          f"(want {want:016x})")
    check(ms["NoNewPrivs"] == "1" and ms["Seccomp"] == "2", f"master: {ms}")
    check(www_gid in ms["Groups"].split(), f"master groups: {ms['Groups']}")
    # Not dumpable: the files of /proc/PID are root's although the process
    # is lbd's (the kernel's rule for a non-dumpable process).
    owner = c.run(["stat", "-c", "%u", f"/proc/{master}/status"]).stdout.strip()
    check(owner == "0", f"/proc/{master}/status is uid {owner}'s: the master is dumpable")
    for w in workers:
        ws = proc_status(c, w)
        check(ws["Uid"].split() == [lbd_uid] * 4, f"worker {w} uid: {ws['Uid']}")
        check(all(int(ws[k], 16) == 0 for k in ("CapEff", "CapPrm", "CapAmb")),
              f"worker {w} capabilities: {ws['CapEff']} {ws['CapPrm']} {ws['CapAmb']}")
        check(ws["NoNewPrivs"] == "1" and ws["Seccomp"] == "2", f"worker {w}: {ws}")
        # Its own allow-list on top of what systemd gave the unit.
        check(int(ws["Seccomp_filters"]) > int(ms["Seccomp_filters"]),
              f"worker {w}: {ws['Seccomp_filters']} seccomp filters, the master "
              f"{ms['Seccomp_filters']}")
        check(www_gid in ws["Groups"].split(), f"worker {w} groups: {ws['Groups']}")
    out = c.run(["systemd-analyze", "security", "lbd", "--no-pager"], check=False).stdout
    m = re.search(r"Overall exposure level for lbd\.service: (\d+\.\d+)", out)
    check(m, f"systemd-analyze security lbd:\n{out[-1500:]}")
    exposure = float(m.group(1))
    check(exposure <= EXPOSURE_MAX, f"live exposure {exposure} > {EXPOSURE_MAX}:\n" +
          "\n".join(line for line in out.splitlines() if line.startswith("✗")))
    ok(f"master: user lbd, capabilities {ms['CapEff']}, not dumpable, NoNewPrivs 1, "
       f"Seccomp 2; workers: user lbd, no capabilities, group www-data, NoNewPrivs 1, "
       f"{ws['Seccomp_filters']} seccomp filters; systemd-analyze security lbd: {exposure}")

    # 6. polkit, with the real polkitd of the container.
    r = c.run(["lbclient", "--no-ask-password", "backend", "set", "web", "127.0.0.1:8001",
               "weight", "5"], user="nobody", check=False)
    check(r.returncode == 3, f"uid 65534 setting a weight: status {r.returncode}:\n"
          f"{r.stdout}{r.stderr}")
    weight = backend_weight(c, "127.0.0.1:8001")
    check(weight == 1, f"weight after the refusal: {weight}")
    refusal = (r.stderr or r.stdout).strip()
    c.run(["install", "-m", "0644", "/usr/share/doc/lbd/examples/50-lbd-example.rules",
           "/etc/polkit-1/rules.d/50-lbd.rules"])
    c.run(["groupadd", "--system", "lbdadmin"])
    c.run(["useradd", "--no-create-home", "--groups", "lbdadmin", "alice"])
    # polkitd rereads its rules when the directory changes.
    def alice_sets_weight():
        return c.run(["lbclient", "--no-ask-password", "backend", "set", "web",
                      "127.0.0.1:8001", "weight", "5"], user="alice", check=False).returncode == 0
    lbdtest.wait_until(alice_sets_weight, 10, what="alice's weight change")
    check(backend_weight(c, "127.0.0.1:8001") == 5, "weight after alice's change")
    ok(f"polkit: uid 65534 refused ({refusal!r}), weight unchanged; the example rules "
       f"file lets group lbdadmin (alice) set it to 5")

    # 7. Bus activation, and the state kept across a stop.
    c.run(["systemctl", "stop", "lbd"], timeout=60)
    check(show(c, "ActiveState")["ActiveState"] == "inactive", "lbd still running after stop")
    r = c.run(["busctl", "get-property", "org.example.LoadBalancer", "/org/example/LoadBalancer",
               "org.example.LoadBalancer", "Version"], timeout=60)
    check(show(c, "ActiveState")["ActiveState"] == "active",
          "busctl answered but lbd's unit is not active")
    check(backend_weight(c, "127.0.0.1:8001") == 5, "weight 5 lost across stop and activation")
    ok(f"bus activation: busctl started lbd (Version {r.stdout.split()[-1]}), "
       f"weight 5 kept in the state directory")

    # 8. Reload under load, to the default access log (a buffered file).
    master_before = lbd_pids(c)[0]
    c.write("/etc/lbd/conf.d/60-log.conf", "[daemon]\naccess-log=access.log\n")
    proc = wrk(c, 6)
    time.sleep(2)
    t0 = time.monotonic()
    c.run(["systemctl", "reload", "lbd"], timeout=60)
    reload_s = time.monotonic() - t0
    requests, socket_errors, non2xx = wrk_result(proc, 6)
    check(requests > 0 and socket_errors == 0 and non2xx == 0,
          f"reload under load: {requests} requests, {socket_errors} socket errors, "
          f"{non2xx} non-2xx")
    check(lbd_pids(c)[0] == master_before, "systemctl reload replaced the master")
    log_file = "/var/log/lbd/access.log"
    lbdtest.wait_until(lambda: os.path.exists(c.path(log_file))
                       and os.path.getsize(c.path(log_file)) > 0,
                       5, what=f"lines in {log_file} after the reload")
    ok(f"systemctl reload ({reload_s:.2f} s) under wrk: {requests} requests, 0 socket "
       f"errors, 0 non-2xx; access log now {log_file}")

    # 9. Rotation, as logrotate does it with the shipped snippet.
    c.run(["test", "-f", "/etc/logrotate.d/lbd"])
    c.run(["logrotate", "-f", "/etc/logrotate.d/lbd"])
    rotated = c.path(log_file + ".1")
    check(os.path.exists(rotated), f"logrotate made no {log_file}.1")
    size_rotated = os.path.getsize(rotated)
    marker = f"/rotated-{os.getpid()}"
    curl(c, "http://127.0.0.1" + marker, n=3)

    def new_lines():
        try:
            with open(c.path(log_file), encoding="utf-8", errors="replace") as f:
                return f.read().count(marker) == 3
        except OSError:
            return False
    lbdtest.wait_until(new_lines, 5, what=f"the requests in the new {log_file}")
    check(os.path.getsize(rotated) == size_rotated, f"lbd still writes to {log_file}.1")
    st = os.stat(c.path(log_file))
    ok(f"logrotate -f: USR1 from its postrotate, new lines in a new {log_file} "
       f"(mode {st.st_mode & 0o777:o}), none in .1")

    # 10. Restart, over a log file as an lbd whose master ran as root left
    # it (root's, group lbd, 0660): the master, now lbd, writes on through
    # the group; nobody needs to chown anything.
    c.run(["chown", "root:lbd", log_file])
    c.run(["chmod", "0660", log_file])
    c.run(["systemctl", "restart", "lbd"], timeout=90)
    master_after = lbd_pids(c)[0]
    check(master_after != master_before, "systemctl restart kept the master")
    marker = f"/restarted-{os.getpid()}"
    check([a[0] for a in curl(c, "http://127.0.0.1" + marker, n=3)] == [200] * 3,
          "after restart")

    def restart_lines():
        with open(c.path(log_file), encoding="utf-8", errors="replace") as f:
            return f.read().count(marker) == 3
    lbdtest.wait_until(restart_lines, 5, what=f"the requests after the restart in {log_file}")
    ok(f"systemctl restart: master {master_before} -> {master_after}, serving, and "
       f"writing {log_file} (root:lbd 0660, as a root master left it)")

    # 11. The master SIGKILLed: systemd restarts it with its saved state.
    c.run(["lbclient", "backend", "set", "web", "127.0.0.1:8002", "weight", "3"])
    restarts = int(show(c, "NRestarts")["NRestarts"])
    old = set(cgroup_pids(c))
    c.run(["systemctl", "kill", "--kill-who=main", "--signal=KILL", "lbd"])
    lbdtest.wait_until(lambda: int(show(c, "NRestarts")["NRestarts"]) == restarts + 1
                       and show(c, "ActiveState")["ActiveState"] == "active",
                       30, what="systemd's restart")
    master_new, workers_new = lbd_pids(c)
    now = set(cgroup_pids(c))
    check(not (old & now), f"processes of the killed master left: {sorted(old & now)}")
    check(backend_weight(c, "127.0.0.1:8002") == 3
          and backend_weight(c, "127.0.0.1:8001") == 5, "state lost across the kill")
    check([a[0] for a in curl(c, "http://127.0.0.1/", n=3)] == [200] * 3, "after the kill")
    ok(f"SIGKILL of the master: restarted by systemd (master {master_new}, "
       f"{len(workers_new)} workers, none of the old ones), weights 5 and 3 kept")

    # 12. Stop, with a request in flight (1.5 s at the backend).
    idle = c.net(["curl", "-s", "-o", "/dev/null", "--max-time", "60",
                  "http://127.0.0.1/slow?ms=1500"], background=True)
    time.sleep(0.5)
    t0 = time.monotonic()
    c.run(["systemctl", "stop", "lbd"], timeout=90)
    stop_s = time.monotonic() - t0
    idle.communicate(timeout=30)
    timeout_stop = show(c, "TimeoutStopUSec")["TimeoutStopUSec"]
    result = show(c, "Result", "ExecMainStatus")
    check(result["Result"] == "success" and result["ExecMainStatus"] == "0",
          f"stop: {result}")
    check(idle.returncode == 0, f"the request in flight at stop failed ({idle.returncode})")
    check(stop_s < 45, f"stop took {stop_s:.1f} s")
    ok(f"systemctl stop in {stop_s:.2f} s (TimeoutStopSec {timeout_stop}), the request in "
       f"flight answered, result success")


def backend_weight(c, address):
    out = c.run(["lbclient", "--terse", "--fields", "address,weight", "backend", "list",
                 "web"]).stdout
    for line in out.splitlines():
        addr, _, weight = line.rpartition(":")
        if addr.replace("\\:", ":") == address:
            return int(weight)
    raise AssertionError(f"no backend {address} in:\n{out}")


if __name__ == "__main__":
    sys.exit(main())
