#!/usr/bin/python3
"""tests/integration/netns_api_abuse.py: the misbehaving clients of
netns_api_abuse.sh, run inside its namespace.  Each mode prints one JSON
object on its last line for the script to check; loads are bounded in
count and time.

  slowhead URL CAFILE N SECONDS
      N TLS connections that send a request head one byte a second, and
      2 TCP connections that never start TLS; when each was closed.
  percap URL CAFILE PASSWORD N
      N TLS connections from 127.0.0.2, one after the other, held open:
      how many the server closed at once; meanwhile a request from
      127.0.0.1; after they close, one from 127.0.0.2 again.
  fdhold URL CAFILE PASSWORD PID N SECONDS
      N idle TCP connections from 127.0.0.10-19, held SECONDS: the CPU
      time of PID's main (control) thread meanwhile; then, once they are
      closed, how long until a request is answered.
  flood URL CAFILE SOURCES TRIES
      TRIES wrong passwords from each of SOURCES addresses 127.0.1.x,
      all sources at once: the statuses.
"""
import base64
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse


def target(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 443


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    return ctx


def get(url, cafile, password, source, timeout=5.0):
    """One GET /api/status/system: (status, seconds)."""
    host, port = target(url)
    t0 = time.monotonic()
    c = http.client.HTTPSConnection(host, port, context=context(cafile),
                                    timeout=timeout,
                                    source_address=(source, 0))
    auth = base64.b64encode(("api:" + password).encode()).decode()
    try:
        c.request("GET", "/api/status/system",
                  headers={"Authorization": "Basic " + auth})
        r = c.getresponse()
        r.read()
        return r.status, time.monotonic() - t0
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, time.monotonic() - t0
    finally:
        c.close()


def is_closed(s):
    """Has the server ended this (non-blocking) socket?"""
    try:
        return s.recv(1) == b""
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (OSError, ssl.SSLError):
        return True


def slowhead(url, cafile, n, seconds):
    host, port = target(url)
    ctx = context(cafile)
    head = (b"GET /api/status/system HTTP/1.1\r\nHost: hexgate\r\n"
            b"X-Slow: " + b"a" * 200 + b"\r\n\r\n")
    t0 = time.monotonic()
    conns = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection((host, port), 5))
        s.setblocking(False)
        conns.append({"s": s, "tls": True, "closed": None})
    for _ in range(2):
        s = socket.create_connection((host, port), 5)
        s.setblocking(False)
        conns.append({"s": s, "tls": False, "closed": None})
    for i in range(seconds):
        for c in conns:
            if c["closed"] is not None:
                continue
            if is_closed(c["s"]):
                c["closed"] = round(time.monotonic() - t0, 1)
            elif c["tls"]:
                try:
                    c["s"].send(head[i:i + 1])
                except (ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except (OSError, ssl.SSLError):
                    c["closed"] = round(time.monotonic() - t0, 1)
        time.sleep(1)
    for c in conns:
        c["s"].close()
    return {"tls": [c["closed"] for c in conns if c["tls"]],
            "tcp": [c["closed"] for c in conns if not c["tls"]]}


def percap(url, cafile, password, n):
    host, port = target(url)
    ctx = context(cafile)
    held, refused = [], 0
    for _ in range(n):
        s = socket.create_connection((host, port), 5,
                                     source_address=("127.0.0.2", 0))
        try:
            t = ctx.wrap_socket(s)
        except (OSError, ssl.SSLError):
            refused += 1
            s.close()
            continue
        t.setblocking(False)
        held.append(t)
    time.sleep(1)
    other = get(url, cafile, password, "127.0.0.1")
    still = sum(1 for t in held if not is_closed(t))
    for t in held:
        t.close()
    time.sleep(0.5)
    again = get(url, cafile, password, "127.0.0.2")
    return {"held": len(held), "refused": refused, "still_open": still,
            "other_source": other[0], "other_s": round(other[1], 2),
            "same_source_after": again[0]}


def cpu_s(pid):
    """User + system time of pid's main thread, in seconds."""
    with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fdhold(url, cafile, password, pid, n, seconds):
    host, port = target(url)
    conns, failed = [], 0
    for i in range(n):
        try:
            conns.append(socket.create_connection(
                (host, port), 2,
                source_address=("127.0.0.%d" % (10 + i % 10), 0)))
        except OSError:
            failed += 1
    time.sleep(1)		# the accepts of the burst
    c0, t0 = cpu_s(pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_s(pid), time.monotonic()
    for s in conns:
        s.close()
    t2 = time.monotonic()
    status = None
    while time.monotonic() - t2 < 10:
        status, _ = get(url, cafile, password, "127.0.0.1", 2)
        if status == 200:
            break
        time.sleep(0.2)
    return {"connected": len(conns), "failed": failed,
            "cpu_s": round(c1 - c0, 2), "wall_s": round(t1 - t0, 2),
            "after": status, "after_s": round(time.monotonic() - t2, 2)}


def flood(url, cafile, sources, tries):
    statuses = {}
    lock = threading.Lock()

    def one(src):
        for i in range(tries):
            st, _ = get(url, cafile, "wrong-%d" % i, src, 30)
            with lock:
                statuses[str(st)] = statuses.get(str(st), 0) + 1

    threads = [threading.Thread(target=one, args=("127.0.1.%d" % (i + 1),))
               for i in range(sources)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"statuses": statuses, "seconds": round(time.monotonic() - t0, 1)}


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "slowhead":
        out = slowhead(args[0], args[1], int(args[2]), int(args[3]))
    elif mode == "percap":
        out = percap(args[0], args[1], args[2], int(args[3]))
    elif mode == "fdhold":
        out = fdhold(args[0], args[1], args[2], int(args[3]), int(args[4]),
                     int(args[5]))
    elif mode == "flood":
        out = flood(args[0], args[1], int(args[2]), int(args[3]))
    else:
        sys.exit("unknown mode " + mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
