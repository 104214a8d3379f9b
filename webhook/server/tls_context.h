// The server's TLS configuration and its certificate reload.
//
// make_server_tls_context builds an ssl::context with imagegate's fixed policy: TLS 1.2 and 1.3 only,
// ECDHE key exchange with AEAD ciphers only, ALPN http/1.1 (h2 is never selected), no compression, no
// renegotiation, and optionally client certificate verification against a CA file (mTLS).
//
// TlsContextProvider keeps the current context in a shared_ptr and swaps it whole when the certificate,
// key or client CA files change (cert-manager and mounted Secrets rotate by symlink swap, so each file's
// canonical path, size and mtime are compared). New connections take the newest context; connections
// already open keep theirs. A new set of files that does not load (bad PEM, key not matching the
// certificate) is rejected with a log line and Metrics::tls_reload(false); the old context stays.
//
// Thread-safe: current() and check_now() may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/result.h"

namespace imagegate::webhook {

class Logger;  // webhook/observe/logger.h
class Metrics;

struct TlsFiles {
  std::filesystem::path cert_file;       // PEM certificate chain, leaf first
  std::filesystem::path key_file;        // PEM private key
  std::filesystem::path client_ca_file;  // empty: no client certificates asked for
};

// The protocol versions, TLS 1.2 ciphers and groups are verifier/registry/tls_policy.h's, shared with every
// outbound client (registries, notary-server, the verdict CLI).

// Loads the files into a new server context. Errors name the file and OpenSSL's reason.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(const TlsFiles& files);

class TlsContextProvider {
 public:
  // Loads the files once; fails if they do not load. `metrics` may be null (tests): it gets the reloads
  // and the certificate's expiry (imagegate_tls_certificate_expiry_seconds). `log` receives one line per
  // reload attempt and must outlive the provider.
  static Result<std::shared_ptr<TlsContextProvider>> create(TlsFiles files, Metrics* metrics, Logger& log);

  // The newest good context.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Compares the files with the last attempt; if any changed, tries to load them. Returns true when a new
  // context was installed.
  bool check_now();

  // Polls every `interval` on `executor` until stop() (or until the provider is destroyed).
  void start(boost::asio::any_io_executor executor, std::chrono::milliseconds interval);
  void stop();

  ~TlsContextProvider();
  TlsContextProvider(const TlsContextProvider&) = delete;
  TlsContextProvider& operator=(const TlsContextProvider&) = delete;

  struct Fingerprint;  // canonical path, size, mtime of each file (tls_context.cc)

 private:
  TlsContextProvider(TlsFiles files, Metrics* metrics, Logger& log);
  struct Poller;

  TlsFiles files_;
  Metrics* metrics_;
  Logger& log_;
  mutable std::mutex mutex_;  // guards context_, last_seen_, poller_
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::unique_ptr<Fingerprint> last_seen_;
  std::shared_ptr<Poller> poller_;
  std::mutex check_mutex_;  // one reload attempt at a time
};

}  // namespace imagegate::webhook
