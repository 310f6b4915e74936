#!/usr/bin/env python3
"""A fault-injecting HTTP source, object store and webhook sink for tests.

Standard library only. Prints "PORT <n>" on stdout once it listens on
127.0.0.1 (port 0 picks a free one), then serves until killed.

  GET  /src/<name>?size=N    N bytes: "<name>\\n" repeated, cut at N
  GET  /redirect/<n>         302 to /redirect/<n-1>; /redirect/0 answers 200
  GET  /redirect-file        302 to file:///etc/hostname
  PUT  /store/<key>          stores the body (only when it arrived whole)
  HEAD /store/<key>          200 with x-planrun-sha256 / x-amz-meta-sha256, or 404
  GET  /store/<key>          the stored body
  DELETE /store/<key>        removes it
  POST /hook                 records the JSON body
  GET  /_stats               {"objects": {key: {sha256, size, puts, meta}}, "hooks": [...],
                              "requests": {method: n}, "faults": {kind: n},
                              "sigv4": {"checked": n, "bad": [reasons]},
                              "auth": [distinct Authorization headers of /store requests]}
                             meta: the x-meta* headers of the object's last PUT (names in
                             lower case)

Faults hit GET /src, PUT /store and POST /hook at the given rates (0..1)
(PUT and POST take only --fail and --throttle, answered before storing),
drawn from a seeded generator: --fail (500), --throttle (429 with
Retry-After: 1), --stall (headers, half the body, then silence for --stall-s),
--truncate (a Content-Length longer than the body, then close), --trickle
(the body in small slow pieces, complete). --delay-ms delays every answer.
--sigv4 ACCESS:SECRET:REGION checks every /store request's AWS SigV4
signature by recomputing it (path-style, service s3); --self-test checks that
recomputation against AWS's published example and exits.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import random
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
OBJECTS = {}  # key -> {"body": bytes, "sha256": str, "puts": int}
HOOKS = []
REQUESTS = {}
FAULTS = {}
SIGV4 = {"checked": 0, "bad": []}
AUTH = []


def count(table, name):
    with LOCK:
        table[name] = table.get(name, 0) + 1


def source_body(name, size):
    unit = (name + "\n").encode()
    return (unit * (size // len(unit) + 1))[:size]


def sigv4_problem(handler, access, secret, region, body_sha):
    """None when the request's SigV4 signature is right, else why not."""
    auth = handler.headers.get("Authorization", "")
    prefix = "AWS4-HMAC-SHA256 "
    if not auth.startswith(prefix):
        return "no AWS4-HMAC-SHA256 Authorization header"
    parts = dict(p.strip().split("=", 1) for p in auth[len(prefix):].split(","))
    scope = parts.get("Credential", "").split("/")
    if len(scope) != 5 or scope[0] != access or scope[2] != region or scope[3] != "s3":
        return "bad credential scope " + parts.get("Credential", "")
    amz_date = handler.headers.get("x-amz-date", "")
    if not amz_date.startswith(scope[1]):
        return "x-amz-date does not match the scope date"
    signed = parts.get("SignedHeaders", "").split(";")
    path, _, query = handler.path.partition("?")
    canonical_query = "&".join(sorted(q for q in query.split("&") if q))
    canonical_headers = "".join(
        h + ":" + " ".join(handler.headers.get(h, "").split()) + "\n" for h in signed)
    payload = handler.headers.get("x-amz-content-sha256", body_sha)
    canonical = "\n".join([handler.command, path, canonical_query, canonical_headers,
                           ";".join(signed), payload])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join(scope[1:]),
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (scope[1], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if want != parts.get("Signature"):
        return "signature mismatch"
    return None


def sigv4_self_test():
    """Checks sigv4_problem against AWS's published S3 example (GET /test.txt
    with a Range header, "Signature Calculations for the Authorization Header",
    S3 API reference); True when it accepts that signature and rejects a changed one."""
    class Fake:
        command = "GET"
        path = "/test.txt"
        headers = {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1"
                             "/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"
                             "x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba"
                             "48dd91039c6036bdb41",
            "host": "examplebucket.s3.amazonaws.com",
            "range": "bytes=0-9",
            "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(),
            "x-amz-date": "20130524T000000Z",
        }
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    good = sigv4_problem(Fake, "AKIAIOSFODNN7EXAMPLE", secret, "us-east-1", "") is None
    Fake.headers = dict(Fake.headers, range="bytes=0-10")
    bad = sigv4_problem(Fake, "AKIAIOSFODNN7EXAMPLE", secret, "us-east-1", "")
    return good and bad == "signature mismatch"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stalls
    opts = None
    rng = random.Random(1)

    def log_message(self, *args):
        pass

    def fault(self):
        o = self.opts
        with LOCK:
            x = self.rng.random()
        for kind in ("fail", "throttle", "stall", "truncate", "trickle"):
            rate = getattr(o, kind)
            if x < rate:
                count(FAULTS, kind)
                return kind
            x -= rate
        return None

    def send(self, status, body=b"", headers=None, fault=None):
        if self.opts.delay_ms:
            time.sleep(self.opts.delay_ms / 1000)
        if fault == "fail":
            status, body, headers = 500, b"injected failure\n", {}
        elif fault == "throttle":
            status, body, headers = 429, b"slow down\n", {"Retry-After": "1"}
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if fault in ("stall", "truncate"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "stall":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(self.opts.stall_s)
        elif fault == "truncate":
            self.wfile.write(body[: len(body) // 2])
        elif fault == "trickle":
            step = max(1, len(body) // 8)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.02)
        else:
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        return data if len(data) == n else None

    def do_GET(self):
        count(REQUESTS, "GET")
        url = urllib.parse.urlparse(self.path)
        if url.path == "/_stats":
            with LOCK:
                objects = {k: {"sha256": v["sha256"], "size": len(v["body"]), "puts": v["puts"],
                               "meta": v.get("meta", {})}
                           for k, v in OBJECTS.items()}
                stats = {"objects": objects, "hooks": list(HOOKS), "requests": dict(REQUESTS),
                         "faults": dict(FAULTS), "sigv4": dict(SIGV4), "auth": list(AUTH)}
            return self.send(200, json.dumps(stats).encode(), {"Content-Type": "application/json"})
        if url.path == "/redirect-file":
            return self.send(302, b"", {"Location": "file:///etc/hostname"})
        if url.path.startswith("/redirect/"):
            n = int(url.path[len("/redirect/"):])
            if n == 0:
                return self.send(200, b"arrived\n")
            return self.send(302, b"", {"Location": "/redirect/%d" % (n - 1)})
        if url.path.startswith("/src/"):
            name = url.path[len("/src/"):]
            size = int(urllib.parse.parse_qs(url.query).get("size", ["1000"])[0])
            if name.startswith("missing"):
                return self.send(404, b"no such file\n")
            return self.send(200, source_body(name, size), {"Content-Type": "image/png"},
                             self.fault())
        if url.path.startswith("/store/"):
            with LOCK:
                obj = OBJECTS.get(url.path[len("/store/"):])
            if obj is None:
                return self.send(404)
            return self.send(200, obj["body"], {"x-planrun-sha256": obj["sha256"]})
        return self.send(404)

    def do_HEAD(self):
        count(REQUESTS, "HEAD")
        key = urllib.parse.urlparse(self.path).path[len("/store/"):]
        problem = self.check_sigv4(hashlib.sha256(b"").hexdigest())
        if problem:
            return self.send(403, problem.encode())
        with LOCK:
            obj = OBJECTS.get(key)
        if obj is None:
            return self.send(404)
        self.send_response(200)
        self.send_header("Content-Length", str(len(obj["body"])))
        self.send_header("x-planrun-sha256", obj["sha256"])
        self.send_header("x-amz-meta-sha256", obj["sha256"])
        self.end_headers()

    def check_sigv4(self, body_sha):
        """Records the Authorization header (without --sigv4), or checks its signature."""
        auth = self.headers.get("Authorization")
        if not self.opts.sigv4:
            with LOCK:
                if auth and auth not in AUTH:
                    AUTH.append(auth)
            return None
        access, secret, region = self.opts.sigv4.split(":")
        problem = sigv4_problem(self, access, secret, region, body_sha)
        with LOCK:
            SIGV4["checked"] += 1
            if problem:
                SIGV4["bad"].append(problem)
        return problem

    def do_PUT(self):
        count(REQUESTS, "PUT")
        key = urllib.parse.urlparse(self.path).path[len("/store/"):]
        body = self.read_body()
        if body is None:
            self.close_connection = True
            return
        problem = self.check_sigv4(hashlib.sha256(body).hexdigest())
        if problem:
            return self.send(403, problem.encode())
        fault = self.fault()
        if fault in ("fail", "throttle"):  # a PUT fails before it stores, never after
            return self.send(201, b"", None, fault)
        with LOCK:
            obj = OBJECTS.setdefault(key, {"puts": 0})
            obj["body"] = body
            obj["sha256"] = hashlib.sha256(body).hexdigest()
            obj["puts"] += 1
            obj["meta"] = {k.lower(): v for k, v in self.headers.items()
                           if k.lower().startswith("x-meta")}
        self.send(201, b"stored\n")

    def do_DELETE(self):
        count(REQUESTS, "DELETE")
        key = urllib.parse.urlparse(self.path).path[len("/store/"):]
        with LOCK:
            found = OBJECTS.pop(key, None) is not None
        self.send(204 if found else 404)

    def do_POST(self):
        count(REQUESTS, "POST")
        body = self.read_body()
        if body is None:
            self.close_connection = True
            return
        fault = self.fault()
        if fault in ("fail", "throttle"):
            return self.send(200, b"", None, fault)
        with LOCK:
            HOOKS.append(json.loads(body.decode()))
        self.send(200, b"ok\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections under 64 clients

    def handle_error(self, request, client_address):
        pass  # clients that give up on a stall or a trickle are expected


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--stall-s", type=float, default=30)
    p.add_argument("--sigv4", default="")
    p.add_argument("--self-test", action="store_true",
                   help="check the SigV4 verifier against AWS's published example and exit")
    for kind in ("fail", "throttle", "stall", "truncate", "trickle"):
        p.add_argument("--" + kind, type=float, default=0.0)
    opts = p.parse_args()
    if opts.self_test:
        ok = sigv4_self_test()
        print("sigv4 self-test", "ok" if ok else "FAILED")
        return 0 if ok else 1
    Handler.opts = opts
    Handler.rng = random.Random(opts.seed)
    server = Server(("127.0.0.1", opts.port), Handler)
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
