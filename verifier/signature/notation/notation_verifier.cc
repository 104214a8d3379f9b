#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/notation/notation_verifier.h"

#include <utility>

#include "common/rfc3339.h"
#include "common/text.h"
#include "verifier/image/scan_verdict.h"

namespace imagegate::verifier {

namespace asio = boost::asio;

namespace {

// At most this many skipped manifests are named in a failure's detail (the rest are counted).
constexpr std::size_t kMaxSkippedInDetail = 3;

std::string skipped_summary(const std::vector<std::string>& skipped) {
  if (skipped.empty()) return "";
  std::vector<std::string> shown(skipped.begin(),
                                 skipped.begin() + static_cast<std::ptrdiff_t>(std::min(skipped.size(), kMaxSkippedInDetail)));
  std::string out = "; skipped " + join(shown, "; ");
  if (skipped.size() > shown.size()) out += "; and " + std::to_string(skipped.size() - shown.size()) + " more";
  return out;
}

bool is_unavailable(ErrorCode code) {
  return code != ErrorCode::resource_exhausted && code != ErrorCode::invalid_argument &&
         code != ErrorCode::permission_denied && code != ErrorCode::not_found;
}

}  // namespace

std::string describe_signer(const notation::SignatureEvidence& signature) {
  std::string out = signature.signer_subject.empty() ? "unknown signer" : signature.signer_subject;
  std::vector<std::string> facts;
  if (!signature.signing_scheme.empty()) facts.push_back(signature.signing_scheme);
  if (signature.signing_time) facts.push_back("signed " + format_rfc3339(*signature.signing_time));
  if (signature.timestamp) {
    facts.push_back("timestamp " + format_rfc3339(*signature.timestamp) +
                    (signature.timestamp_authority.empty() ? "" : " by " + signature.timestamp_authority));
  }
  if (!facts.empty()) out += " (" + join(facts, ", ") + ")";
  return out;
}

AnchorCheck notation_check(const notation::TrustConfig& trust, const std::string& repository,
                           const FetchedNotation& fetched, std::chrono::system_clock::time_point now) {
  std::vector<notation::Envelope> envelopes;
  envelopes.reserve(fetched.signatures.size());
  for (const FetchedNotationSignature& s : fetched.signatures) envelopes.push_back({s.media_type, s.envelope});
  const notation::TargetArtifact target{repository, fetched.digest, static_cast<std::int64_t>(fetched.size),
                                        fetched.media_type};
  const notation::Verdict verdict = notation::verify(trust, target, envelopes, now);
  const std::string statement = verdict.statement.empty() ? "" : " (trust policy statement \"" + verdict.statement + "\")";
  AnchorCheck check;
  switch (verdict.status) {
    case notation::Verdict::Status::verified: {
      check.status = AnchorCheck::Status::verified;
      for (const notation::SignatureEvidence& s : verdict.signatures) {
        if (s.verified) check.signers.push_back(describe_signer(s));
      }
      // The evidence itself (signer subject, signing scheme, signing time, timestamp) is the detail: the
      // decision log and `test --online` show it.
      check.detail = "Notation signature by " + join(check.signers, ", ") + statement;
      if (!verdict.logged.empty()) check.detail += "; logged: " + join(verdict.logged, "; ");
      return check;
    }
    case notation::Verdict::Status::skipped:
      check.status = AnchorCheck::Status::failed;
      check.detail = "no signature verified: the trust policy skips verification for " + repository + statement;
      return check;
    case notation::Verdict::Status::failed: break;
  }
  check.status = AnchorCheck::Status::failed;
  if (fetched.signatures.empty()) {
    check.detail = "no Notation signatures for " + fetched.digest + skipped_summary(fetched.skipped);
  } else {
    check.detail = (verdict.detail.empty() ? std::string("no Notation signature verified") : verdict.detail) +
                   statement + skipped_summary(fetched.skipped);
  }
  // Every signature's failure, for the decision log.
  std::vector<std::string> failures;
  for (const notation::SignatureEvidence& s : verdict.signatures) {
    if (!s.failure.empty()) failures.push_back(describe_signer(s) + ": " + s.failure);
  }
  check.diagnostic = join(failures, " | ");
  return check;
}

NotationVerifier::NotationVerifier(std::shared_ptr<const notation::TrustConfig> trust, NotationFetchOptions options,
                                   Clock clock)
    : trust_(std::move(trust)), options_(std::move(options)), clock_(std::move(clock)) {}

asio::awaitable<AnchorCheck> NotationVerifier::fetch_and_verify(RegistryClient& registry, const ImageReference& image,
                                                                std::string digest) const {
  NotationFetcher fetcher(registry, options_);
  asio::awaitable<Result<FetchedNotation>> fetching = fetcher.fetch(image, std::move(digest));
  Result<FetchedNotation> fetched = co_await std::move(fetching);
  if (!fetched) {
    const Error& e = fetched.error();
    co_return AnchorCheck{is_unavailable(e.code) ? AnchorCheck::Status::unavailable : AnchorCheck::Status::failed,
                          "fetching Notation signatures: " + e.message, {},
                          e.detail.empty() ? "" : "fetching Notation signatures: " + e.detail};
  }
  const auto now = clock_ ? clock_() : std::chrono::system_clock::now();
  co_return notation_check(*trust_, image.name(), *fetched, now);
}

}  // namespace imagegate::verifier
