#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/signature_verifier.h"

namespace imagegate::verifier {

AnchorCheck SignatureVerifier::verify(const FetchedSignatures& /*fetched*/,
                                      std::chrono::system_clock::time_point /*now*/) const {
  return {AnchorCheck::Status::failed, "this anchor does not verify OCI signatures", {}};
}

boost::asio::awaitable<AnchorCheck> SignatureVerifier::fetch_and_verify(RegistryClient& /*registry*/,
                                                                        const ImageReference& /*image*/,
                                                                        std::string /*digest*/) const {
  co_return AnchorCheck{AnchorCheck::Status::failed, "this anchor fetches no trust data of its own", {}};
}

AttestationCheck SignatureVerifier::verify_attestations(const FetchedSignatures& /*fetched*/,
                                                       std::string_view /*predicate_type*/,
                                                       std::chrono::system_clock::time_point /*now*/) const {
  return {{}, "this anchor cannot sign attestations (DSSE envelopes)"};
}

}  // namespace imagegate::verifier
