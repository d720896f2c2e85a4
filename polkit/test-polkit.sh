#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Checks polkit/org.example.LoadBalancer.policy with the real polkitd, and
# that the example rules file does what it says:
#  - xmllint --valid (when xmllint is installed);
#  - inside `unshare -m`, the policy and the example rules are bind-mounted
#    over /usr/share/polkit-1/actions and /etc/polkit-1/rules.d (the host's
#    directories are untouched), and /etc/group over a copy that puts uid
#    65534 in the group lbdadmin; a private system bus and polkitd start;
#  - pkaction lists the five actions with their defaults;
#  - pkcheck allows a process of uid 65534 (in lbdadmin) every action and
#    refuses them to uid 1 (daemon, not in lbdadmin).
#
# Usage: test-polkit.sh POLICY RULES. Exit 77 (skipped) when not root, when
# unshare, dbus-daemon or polkitd is missing.
set -eu

policy=$1
rules=$2
actions="manage-services configure-workers manage-links reload report-failover"
polkitd=/usr/lib/polkit-1/polkitd

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# Valid against polkit's DTD when the XML catalog has it (polkitd's package
# installs it), well-formed otherwise: no network access either way.
if command -v xmllint >/dev/null; then
    out=$(xmllint --noout --valid --nonet "$policy" 2>&1) || true
    if echo "$out" | grep -q "failed to load\|external subset"; then
        out=$(xmllint --noout --nonet "$policy" 2>&1) || true
    fi
    [ -z "$out" ] || fail "xmllint $policy: $out"
fi

[ "$(id -u)" = 0 ] || skip "needs root (unshare -m, bind mounts)"
for p in unshare dbus-daemon pkaction pkcheck setpriv; do
    command -v $p >/dev/null || skip "$p is not installed"
done
[ -x $polkitd ] || skip "$polkitd is not installed"

tmp=$(mktemp -d /tmp/lbd-test-polkit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
mkdir "$tmp/actions" "$tmp/rules"
cp "$policy" "$tmp/actions/org.example.LoadBalancer.policy"
cp "$rules" "$tmp/rules/50-lbd.rules"
cp /etc/group "$tmp/group"
echo "lbdadmin:x:4242:nobody" >>"$tmp/group"
chmod -R a+rX "$tmp"
cat >"$tmp/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOC

# The inner script runs in its own mount namespace: its bind mounts vanish
# with it. It stops what it started, by PID, on every path out.
cat >"$tmp/inner.sh" <<'EOI'
set -eu
tmp=$1 policy=$2 polkitd=$3 actions=$4
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mount --make-rprivate /
mount --bind "$tmp/actions" /usr/share/polkit-1/actions
mount --bind "$tmp/rules" /etc/polkit-1/rules.d
mount --bind "$tmp/group" /etc/group

dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile --nosyslog \
    >"$tmp/dbus.log" 2>&1 &
pids="$pids $!"
i=0; while [ ! -S "$tmp/bus" ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "no bus"; sleep 0.05; done
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"
$polkitd --no-debug >"$tmp/polkitd.log" 2>&1 &
pids="$pids $!"
# Up to 15 s, as tests/integration/lbdtest.py waits: a full suite run once
# saw polkitd take longer than 5 s to answer, with nothing in its log.
i=0
until pkaction >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 300 ] || { cat "$tmp/polkitd.log"; fail "polkitd did not start"; }
    sleep 0.05
done
[ $i -lt 40 ] || echo "note: polkitd answered after $i tries (about $((i / 20)) s)"

for a in $actions; do
    out=$(pkaction --action-id "org.example.LoadBalancer.$a" --verbose) ||
        fail "pkaction does not know org.example.LoadBalancer.$a"
    echo "$out"
    expected=auth_admin_keep
    [ "$a" = manage-links ] && expected=auth_admin
    [ "$a" = report-failover ] && expected=auth_admin
    echo "$out" | grep -q "description: *[A-Z]" || fail "$a: no description"
    echo "$out" | grep -q "message: *Authentication is required" || fail "$a: no message"
    echo "$out" | grep -q "implicit any: *no$" || fail "$a: allow_any is not no"
    echo "$out" | grep -q "implicit inactive: *no$" || fail "$a: allow_inactive is not no"
    echo "$out" | grep -q "implicit active: *$expected$" || fail "$a: allow_active is not $expected"
done
n=$(pkaction | grep -c '^org\.example\.LoadBalancer\.')
[ "$n" = 5 ] || fail "expected 5 actions, pkaction lists $n"

setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 &
member=$!; pids="$pids $member"
setpriv --reuid=1 --regid=1 --clear-groups sleep 30 &
other=$!; pids="$pids $other"
for a in $actions; do
    pkcheck --action-id "org.example.LoadBalancer.$a" --process $member >/dev/null ||
        fail "$a: the example rules do not allow a member of lbdadmin"
    if pkcheck --action-id "org.example.LoadBalancer.$a" --process $other >/dev/null 2>&1; then
        fail "$a: allowed to uid 1, which is not in lbdadmin"
    fi
done
if grep -i "error" "$tmp/polkitd.log"; then fail "polkitd reported an error"; fi
echo "OK: 5 actions; the example rules allow lbdadmin and no one else"
EOI
unshare -m sh "$tmp/inner.sh" "$tmp" "$policy" "$polkitd" "$actions"
