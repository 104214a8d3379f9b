// https_request: one blocking HTTPS/1.1 request, for the CLI's clients of the verdict API (`imagegate
// verdict`, `imagegate inventory`: webhook/cli/verdict_command.cc). A fresh connection per call; TLS as the
// server speaks it (verifier/registry/tls_policy.h); the certificate is verified against `cacert` or the
// system store, with the host name (SNI set); one deadline covers connect, handshake, write and read.
//
// Blocking, on the caller's own io_context: for a CLI command's thread, never an io thread of a server.
// (The server's outgoing requests are the registry client's, verifier/registry/oci_registry_client.h:
// coroutines with the registry auth flow, which the verdict API does not speak.)
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/result.h"

namespace imagegate::webhook {

struct HttpsRequest {
  std::string method = "GET";  // "GET", "PUT", "DELETE", ...
  std::string server;          // https://HOST[:PORT] or https://[IPv6][:PORT]; trailing '/' ignored
  std::string target;          // path and query
  std::string bearer_token;    // sent as `Authorization: Bearer TOKEN`
  std::string content_type;    // empty: no Content-Type
  std::string body;
  std::string cacert;  // PEM CA bundle; empty: the system store
  std::chrono::seconds timeout{30};
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

struct HttpsReply {
  unsigned status = 0;
  std::string body;
};

// The server's answer, whatever its status; an Error (naming what failed) when there is none: a bad
// server URL, an unreadable CA bundle, DNS, connect, TLS, timeout, a malformed or oversized answer.
Result<HttpsReply> https_request(HttpsRequest request);

}  // namespace imagegate::webhook
