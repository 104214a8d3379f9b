// TrustDataFetcher: the fetching half of Notary v1. Reads a GUN's TUF metadata files from a notary-server
// (GET /v2/<gun>/_trust/tuf/<file>) through the registry client (its auth flow, TLS settings, redirect
// rules and byte bounds), and nothing else: what the bytes mean is tuf.h's (pure verification over fetched
// bytes), and which file to fetch next is NotaryV1Verifier's TUF client workflow (notary_v1.h), since it
// depends on what was verified so far (root rotation, delegations).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/result.h"

namespace imagegate::verifier {

class OciRegistryClient;

struct TrustDataSource {
  std::string server;                            // https://notary.example.com[:port], no trailing slash
  std::vector<std::string> ca_files;             // TLS trust for the server, beside the system CAs
  std::vector<std::string> docker_config_files;  // credentials for the server's token realm
  std::chrono::milliseconds timeout{10'000};
};

class TrustDataFetcher {
 public:
  // invalid_argument naming a CA or Docker config file that is unusable.
  static Result<std::unique_ptr<TrustDataFetcher>> create(TrustDataSource source);
  ~TrustDataFetcher();

  // The file's bytes, at most `limit` (resource_exhausted beyond); not_found when the server has none;
  // unavailable / deadline_exceeded for network trouble. Honours cancellation.
  boost::asio::awaitable<Result<std::string>> fetch(const std::string& gun, const std::string& file,
                                                     std::size_t limit) const;

 private:
  TrustDataFetcher(std::string server, std::unique_ptr<OciRegistryClient> client);
  std::string server_;
  std::unique_ptr<OciRegistryClient> client_;
};

}  // namespace imagegate::verifier
