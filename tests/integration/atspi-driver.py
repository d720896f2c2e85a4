#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Drive a running GTK application through AT-SPI, as an assistive
technology (or dogtail) would: what it reads is what a screen reader gets,
what it does is what a user's click or typing does.

Run as the application's own user, in its session (DISPLAY,
DBUS_SESSION_BUS_ADDRESS): test-desktop runs one command per process, so
that nothing is read from a stale cache.

    atspi-driver.py APP tree               the tree as JSON: [role, name, text, [children]]
    atspi-driver.py APP click NAME         activate the button/tab named NAME
    atspi-driver.py APP set-text NAME TEXT replace the text of the entry named NAME

Nodes an application marks hidden are not listed. While a dialog is open,
click and set-text look only in the newest one, as a modal dialog leaves a
user nothing else to reach (the window's own Close button is not the
dialog's). A button whose name GTK
prefixes with its mnemonic ("_Apply Apply") matches "Apply". Exit status:
0 done, 2 no such application or widget (said on stderr), 1 anything else.
"""
import json
import sys

import pyatspi
from gi.repository import GLib

ACTIVATABLE = {"push button", "page tab", "toggle button", "check box", "menu item",
               "radio button", "switch"}
EDITABLE = {"text", "entry", "password text"}


def find_app(name):
    desktop = pyatspi.Registry.getDesktop(0)
    for app in desktop:
        if app is not None and app.name == name:
            return app
    return None


def text_of(acc):
    try:
        t = acc.queryText()
    except NotImplementedError:
        return None
    return t.getText(0, t.characterCount)


def tree(acc):
    """acc's subtree; None for a node that went while it was read (a view
    rebuilt meanwhile: the caller reads again)."""
    try:
        children = []
        for i in range(acc.childCount):
            child = acc.getChildAtIndex(i)
            node = tree(child) if child is not None else None
            if node is not None:
                children.append(node)
        role = acc.getRoleName()
        return [role, acc.name, text_of(acc) if role in EDITABLE else None, children]
    except GLib.GError:
        return None


def names_match(acc_name, wanted):
    return acc_name == wanted or acc_name.endswith(" " + wanted)


def find(acc, pred):
    if pred(acc):
        return acc
    for i in range(acc.childCount):
        child = acc.getChildAtIndex(i)
        if child is not None:
            found = find(child, pred)
            if found is not None:
                return found
    return None


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 1
    app = find_app(argv[1])
    if app is None:
        print(f"atspi-driver: no application {argv[1]!r} on the accessibility bus",
              file=sys.stderr)
        return 2
    command = argv[2]
    # Where a user can act: the newest dialog, else the application.
    scope = app
    for i in range(app.childCount):
        child = app.getChildAtIndex(i)
        if child is not None and child.getRoleName() in ("dialog", "alert"):
            scope = child
    if command == "tree":
        root = tree(app)
        if root is None:
            print("atspi-driver: the application went while it was read", file=sys.stderr)
            return 2
        json.dump(root, sys.stdout)
        return 0
    if command == "click" and len(argv) == 4:
        acc = find(scope, lambda a: a.getRoleName() in ACTIVATABLE and names_match(a.name, argv[3]))
        if acc is None:
            print(f"atspi-driver: no button {argv[3]!r}", file=sys.stderr)
            return 2
        acc.queryAction().doAction(0)
        return 0
    if command == "set-text" and len(argv) == 5:
        acc = find(scope, lambda a: a.getRoleName() in EDITABLE
                   and (a.name == argv[3] or a.name.startswith(argv[3] + " ")))
        if acc is None:
            print(f"atspi-driver: no entry {argv[3]!r}", file=sys.stderr)
            return 2
        if not acc.queryEditableText().setTextContents(argv[4]):
            print(f"atspi-driver: {argv[3]!r} refused the text", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
