#include "webhook/server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include <boost/asio/steady_timer.hpp>

#include "verifier/crypto/crypto.h"
#include "verifier/registry/tls_policy.h"
#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {

namespace ssl = boost::asio::ssl;

namespace {

// ALPN (RFC 7301): we speak HTTP/1.1 only. When the client offers no protocol we support (say, only h2),
// we answer without ALPN rather than with a fatal alert: the client then knows h2 is not on offer.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void* /*arg*/) {
  static constexpr unsigned char kProtocols[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  unsigned char selected_len = 0;
  if (SSL_select_next_proto(&selected, &selected_len, kProtocols, sizeof kProtocols, in, in_len) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  *out_len = selected_len;
  return SSL_TLSEXT_ERR_OK;
}

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string reason = ec.message();
  if (const unsigned long e = ERR_get_error(); e != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    reason = buf.data();
  }
  ERR_clear_error();
  return reason;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls_context(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();

  // TLS 1.2/1.3, ECDHE + AEAD only (verifier/registry/tls_policy.h, the same for the outbound clients).
  if (auto s = verifier::apply_tls_policy(ctx); !s) return s.error();
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);

  boost::system::error_code ec;
  context->use_certificate_chain_file(files.cert_file.string(), ec);
  if (ec) {
    return invalid_argument("tls: certificate " + files.cert_file.string() + ": " + openssl_reason(ec));
  }
  context->use_private_key_file(files.key_file.string(), ssl::context::pem, ec);
  if (ec) {
    const std::string reason = openssl_reason(ec);
    if (reason.find("mismatch") != std::string::npos) {  // OpenSSL: "key values mismatch"
      return invalid_argument("tls: key " + files.key_file.string() + " does not match certificate " +
                              files.cert_file.string());
    }
    return invalid_argument("tls: key " + files.key_file.string() + ": " + reason);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return invalid_argument("tls: key " + files.key_file.string() + " does not match certificate " +
                            files.cert_file.string());
  }
  if (!files.client_ca_file.empty()) {
    context->load_verify_file(files.client_ca_file.string(), ec);
    if (ec) {
      return invalid_argument("tls: client CA " + files.client_ca_file.string() + ": " + openssl_reason(ec));
    }
    // Ask for a certificate, and refuse the handshake without one (mTLS from the API server).
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) {
      return internal_error("tls: cannot set verify mode: " + ec.message());
    }
    // Session resumption would skip the client certificate check on reconnect with another context.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
  return context;
}

// ---- TlsContextProvider -----------------------------------------------------------------------------------

struct TlsContextProvider::Fingerprint {
  struct File {
    std::string canonical;
    std::uintmax_t size = 0;
    std::filesystem::file_time_type mtime{};
    bool exists = false;
    friend bool operator==(const File&, const File&) = default;
  };
  std::array<File, 3> files;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

namespace {

TlsContextProvider::Fingerprint fingerprint(const TlsFiles& files) {
  TlsContextProvider::Fingerprint fp;
  const std::array<const std::filesystem::path*, 3> paths{&files.cert_file, &files.key_file, &files.client_ca_file};
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (paths[i]->empty()) continue;
    std::error_code ec;
    // A Secret mount swaps the `..data` symlink: the canonical path changes even when mtime and size do not.
    auto canonical = std::filesystem::canonical(*paths[i], ec);
    if (ec) continue;
    auto& f = fp.files[i];
    f.canonical = canonical.string();
    f.size = std::filesystem::file_size(canonical, ec);
    if (ec) continue;
    f.mtime = std::filesystem::last_write_time(canonical, ec);
    if (ec) continue;
    f.exists = true;
  }
  return fp;
}

void log_reload(Logger& log, bool ok, const std::string& detail) {
  if (ok) {
    log.info("tls certificate reloaded");
  } else {
    log.error("tls certificate reload rejected; keeping the old", {{"error", detail}});
  }
}

// The serving certificate's notAfter into imagegate_tls_certificate_expiry_seconds (the chain's first
// certificate: the leaf). A file that no longer reads leaves the gauge as it was.
void record_expiry(const TlsFiles& files, Metrics* metrics) {
  if (metrics == nullptr) return;
  std::ifstream in(files.cert_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto leaf = verifier::Certificate::from_pem(text.str());
  if (leaf) metrics->set_tls_certificate_expiry(leaf->not_after());
}

}  // namespace

// The polling loop's state lives apart from the provider so a timer callback never touches a destroyed
// provider: stop() flips `stopped` and cancels the timer under the poller's mutex.
struct TlsContextProvider::Poller : std::enable_shared_from_this<TlsContextProvider::Poller> {
  Poller(boost::asio::any_io_executor executor, std::chrono::milliseconds every, TlsContextProvider* owner)
      : timer(std::move(executor)), interval(every), provider(owner) {}
  void arm() {
    std::lock_guard lock(mutex);
    if (stopped) return;
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      {
        std::lock_guard guard(self->mutex);
        if (self->stopped) return;
        self->provider->check_now();
      }
      self->arm();
    });
  }
  void stop() {
    std::lock_guard lock(mutex);
    stopped = true;
    timer.cancel();
  }
  std::mutex mutex;
  boost::asio::steady_timer timer;
  std::chrono::milliseconds interval;
  TlsContextProvider* provider;
  bool stopped = false;
};

TlsContextProvider::TlsContextProvider(TlsFiles files, Metrics* metrics, Logger& log)
    : files_(std::move(files)), metrics_(metrics), log_(log) {}

TlsContextProvider::~TlsContextProvider() { stop(); }

Result<std::shared_ptr<TlsContextProvider>> TlsContextProvider::create(TlsFiles files, Metrics* metrics,
                                                                       Logger& log) {
  std::shared_ptr<TlsContextProvider> provider(new TlsContextProvider(std::move(files), metrics, log));
  auto fp = std::make_unique<Fingerprint>(fingerprint(provider->files_));
  auto context = make_server_tls_context(provider->files_);
  if (!context) return context.error();
  provider->context_ = std::move(context.value());
  provider->last_seen_ = std::move(fp);
  record_expiry(provider->files_, metrics);
  return provider;
}

std::shared_ptr<ssl::context> TlsContextProvider::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

bool TlsContextProvider::check_now() {
  std::lock_guard attempt(check_mutex_);
  auto fp = std::make_unique<Fingerprint>(fingerprint(files_));
  {
    std::lock_guard lock(mutex_);
    if (last_seen_ && *last_seen_ == *fp) return false;
  }
  // Remember this attempt whatever its outcome: a half-rotated pair (new certificate, old key) is retried
  // when the next file changes, not logged every poll.
  auto context = make_server_tls_context(files_);
  std::lock_guard lock(mutex_);
  last_seen_ = std::move(fp);
  if (!context) {
    log_reload(log_, false, context.error().message);
    if (metrics_ != nullptr) metrics_->tls_reload(false);
    return false;
  }
  context_ = std::move(context.value());
  log_reload(log_, true, "");
  record_expiry(files_, metrics_);
  if (metrics_ != nullptr) metrics_->tls_reload(true);
  return true;
}

void TlsContextProvider::start(boost::asio::any_io_executor executor, std::chrono::milliseconds interval) {
  std::shared_ptr<Poller> poller;
  {
    std::lock_guard lock(mutex_);
    if (poller_) return;
    poller_ = std::make_shared<Poller>(std::move(executor), interval, this);
    poller = poller_;
  }
  poller->arm();
}

void TlsContextProvider::stop() {
  std::shared_ptr<Poller> poller;
  {
    std::lock_guard lock(mutex_);
    poller = std::move(poller_);
  }
  if (poller) poller->stop();
}

}  // namespace imagegate::webhook
