#!/usr/bin/env python3
"""A minimal scripted registry for faults a real registry cannot produce (the registry fault test's fake):
`fault_server.py PORT CERT KEY LOG`. Serves HTTPS; the repository name picks the behaviour:

  /v2/ok/manifests/*        a valid manifest with a correct Docker-Content-Digest
  /v2/nodigest/manifests/*  a valid manifest without Docker-Content-Digest (HEAD too)
  /v2/mismatch/manifests/*  HEAD without the header; GET with a header that does not match the body
  /v2/garbage/manifests/*   200 with a body that is not a manifest
  /v2/hang/manifests/*      headers, half the body, then silence
  /v2/drip/manifests/*      headers, then the body at 1 byte a second (no step ever times out)
  /v2/ratelimit/manifests/* 429 with Retry-After: 1, then ok (ratelimit3: Retry-After: 3, then ok)
  /v2/ratelimit20/manifests/* 429 with Retry-After: 20, always
  /v2/redirect/manifests/*  302 to itself, forever
  /v2/tohttp/manifests/*    302 to a plain-HTTP URL
  /v2/huge/manifests/*      Content-Length of 5 MiB
  /v2/error/manifests/*     503
  /v2/lie/...               a registry lying about digests: HEAD advertises Docker-Content-Digest A (the
                            digest of another manifest, the "signed" one), GET serves manifest B with header A
  /v2/lie512/...            GET serves the manifest with a sha512 Docker-Content-Digest that is not its digest
  /v2/to-PORT[-REPO]/REST   307 to https://127.0.0.1:PORT/v2/REPO/REST (REPO defaults to ok); to-meta-...:
                            to https://169.254.169.254/... (a metadata address)
  /v2/realm-PORT[-to-PORT2]/...  401 with a Bearer challenge whose realm is https://127.0.0.1:PORT/token unless
                            the request carries "Bearer fault-token"; then ok (or a 307 to PORT2's ok repository)
  /v2/realmvia-PORT/...     401 with a Bearer challenge whose realm is this server's /token-to-PORT (same origin),
                            which answers 307 to https://127.0.0.1:PORT/token (a realm moving off the origin)
  /v2/scoped-NAME/...       401 with a Bearer challenge (realm: this server's /scoped-token) unless the request
                            carries the token of scope repository:scoped-NAME:pull; then ok. Logged with the
                            whole Authorization value, so a test sees which scope's token each request carried
  /scoped-token             {"token": "scoped:SCOPE", "expires_in": 10} for the scope asked (a token per scope)
  /token                    {"token": "fault-token"} (the realm of realm-PORT when PORT is this server; GET or POST)
  /v2/slow/*/manifests/*    ok after 50 ms (slow/app1, slow/app2, ...: distinct images for the fan-out test)
  /v2/slower/*/manifests/*  ok after 3 s
  /_stats                   {"requests": N, "connections": N}: the most requests (other than /_stats) and
                            TLS connections in flight at once so far -- what a real registry cannot report
  /_reset                   sets both maxima to what is in flight now
  /v2/gains/referrers/*     404 (no referrers API, distribution's "404 page not found") until /_referrers_on;
                            then 200 with an empty OCI index: a registry upgraded to one with the API
  /v2/noname/referrers/*    404 NAME_UNKNOWN (the repository is missing, not the API)
  /_referrers_on            turns the referrers API of `gains` on (not logged)
Memory bombs (tests/e2e/memory_bounds_test.sh; issue 13): documents a real registry would store but that
docker-registry's own validation refuses to accept on push, all under the 4 MiB manifest limit, each
served with its correct Docker-Content-Digest (HEAD without it, so a resolution GETs the body):
  /v2/nodebomb/manifests/*  `[[],[],...]`: ~1.4M JSON values
  /v2/deepbomb/manifests/*  `[[[[...`: 4 MiB of nesting
  /v2/sigbomb/...           the image is `ok`'s manifest; its `.sig` a valid 3.9 MB signature manifest
                            whose layer carries 300,000 annotations (far over any value limit)
  /v2/sigmax/...            the same with 42,000 annotations of 80 bytes: a 3.9 MB `.sig` manifest
                            just under the value limit, to measure the most a legal one costs
A real registry serves the bytes its digests name and redirects only where it is configured to; these are
the attacks imagegate must survive. Every request is appended to LOG as "METHOD PATH AUTH", AUTH being the
Authorization scheme sent ("Basic", "Bearer") or "-".

`fault_server.py listener KIND PORT`: not a registry but the raw-socket faults the unreachable-registry test
needs, on 127.0.0.1:PORT: `reset` accepts and resets each connection (RST), `silent` accepts and never
answers, `plain` answers plain HTTP (404) where TLS is expected.
"""
import hashlib, json, re, socket, ssl, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def raw_listener(kind, port):
    if kind == "plain":
        class Plain(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
            do_HEAD = do_GET

            def log_message(self, *args):
                pass
        ThreadingHTTPServer(("127.0.0.1", port), Plain).serve_forever()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    held = []
    while True:
        conn, _ = listener.accept()
        if kind == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # linger 0: the close sends RST
        else:
            held.append(conn)  # silent: accepted, never read, never answered


if sys.argv[1] == "listener":
    raw_listener(sys.argv[2], int(sys.argv[3]))
    sys.exit(0)

port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + "a" * 64, "size": 2}, "layers": []}).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
SIGNED = MANIFEST.replace(b"a" * 64, b"b" * 64)  # the manifest a lying registry advertises on HEAD
SIGNED_DIGEST = "sha256:" + hashlib.sha256(SIGNED).hexdigest()
lock = threading.Lock()
seen429 = set()
# In flight now and the most at once: requests being answered and TLS connections open.
stats = {"requests": 0, "connections": 0, "max_requests": 0, "max_connections": 0}


def count(what, delta):
    with lock:
        stats[what] += delta
        stats["max_" + what] = max(stats["max_" + what], stats[what])


def sig_manifest(annotations):
    layer = {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
             "digest": "sha256:" + "c" * 64, "size": 200, "annotations": annotations}
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + "a" * 64, "size": 2}, "layers": [layer]},
                      separators=(",", ":")).encode()


LIMIT = 4 * 1024 * 1024 - 64
BOMBS = {  # repository -> (the body its tag serves, the body of its `.sig` tag or None)
    "nodebomb": (b"[" + b"[]," * ((LIMIT - 3) // 3) + b"[]]", None),
    "deepbomb": (b"[" * LIMIT, None),
    "sigbomb": (MANIFEST, sig_manifest({"a%d" % i: "" for i in range(300000)})),
    "sigmax": (MANIFEST, sig_manifest({"a%05d" % i: "v" * 80 for i in range(42000)})),
}


def bomb(command, path, repo):
    """(status, body, headers) for a memory-bomb repository (see the module's docstring)."""
    image, sig = BOMBS[repo]
    ref = path.rsplit("/", 1)[-1]
    body = sig if ref.endswith(".sig") else image if ref in ("v1", DIGEST) or sig is None else None
    if body is None or "/manifests/" not in path:
        return 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', {}
    headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
    if command != "HEAD":
        headers["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
    return 200, body, headers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        count("connections", 1)

    def finish(self):
        try:
            super().finish()
        finally:
            count("connections", -1)

    def send(self, status, body=b"", headers=None, length=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        if self.path == "/_referrers_on":
            with lock:
                stats["referrers"] = True
            return self.send(200, b"{}")
        if self.path in ("/_stats", "/_reset"):
            with lock:
                if self.path == "/_reset":
                    stats["max_requests"], stats["max_connections"] = stats["requests"], stats["connections"]
                body = json.dumps({"requests": stats["max_requests"], "connections": stats["max_connections"]})
            return self.send(200, body.encode(), {"Content-Type": "application/json"})
        count("requests", 1)
        try:
            return self.answer()
        finally:
            count("requests", -1)

    def answer(self):
        if self.command == "POST":  # read the form (an OAuth2 refresh token) so the connection stays usable
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        with lock, open(log, "a") as f:
            shown = auth if auth.startswith("Bearer scoped:") else auth.split(" ")[0] if auth else "-"
            f.write("%s %s %s\n" % (self.command, self.path, shown))
        parts = self.path.split("/")
        repo = parts[2] if len(parts) > 2 else ""
        rest = "/".join(parts[3:])
        ctype = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        if self.path == "/v2/":
            return self.send(200, b"{}")
        if self.path.startswith("/token-to-"):
            to = self.path[len("/token-to-"):].split("?")[0]
            return self.send(307, b"", {"Location": "https://127.0.0.1:%s/token" % to})
        if self.path.startswith("/scoped-token"):
            scope = parse_qs(urlparse(self.path).query).get("scope", [""])[0]
            body = json.dumps({"token": "scoped:" + scope, "expires_in": 10}).encode()
            return self.send(200, body, {"Content-Type": "application/json"})
        if repo.startswith("scoped-"):
            if auth != "Bearer scoped:repository:%s:pull" % repo:
                challenge = 'Bearer realm="https://127.0.0.1:%d/scoped-token",service="fault"' % port
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": DIGEST}))
        if self.path.startswith("/token"):
            return self.send(200, b'{"token": "fault-token", "expires_in": 60}', {"Content-Type": "application/json"})
        if repo == "lie":
            if self.command == "HEAD":
                return self.send(200, SIGNED, dict(ctype, **{"Docker-Content-Digest": SIGNED_DIGEST}))
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": SIGNED_DIGEST}))
        if repo == "lie512":
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": "sha512:" + "c" * 128}))
        m = re.fullmatch(r"to-(\d+|meta)(?:-(.+))?", repo)
        if m:
            host = "169.254.169.254" if m.group(1) == "meta" else "127.0.0.1:" + m.group(1)
            return self.send(307, b"", {"Location": "https://%s/v2/%s/%s" % (host, m.group(2) or "ok", rest)})
        m = re.fullmatch(r"realmvia-(\d+)", repo)
        if m and auth != "Bearer fault-token":
            challenge = 'Bearer realm="https://127.0.0.1:%d/token-to-%s",service="fault"' % (port, m.group(1))
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
        if m:
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": DIGEST}))
        m = re.fullmatch(r"realm-(\d+)(?:-to-(\d+))?", repo)
        if m:
            if auth != "Bearer fault-token":
                challenge = 'Bearer realm="https://127.0.0.1:%s/token",service="fault"' % m.group(1)
                return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
            if m.group(2):
                return self.send(307, b"", {"Location": "https://127.0.0.1:%s/v2/ok/%s" % (m.group(2), rest)})
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": DIGEST}))
        if repo == "gains" and rest.startswith("referrers/"):
            if not stats.get("referrers"):
                return self.send(404, b"404 page not found\n", {"Content-Type": "text/plain; charset=utf-8"})
            index = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}'
            return self.send(200, index, {"Content-Type": "application/vnd.oci.image.index.v1+json"})
        if repo == "noname" and rest.startswith("referrers/"):
            return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}',
                             {"Content-Type": "application/json"})
        if repo == "ok":
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": DIGEST}))
        if repo == "nodigest":
            return self.send(200, MANIFEST, ctype)
        if repo == "mismatch":
            if self.command == "HEAD":
                return self.send(200, MANIFEST, ctype)
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": "sha256:" + "b" * 64}))
        if repo == "garbage":
            return self.send(200, b"<html>not a manifest</html>", {"Content-Type": "text/html"})
        if repo == "hang":
            if self.command == "HEAD":
                return self.send(200, b"", ctype)
            self.send_response(200)
            self.send_header("Content-Length", str(len(MANIFEST)))
            self.end_headers()
            self.wfile.write(MANIFEST[: len(MANIFEST) // 2])
            self.wfile.flush()
            time.sleep(30)
            return
        if repo == "drip":
            if self.command == "HEAD":
                return self.send(200, b"", ctype)
            self.send_response(200)
            self.send_header("Content-Length", str(len(MANIFEST)))
            self.end_headers()
            for i in range(len(MANIFEST)):
                self.wfile.write(MANIFEST[i:i + 1])
                self.wfile.flush()
                time.sleep(1)
            return
        if repo in ("ratelimit", "ratelimit3"):
            with lock:
                first = self.path not in seen429
                seen429.add(self.path)
            if first:
                wait = "1" if repo == "ratelimit" else "3"
                return self.send(429, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}', {"Retry-After": wait})
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": DIGEST}))
        if repo == "ratelimit20":
            return self.send(429, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}', {"Retry-After": "20"})
        if repo == "redirect":
            return self.send(302, b"", {"Location": self.path})
        if repo == "tohttp":
            return self.send(302, b"", {"Location": "http://127.0.0.1:%d%s" % (port, self.path)})
        if repo == "huge":
            if self.command == "HEAD":
                return self.send(200, b"", ctype)
            return self.send(200, b"", ctype, length=5 * 1024 * 1024)
        if repo == "error":
            return self.send(503, b"unavailable")
        if repo in BOMBS:
            return self.send(*bomb(self.command, self.path, repo))
        if repo in ("slow", "slower"):
            time.sleep(0.05 if repo == "slow" else 3)
            return self.send(200, MANIFEST, dict(ctype, **{"Docker-Content-Digest": DIGEST}))
        return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')

    do_GET = handle_any
    do_HEAD = handle_any
    do_POST = handle_any


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
server.serve_forever()
