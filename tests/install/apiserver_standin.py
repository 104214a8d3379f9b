#!/usr/bin/python3
"""A STAND-IN for the Kubernetes API server, for the chart's pre-delete hook only (tests/e2e/chart_test.sh).
No kube-apiserver runs on these machines, so the hook's script (the real one, from the rendered Job) is run
against this: HTTPS on 127.0.0.1, DELETE /apis/admissionregistration.k8s.io/v1/{validating,mutating}
webhookconfigurations/NAME answered as the API server answers it (200 with a Status when the object exists,
then 404; 401 without the right bearer token; 405 for other methods). It proves what the script sends and
how it reacts to the answers, not the RBAC (check_rules.py checks the ClusterRole against the configurations).

Usage: apiserver_standin.py PORT CERT KEY TOKEN LOG OBJECT...   (OBJECT: validatingwebhookconfigurations/NAME)
Every request is appended to LOG as "METHOD PATH AUTH-OK|AUTH-BAD -> CODE".
"""
import http.server
import json
import ssl
import sys

PREFIX = "/apis/admissionregistration.k8s.io/v1/"


def main():
    port, cert, key, token, log = sys.argv[1:6]
    existing = set(sys.argv[6:])

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def record(self, auth_ok, code):
            with open(log, "a") as f:
                f.write("%s %s %s -> %d\n" % (self.command, self.path, "AUTH-OK" if auth_ok else "AUTH-BAD", code))

        def do_DELETE(self):  # noqa: N802
            auth_ok = self.headers.get("Authorization") == "Bearer " + token
            obj = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else None
            if not auth_ok:
                code, body = 401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401}
            elif obj in existing:
                existing.discard(obj)
                code, body = 200, {"kind": "Status", "status": "Success", "details": {"name": obj.split("/")[-1]}}
            else:
                code, body = 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}
            self.record(auth_ok, code)
            self.answer(code, body)

        def do_GET(self):  # noqa: N802
            self.record(True, 405)
            self.answer(405, {"kind": "Status", "status": "Failure", "code": 405})

        do_POST = do_PUT = do_PATCH = do_GET

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
