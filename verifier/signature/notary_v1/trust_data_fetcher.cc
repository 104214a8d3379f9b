#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/notary_v1/trust_data_fetcher.h"

#include "verifier/registry/oci_registry_client.h"

namespace imagegate::verifier {

Result<std::unique_ptr<TrustDataFetcher>> TrustDataFetcher::create(TrustDataSource source) {
  RegistryClientOptions options;
  options.ca_files = std::move(source.ca_files);
  options.docker_config_files = std::move(source.docker_config_files);
  options.step_timeout = source.timeout;
  auto client = OciRegistryClient::create(std::move(options));
  if (!client) return client.error();
  return std::unique_ptr<TrustDataFetcher>(new TrustDataFetcher(std::move(source.server), std::move(*client)));
}

TrustDataFetcher::TrustDataFetcher(std::string server, std::unique_ptr<OciRegistryClient> client)
    : server_(std::move(server)), client_(std::move(client)) {}

TrustDataFetcher::~TrustDataFetcher() = default;

boost::asio::awaitable<Result<std::string>> TrustDataFetcher::fetch(const std::string& gun, const std::string& file,
                                                                     std::size_t limit) const {
  co_return co_await client_->get(server_, "/v2/" + gun + "/_trust/tuf/" + file, "repository:" + gun + ":pull", limit);
}

}  // namespace imagegate::verifier
