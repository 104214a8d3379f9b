#!/usr/bin/env python3
"""The token issuer for the token-auth registry test -- the test's only fake, since Debian ships no
Docker token server. `token_issuer.py PORT KEY.pem CERT.pem ISSUER SERVICE USER PASSWORD COUNT_FILE
TLS_CERT TLS_KEY` (served over HTTPS: imagegate refuses a plain-HTTP realm).

GET /token?service=S&scope=repository:NAME:pull with Basic USER:PASSWORD answers {"token": JWT} (RS256,
the certificate in the x5c header, which the registry checks against its rootcertbundle); wrong or
missing credentials get 401. Each request appends a line to COUNT_FILE so the test can count them.

With an 11th argument REFRESH_TOKEN, POST /token also serves distribution's OAuth2 form
(docs/spec/auth/oauth.md): grant_type=refresh_token&refresh_token=REFRESH_TOKEN&service=S&scope=...&client_id=C
answers {"access_token": JWT, ...}; a wrong refresh token gets 401. Logged as "POST grant_type=... service=...
scope=... client_id=..." (never the token itself).
"""
import base64, json, ssl, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, key_file, cert_file, issuer, service, user, password, count_file, tls_cert, tls_key = sys.argv[1:11]
refresh_token = sys.argv[11] if len(sys.argv) > 11 else None
key = serialization.load_pem_private_key(open(key_file, "rb").read(), None)
cert = x509.load_pem_x509_certificate(open(cert_file, "rb").read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims):
    header = {"alg": "RS256", "typ": "JWT", "x5c": [x5c]}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def refuse(self):
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        with open(count_file, "a") as f:
            f.write("POST " + " ".join("%s=%s" % (k, form.get(k, [""])[0])
                                       for k in ("grant_type", "service", "scope", "client_id")) + "\n")
        if refresh_token is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [refresh_token]:
            return self.refuse()
        self.issue(form, "access_token")

    def do_GET(self):
        with open(count_file, "a") as f:
            f.write(self.path + "\n")
        q = parse_qs(urlparse(self.path).query)
        expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.refuse()
        self.issue(q, "token")

    def issue(self, q, field):
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] == "repository":
                access.append({"type": "repository", "name": parts[1], "actions": parts[2].split(",")})
        now = int(time.time())
        token = jwt({"iss": issuer, "sub": user, "aud": q.get("service", [service])[0], "exp": now + 300,
                     "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access})
        body = json.dumps({field: token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(tls_cert, tls_key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
server.serve_forever()
