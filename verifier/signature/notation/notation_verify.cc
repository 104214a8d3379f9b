// verify(): the statement that applies, then each envelope through notation-go's checks in its order
// (verifier/verifier.go processSignature): integrity (always enforced), authenticity (a trusted
// certificate in the chain, then the trusted identity), expiry, authentic timestamp (RFC 3161 against the
// tsa stores, or the chain valid now); each non-integrity failure enforced, logged or skipped as the
// statement's level and overrides say. Revocation is not checked (README.md).
#include <algorithm>

#include "verifier/signature/notation/envelope.h"
#include "verifier/signature/notation/trust_policy.h"
#include "verifier/signature/timestamp.h"

namespace imagegate::verifier::notation {
namespace {

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

// "registry/repository" from a reference that may still carry a tag or digest.
std::string repository_of(std::string_view reference) {
  if (const auto at = reference.find('@'); at != std::string_view::npos) reference = reference.substr(0, at);
  const auto slash = reference.rfind('/');
  const auto colon = reference.rfind(':');
  if (colon != std::string_view::npos && slash != std::string_view::npos && colon > slash) reference = reference.substr(0, colon);
  return std::string(reference);
}

Status check_trusted_certificate(const Statement& st, const ParsedEnvelope& e, const std::vector<Certificate>& chain) {
  const bool authority = e.signing_scheme == kSchemeSigningAuthority;
  const std::vector<Certificate>& trusted = authority ? st.signing_authority : st.ca;
  if (trusted.empty()) {
    return denied(std::string("the trust policy statement has no ") + (authority ? "signingAuthority" : "ca") +
                  " trust store for signing scheme " + e.signing_scheme);
  }
  for (const Certificate& cert : chain) {
    for (const Certificate& t : trusted) {
      if (cert.der() == t.der()) return Ok{};
    }
  }
  return denied("the signature's certificate chain does not contain any trusted certificate");
}

std::string identities_text(const std::vector<DistinguishedName>& identities) {
  std::string out = "[";
  for (std::size_t i = 0; i < identities.size(); ++i) {
    out += i == 0 ? "map[" : " map[";
    bool first = true;
    for (const auto& [k, v] : identities[i]) {
      out += (first ? "" : " ") + in_quotes(k) + ":" + in_quotes(v);
      first = false;
    }
    out += "]";
  }
  return out + "]";
}

Status check_identity(const Statement& st, const Certificate& leaf) {
  if (st.any_identity) return Ok{};
  if (st.identities.empty()) return denied("no x509 trusted identities are configured in the trust policy " + in_quotes(st.name));
  auto subject = subject_name(leaf);
  if (!subject) return denied("error while parsing the certificate subject from the digital signature: " + subject.error().message);
  for (const DistinguishedName& trusted : st.identities) {
    if (is_subset(trusted, *subject)) return Ok{};
  }
  return denied("signing certificate from the digital signature does not match the X.509 trusted identities " +
                identities_text(st.identities) + " defined in the trust policy " + in_quotes(st.name));
}

Status check_expiry(const ParsedEnvelope& e, TimePoint now) {
  if (e.expiry && now > *e.expiry) return denied("digital signature has expired on " + in_quotes(format_time(*e.expiry)));
  return Ok{};
}

Status chain_valid_at(const std::vector<Certificate>& chain, TimePoint now) {
  for (const Certificate& cert : chain) {
    if (now < cert.not_before()) {
      return denied("verification time is before certificate " + in_quotes(cert.subject()) + " validity period, it will be valid from " + in_quotes(format_time(cert.not_before())));
    }
    if (now > cert.not_after()) {
      return denied("verification time is after certificate " + in_quotes(cert.subject()) + " validity period, it was expired at " + in_quotes(format_time(cert.not_after())));
    }
  }
  return Ok{};
}

// notation.x509: the RFC 3161 countersignature against the tsa stores (when the statement names one and
// verifyTimestamp asks for it), its time range inside every certificate's validity; otherwise the chain
// must be valid now.
Status check_timestamp(const Statement& st, const ParsedEnvelope& e, const std::vector<Certificate>& chain,
                       TimePoint now, SignatureEvidence& evidence) {
  if (e.signing_scheme == kSchemeSigningAuthority) {
    const TimePoint at = *e.authentic_signing_time;
    for (const Certificate& cert : chain) {
      if (at < cert.not_before() || at > cert.not_after()) {
        return denied("certificate " + in_quotes(cert.subject()) + " was not valid when the digital signature was produced at " + in_quotes(format_time(at)));
      }
    }
    return Ok{};
  }
  bool use_timestamp = !st.tsa.empty();
  if (use_timestamp && !st.verify_timestamp_always) {
    use_timestamp = std::any_of(chain.begin(), chain.end(), [&](const Certificate& c) { return now > c.not_after(); });
  }
  if (!use_timestamp) return chain_valid_at(chain, now);
  if (!e.timestamp_token) return denied("no timestamp countersignature was found in the signature envelope");
  auto ts = verify_rfc3161_token(*e.timestamp_token, e.signature, st.tsa);
  if (!ts) return denied("failed to verify the timestamp countersignature: " + ts.error().message);
  evidence.timestamp = ts->time;
  evidence.timestamp_authority = ts->authority;
  // An unstated accuracy is taken as one second either way (RFC 3161 leaves it unknown).
  const auto accuracy = ts->accuracy.count() > 0 ? ts->accuracy : std::chrono::microseconds(std::chrono::seconds(1));
  const TimePoint earliest = ts->time - accuracy;
  const TimePoint latest = ts->time + accuracy;
  for (const Certificate& cert : chain) {
    if (earliest < cert.not_before()) {
      return denied("timestamp can be before certificate " + in_quotes(cert.subject()) + " validity period, it will be valid from " + in_quotes(format_time(cert.not_before())));
    }
    if (latest > cert.not_after()) {
      return denied("timestamp can be after certificate " + in_quotes(cert.subject()) + " validity period, it was expired at " + in_quotes(format_time(cert.not_after())));
    }
  }
  return Ok{};
}

// One envelope under `st`: true when every enforced check passed.
bool verify_one(const Statement& st, const TargetArtifact& target, const Envelope& envelope, TimePoint now,
                SignatureEvidence& ev, std::vector<std::string>& logged) {
  ev.media_type = envelope.media_type;
  auto parsed = parse_envelope(envelope);
  if (!parsed) {
    ev.failure = "integrity: " + parsed.error().message;
    return false;
  }
  ev.signing_scheme = parsed->signing_scheme;
  ev.signing_time = parsed->authentic_signing_time ? parsed->authentic_signing_time : parsed->signing_time;
  ev.expiry = parsed->expiry;
  std::vector<Certificate> chain;
  auto integrity = check_integrity(*parsed, target, chain);
  if (!chain.empty()) ev.signer_subject = chain.front().subject();
  if (!integrity) {
    ev.failure = "integrity: " + integrity.error().message;
    return false;
  }
  // false when `check` failed and its action is enforce; a logged failure is kept in `logged`.
  const auto settle = [&](Check check, const Status& result) {
    if (result) return true;
    const std::string message = std::string(to_string(check)) + ": " + result.error().message;
    if (st.action(check) == Action::enforce) {
      ev.failure = message;
      return false;
    }
    logged.push_back(message);
    return true;
  };
  if (st.action(Check::authenticity) != Action::skip) {
    if (!settle(Check::authenticity, check_trusted_certificate(st, *parsed, chain))) return false;
    if (!settle(Check::authenticity, check_identity(st, chain.front()))) return false;
  }
  if (st.action(Check::expiry) != Action::skip && !settle(Check::expiry, check_expiry(*parsed, now))) return false;
  if (st.action(Check::authentic_timestamp) != Action::skip &&
      !settle(Check::authentic_timestamp, check_timestamp(st, *parsed, chain, now, ev))) {
    return false;
  }
  ev.verified = true;
  return true;
}

}  // namespace

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::strict: return "strict";
    case Level::permissive: return "permissive";
    case Level::audit: return "audit";
    case Level::skip: return "skip";
  }
  return "?";
}

std::string_view to_string(Check check) noexcept {
  switch (check) {
    case Check::integrity: return "integrity";
    case Check::authenticity: return "authenticity";
    case Check::authentic_timestamp: return "authenticTimestamp";
    case Check::expiry: return "expiry";
    case Check::revocation: return "revocation";
  }
  return "?";
}

std::string_view to_string(Action action) noexcept {
  switch (action) {
    case Action::enforce: return "enforce";
    case Action::log: return "log";
    case Action::skip: return "skip";
  }
  return "?";
}

Verdict verify(const TrustConfig& trust, const TargetArtifact& target, const std::vector<Envelope>& envelopes,
               std::chrono::system_clock::time_point now) {
  Verdict verdict;
  const std::string repository = repository_of(target.reference);
  const Statement* st = select_statement(trust.impl().statements, repository);
  if (st == nullptr) {
    verdict.detail = "artifact " + in_quotes(repository) + " has no applicable trust policy statement";
    return verdict;
  }
  verdict.statement = st->name;
  if (st->level == Level::skip) {
    verdict.status = Verdict::Status::skipped;
    verdict.detail = "trust policy statement " + in_quotes(st->name) + " skips signature verification";
    return verdict;
  }
  if (envelopes.empty()) {
    verdict.detail = "no Notation signatures found";
    return verdict;
  }
  for (const Envelope& envelope : envelopes) {
    if (verdict.signatures.size() == kMaxSignatures) {
      verdict.detail = "none of the first " + std::to_string(kMaxSignatures) + " of " + std::to_string(envelopes.size()) +
                       " Notation signatures verified; no more are tried";
      return verdict;
    }
    SignatureEvidence& ev = verdict.signatures.emplace_back();
    std::vector<std::string> logged;
    if (verify_one(*st, target, envelope, now, ev, logged)) {
      verdict.status = Verdict::Status::verified;
      verdict.logged = std::move(logged);
      verdict.detail = "Notation signature by " + ev.signer_subject + " (" + ev.signing_scheme + ")";
      return verdict;
    }
  }
  verdict.detail = verdict.signatures.size() == 1 ? "Notation signature: " + verdict.signatures.front().failure
                                                  : "none of " + std::to_string(verdict.signatures.size()) +
                                                        " Notation signatures verified; first: " + verdict.signatures.front().failure;
  return verdict;
}

}  // namespace imagegate::verifier::notation
