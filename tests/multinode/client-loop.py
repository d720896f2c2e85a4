#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A bounded client loop, run inside the client's namespace: one request
at a time (a new connection each, as a browser after a failover would
make) to URL for SECONDS, every INTERVAL seconds, each with a 1 s
timeout. One JSON line per request on stdout:
{"t": CLOCK_MONOTONIC, "ok": bool, "status": int, "node": the proxy's
address as the backend saw it, "error": text}.

    client-loop.py URL SECONDS INTERVAL
"""
import http.client
import json
import sys
import time
import urllib.parse


def one(url):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=1.0)
    try:
        conn.request("GET", u.path or "/")
        resp = conn.getresponse()
        body = resp.read()
        node = None
        if resp.status == 200:
            node = json.loads(body).get("remote_addr")
        return {"ok": resp.status == 200, "status": resp.status, "node": node}
    except (OSError, http.client.HTTPException, ValueError) as e:
        return {"ok": False, "status": 0, "error": f"{type(e).__name__}: {e}"}
    finally:
        conn.close()


def main(argv):
    url, seconds, interval = argv[1], float(argv[2]), float(argv[3])
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        result = one(url)
        result["t"] = t
        print(json.dumps(result), flush=True)
        left = interval - (time.monotonic() - t)
        if left > 0:
            time.sleep(left)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
