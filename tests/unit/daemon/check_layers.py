#!/usr/bin/python3
"""tests/unit/daemon/check_layers.py: src/daemon's parts build on one
another in one order (src/daemon/daemon.h); a file may include only the
headers of its own part and of the parts before it, so there is no include
circle.  Prints each include that breaks the order and fails on any."""
import os
import re
import sys

# Part of each header or source, by path under src/daemon, in order.
LAYERS = [
    ("daemon", ["daemon.h"]),
    ("versions", ["config/versions.h", "config/files.c", "config/versions.c"]),
    ("tunnels", ["config/tunnels."]),
    ("overlay", ["config/overlay."]),
    ("ike", ["config/ike."]),
    ("firewall", ["firewall/"]),
    ("hosttap", ["hosttap.c"]),
    ("certs", ["transport/cert_names."]),
    ("apply", ["config/apply."]),
    ("ops", ["ops/"]),
    ("transport", ["transport/"]),
    ("main", ["main.c"]),
]


def layer(path):
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(path.startswith(p) for p in prefixes):
            return i
    return None


def main():
    root = sys.argv[1]
    bad = files = 0
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.relpath(os.path.join(dirpath, name), root)
            me = layer(path)
            if me is None:
                print("no part for", path)
                bad += 1
                continue
            files += 1
            for inc in re.findall(r'^#include "([^"]+)"',
                                  open(os.path.join(root, path)).read(), re.M):
                target = os.path.normpath(os.path.join(os.path.dirname(path),
                                                       inc))
                if target.startswith(".."):
                    continue    # another module of src/
                other = layer(target)
                if other is None or other > me:
                    print("%s (%s) includes %s (%s)" % (
                        path, LAYERS[me][0], target,
                        "?" if other is None else LAYERS[other][0]))
                    bad += 1
    print("%d files, %d includes out of order" % (files, bad))
    return 1 if bad or files < 15 else 0


sys.exit(main())
