// MetricsListener: the optional plain-HTTP /metrics listener (`--metrics-listen ADDRESS:PORT`, config key
// `metricsListen`; off by default), for scrapers that cannot do the webhook's TLS. It answers
// `GET /metrics` with Metrics::render() (what the HTTPS listener's /metrics answers) and nothing else:
// 404 for any other path, 405 for another method on /metrics, 400 for what does not parse (or a body over
// 64 KiB; a smaller one is read and ignored). One request per connection (Connection: close), 10 s for the whole exchange, at most 64
// connections at once (more are closed at once): the port exposes nothing else and cannot hold the server.
//
// Thread-safe: start() and stop() from any thread; connections run on strands of the io_context.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/result.h"
#include "webhook/server/server_config.h"

namespace imagegate::webhook {

class Logger;
class Metrics;

class MetricsListener {
 public:
  // `metrics` and `log` must outlive the listener's connections (serve: they outlive the io_context).
  MetricsListener(boost::asio::io_context& io, Metrics& metrics, Logger& log);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // Binds and listens; the address actually bound (the real port when `address.port` is 0).
  Result<boost::asio::ip::tcp::endpoint> listen(const ListenAddress& address);
  void start();
  // Stops accepting; a connection in flight finishes (within its 10 s).
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace imagegate::webhook
