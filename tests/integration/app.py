# SPDX-License-Identifier: MIT
"""A tiny WSGI backend for lbd's integration tests, benchmarks and the demo.

Run by Debian's gunicorn (/usr/bin/gunicorn, on /usr/bin/python3):

    LBD_BACKEND_NAME=b1 gunicorn --chdir tests/integration -b 127.0.0.1:8001 app:application

Every path answers "backend NAME\\n" (NAME from $LBD_BACKEND_NAME) with an
X-Backend: NAME header, except:

    /echo           the request body, as sent (any method; chunked bodies too)
    /headers        the request as JSON: method, path, query, remote_addr and
                    headers (canonical names, e.g. "X-Forwarded-For")
    /slow?ms=N      waits N milliseconds, then answers as "/"
    /status/N       answers with status N (body "backend NAME\\n" where allowed)
    /bytes?n=N      N bytes of "x" (for throughput tests)
    /stream?n=N     N parts "part I\\n" without Content-Length: Gunicorn sends
                    them chunked to an HTTP/1.1 request (and closes to end an
                    HTTP/1.0 one)
    /counted        answers as "/", and counts the request (for health checks)
    /count          {"count": N, "headers": {...}}: how many /counted requests
                    this process has had, and the last one's headers

$LBD_BACKEND_DELAY_MS, if set, delays every answer by that many milliseconds
(a backend slower than its peers, for the balancing tests).

Standard library only.
"""
import json
import os
import threading
import time
from http import HTTPStatus
from urllib.parse import parse_qs

NAME = os.environ.get("LBD_BACKEND_NAME", "unnamed")
BODY = f"backend {NAME}\n".encode()
DELAY = int(os.environ.get("LBD_BACKEND_DELAY_MS", "0") or 0) / 1000.0
_counted = {"count": 0, "headers": {}}
_counted_lock = threading.Lock()


def _status_line(code):
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _read_body(environ):
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    # No length: chunked (gunicorn decodes it) or no body at all.
    return stream.read()


def _headers(environ):
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        out["-".join(p.capitalize() for p in name.split("_"))] = value
    return out


def _int_param(query, name, default):
    try:
        return int(query.get(name, [default])[0])
    except ValueError:
        return default


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    status = 200
    ctype = "text/plain"
    body = BODY
    if DELAY > 0:
        time.sleep(DELAY)

    if path == "/echo":
        body = _read_body(environ)
        ctype = environ.get("CONTENT_TYPE") or "application/octet-stream"
    elif path == "/headers":
        _read_body(environ)
        body = json.dumps({
            "backend": NAME,
            "method": environ.get("REQUEST_METHOD"),
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "headers": _headers(environ),
        }, sort_keys=True).encode() + b"\n"
        ctype = "application/json"
    elif path == "/slow":
        time.sleep(max(0, _int_param(query, "ms", 100)) / 1000.0)
    elif path.startswith("/status/"):
        try:
            status = int(path[len("/status/"):])
        except ValueError:
            status = 400
        if not 100 <= status <= 599:
            status = 400
        if status in (204, 304) or status < 200:
            body = b""
    elif path == "/counted":
        with _counted_lock:
            _counted["count"] += 1
            _counted["headers"] = _headers(environ)
    elif path == "/count":
        with _counted_lock:
            body = json.dumps(_counted, sort_keys=True).encode() + b"\n"
        ctype = "application/json"
    elif path == "/bytes":
        body = b"x" * max(0, _int_param(query, "n", 1024))
        ctype = "application/octet-stream"

    elif path == "/stream":
        n = max(0, _int_param(query, "n", 3))
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Backend", NAME)])
        return [f"part {i}\n".encode() for i in range(n)]

    headers = [("Content-Type", ctype), ("X-Backend", NAME)]
    if status not in (204, 304) and status >= 200:
        headers.append(("Content-Length", str(len(body))))
    start_response(_status_line(status), headers)
    if environ.get("REQUEST_METHOD") == "HEAD":
        return [b""]
    return [body]
