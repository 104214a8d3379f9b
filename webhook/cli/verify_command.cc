// `imagegate verify REF`: does the image carry valid signatures from the given anchors? The flags are the
// ones cosign users know (--key, --certificate-identity[-regexp], --certificate-oidc-issuer[-regexp],
// --trusted-root, or --fulcio-roots with --rekor-key), plus Notary v1 (--notary-server, --notary-root,
// --notary-signer) and Notation (--notation-trust-policy with --notation-trust-store: notation's own
// trustpolicy.json and truststore directory). The anchors become a PolicySpec with one rule (`signatures: {anchors, threshold}`), so
// the CLI verifies and decides with exactly the code the server uses.
//
// `--attestation TYPE [--condition YAML]...`: instead of signatures, an attestation of exactly predicate type
// TYPE signed by the anchors (m-of-n with --threshold) whose predicate passes every condition (a YAML
// mapping as in a policy's `attestations[].conditions`, e.g. '{path: runDetails.builder.id, matches: ...}').
//
// Exit codes: 0 verified, 1 not verified (the reasons say why), 2 error (bad flags or files, registry or
// notary-server unavailable).

#include "common/asio_warnings.h"  // before any Asio header

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/text.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "webhook/cli/cli.h"
#include "webhook/evidence/anchor_keeper.h"
#include "webhook/evidence/attestation_verification.h"
#include "webhook/evidence/registry_evidence_source.h"
#include "webhook/evidence/registry_setup.h"
#include "webhook/server/server_config.h"
#include "webhook/evidence/signature_evidence_source.h"
#include "webhook/evidence/signature_verification.h"

namespace imagegate::webhook {
namespace {

struct VerifyFlags {
  std::string reference;
  std::vector<std::string> keys;
  std::string identity;
  std::string identity_regexp;
  std::string issuer;
  std::string issuer_regexp;
  std::string trusted_root;
  std::string fulcio_roots;
  std::string rekor_key;
  std::string notary_server;
  std::vector<std::string> notary_roots;
  std::vector<std::string> notary_signers;
  std::string notation_trust_policy;
  std::string notation_trust_store;
  RegistryConfig registry;  // --ca-file, --docker-config, --insecure-registry, --legacy-tls-registry
  std::string signature_repository;
  std::string attestation;              // --attestation: a predicate type
  std::vector<std::string> conditions;  // --condition: YAML mappings
  int threshold = 1;
  std::string timeout = "10s";
  std::string output = "text";
};

int error_exit(const std::string& message) {
  std::cerr << "imagegate: error: " << message << "\n";
  return 2;
}

std::string_view kind_name(verifier::LoadedAnchor::Kind kind) {
  switch (kind) {
    case verifier::LoadedAnchor::Kind::cosign_key: return "cosign-key";
    case verifier::LoadedAnchor::Kind::keyless: return "keyless";
    case verifier::LoadedAnchor::Kind::notary_v1: return "notaryV1";
    case verifier::LoadedAnchor::Kind::notation: return "notation";
  }
  return "";
}

// The flags as a policy: one anchor per --key, one keyless anchor, one Notary anchor, and a rule for every
// image requiring `threshold` of them.
Result<policy::PolicySpec> build_spec(const VerifyFlags& flags, std::vector<policy::Condition> conditions,
                                      std::vector<std::string>& sources) {
  policy::PolicySpec spec;
  spec.name = "imagegate-verify";
  policy::Rule rule;
  rule.name = "verify";
  rule.images = {"**"};
  rule.failure_policy = policy::FailurePolicy::closed;
  policy::SignatureRequirement requirement;
  // Each flag group becomes an anchor the rule requires; `source` is what the text output names it by.
  const auto add_anchor = [&](std::string name, verifier::AnchorSpec anchor_spec, const std::string& source) {
    requirement.anchors.push_back(name);
    sources.push_back(source);
    policy::TrustAnchor anchor;
    anchor.name = std::move(name);
    anchor.spec = std::move(anchor_spec);
    spec.trust_anchors.push_back(std::move(anchor));
  };
  for (std::size_t i = 0; i < flags.keys.size(); ++i) {
    add_anchor(flags.keys.size() == 1 ? "key" : "key-" + std::to_string(i + 1),
               policy::CosignKeyAnchor{"", flags.keys[i]}, flags.keys[i]);
  }
  const bool keyless = !flags.identity.empty() || !flags.identity_regexp.empty() || !flags.issuer.empty() ||
                       !flags.issuer_regexp.empty() || !flags.trusted_root.empty() || !flags.fulcio_roots.empty() ||
                       !flags.rekor_key.empty();
  if (keyless) {
    if (flags.identity.empty() == flags.identity_regexp.empty()) {
      return invalid_argument("keyless: give exactly one of --certificate-identity, --certificate-identity-regexp");
    }
    if (flags.issuer.empty() == flags.issuer_regexp.empty()) {
      return invalid_argument("keyless: give exactly one of --certificate-oidc-issuer, --certificate-oidc-issuer-regexp");
    }
    if (flags.trusted_root.empty() == (flags.fulcio_roots.empty() && flags.rekor_key.empty())) {
      return invalid_argument("keyless: give --trusted-root, or --fulcio-roots with --rekor-key (not both)");
    }
    if (flags.trusted_root.empty() && (flags.fulcio_roots.empty() || flags.rekor_key.empty())) {
      return invalid_argument("keyless: --fulcio-roots and --rekor-key go together");
    }
    policy::KeylessAnchor k;
    k.subject = flags.identity;
    k.subject_regexp = flags.identity_regexp;
    k.issuer = flags.issuer;
    k.issuer_regexp = flags.issuer_regexp;
    k.trusted_root_file = flags.trusted_root;
    k.fulcio_roots_file = flags.fulcio_roots;
    k.rekor_key_file = flags.rekor_key;
    add_anchor("keyless", std::move(k), flags.trusted_root.empty() ? flags.fulcio_roots : flags.trusted_root);
  }
  if (!flags.notary_server.empty()) {
    if (flags.notary_roots.empty()) return invalid_argument("--notary-server needs --notary-root PEM");
    policy::NotaryV1Anchor n;
    n.server = flags.notary_server;
    n.root_key_files = flags.notary_roots;
    n.delegations = flags.notary_signers;
    add_anchor("notary", std::move(n), flags.notary_server);
  } else if (!flags.notary_roots.empty() || !flags.notary_signers.empty()) {
    return invalid_argument("--notary-root and --notary-signer need --notary-server");
  }
  if (!flags.notation_trust_policy.empty() || !flags.notation_trust_store.empty()) {
    if (flags.notation_trust_policy.empty() || flags.notation_trust_store.empty()) {
      return invalid_argument("--notation-trust-policy and --notation-trust-store go together");
    }
    policy::NotationAnchor n;
    n.trust_policy_file = flags.notation_trust_policy;
    n.trust_store_dir = flags.notation_trust_store;
    add_anchor("notation", std::move(n), flags.notation_trust_policy);
  }
  if (requirement.anchors.empty()) {
    return invalid_argument(
        "nothing to verify with: give --key, keyless flags, --notary-server, or --notation-trust-policy");
  }
  if (flags.threshold < 1 || static_cast<std::size_t>(flags.threshold) > requirement.anchors.size()) {
    return invalid_argument("--threshold must be between 1 and the number of anchors (" +
                            std::to_string(requirement.anchors.size()) + ")");
  }
  requirement.threshold = flags.threshold;
  requirement.repository = flags.signature_repository;
  if (!flags.attestation.empty()) {
    policy::AttestationRequirement attestation;
    attestation.name = flags.attestation;
    attestation.predicate_type = flags.attestation;
    attestation.anchors = requirement.anchors;
    attestation.threshold = requirement.threshold;
    attestation.conditions = std::move(conditions);
    rule.attestations.push_back(std::move(attestation));
  } else {
    rule.signatures = std::move(requirement);
  }
  spec.rules.push_back(std::move(rule));
  return spec;
}

// Per attestation requirement, each anchor's status and the statement that satisfied it (or why none did).
nlohmann::json attestations_json(const policy::Evidence& evidence) {
  nlohmann::json out = nlohmann::json::array();
  for (const policy::AttestationEvidence& r : evidence.attestations) {
    nlohmann::json anchors = nlohmann::json::array();
    for (const policy::AnchorEvidence& a : r.anchors) {
      anchors.push_back({{"name", a.anchor}, {"status", policy::to_string(a.check.status)}, {"detail", a.check.detail}});
    }
    out.push_back({{"predicateType", r.requirement}, {"anchors", anchors}});
  }
  return out;
}

int run_verify(const VerifyFlags& flags) {
  auto ref = verifier::ImageReference::from_container_image(flags.reference);
  if (!ref) return error_exit(ref.error().message);
  auto timeout = parse_config_duration(flags.timeout);
  if (!timeout) return error_exit("--timeout: " + timeout.error().message);
  std::vector<policy::Condition> conditions;
  if (!flags.conditions.empty()) {
    if (flags.attestation.empty()) return error_exit("--condition needs --attestation TYPE");
    std::string list;
    for (const std::string& c : flags.conditions) list += "- " + c + "\n";
    auto parsed = policy::parse_conditions(list, "--condition");
    if (auto* errors = std::get_if<std::vector<policy::Diagnostic>>(&parsed)) {
      std::vector<std::string> messages;
      for (const policy::Diagnostic& d : *errors) messages.push_back(d.path + ": " + d.message);
      return error_exit(join(messages, "; "));
    }
    conditions = std::get<std::vector<policy::Condition>>(std::move(parsed));
  }
  std::vector<std::string> sources;
  auto spec = build_spec(flags, std::move(conditions), sources);
  if (!spec) return error_exit(spec.error().message);
  auto compiled = policy::compile_policy(std::move(spec.value()), "cli");
  if (!compiled) return error_exit(compiled.error().message);
  std::shared_ptr<const policy::CompiledPolicy> policy = compiled.value();

  RegistryConfig config = flags.registry;
  config.timeout = *timeout;
  // Declared before the clients: their pooled connections close on it when they are destroyed.
  boost::asio::io_context io;
  auto clients = make_registry_clients(config);
  if (!clients) return error_exit(clients.error().message);
  SignatureVerification verification(*clients->cached);
  AttestationVerification attestations(*clients->cached);
  // Unusable flags (a key that does not parse, a missing trusted root) are errors, not "not verified".
  std::shared_ptr<const verifier::AnchorMaterial> anchors = build_anchor_material(*policy, config);
  for (const verifier::LoadedAnchor& a : anchors->anchors()) {
    if (!a.load_error.empty()) return error_exit(a.name + ": " + a.load_error);
  }

  const policy::ImageUnderReview image{"", flags.reference};
  const policy::Plan plan = policy::plan(*policy, image);
  policy::Evidence evidence = policy::unevaluated_evidence(plan.needs, "not evaluated");
  SignatureReport report;
  bool finished = false;
  auto run = [&]() -> boost::asio::awaitable<void> {
    if (plan.needs.resolve_digest) {
      evidence.digest_resolution = co_await resolve_digest_evidence(*clients->cached, flags.reference, evidence.digest);
    } else {
      evidence.digest = ref->digest();
    }
    report = co_await gather_signature_evidence(verification, anchors, image, plan, evidence);
    boost::asio::awaitable<AttestationReport> attesting =
        gather_attestation_evidence(attestations, anchors, image, plan, evidence);
    co_await std::move(attesting);
    finished = true;
  };
  boost::asio::co_spawn(io, run(), [](std::exception_ptr) {});
  io.run();
  if (!finished) return error_exit("verification did not complete");
  const policy::Decision decision = policy::evaluate(*policy, image, evidence, std::chrono::system_clock::now());
  const bool verified = decision.action == policy::Action::allow && decision.outcome == policy::Outcome::passed;
  bool undecided = evidence.digest_resolution.status == policy::EvidenceStatus::unavailable;
  for (const auto& a : evidence.signatures) undecided |= a.check.status == policy::EvidenceStatus::unavailable;
  for (const auto& r : evidence.attestations) {
    for (const auto& a : r.anchors) undecided |= a.check.status == policy::EvidenceStatus::unavailable;
  }
  const int exit_code = verified ? 0 : (undecided ? 2 : 1);

  std::vector<std::pair<const policy::AnchorEvidence*, std::size_t>> rows;
  if (flags.output == "json") {
    nlohmann::json out{{"image", flags.reference},
                       {"reference", ref->string()},
                       {"digest", evidence.digest},
                       {"verified", verified},
                       {"threshold", flags.threshold},
                       {"reasons", decision.reasons},
                       {"signatures", report.signatures},
                       {"registryRequests", report.registry_requests},
                       {"timing", {{"fetchSeconds", report.fetch_seconds}, {"verifySeconds", report.verify_seconds}}}};
    if (evidence.digest_resolution.status != policy::EvidenceStatus::not_evaluated) {
      out["digestResolution"] = {{"status", policy::to_string(evidence.digest_resolution.status)},
                                 {"detail", evidence.digest_resolution.detail}};
    }
    nlohmann::json matched = nlohmann::json::array();
    nlohmann::json failed = nlohmann::json::array();
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 0; i < evidence.signatures.size(); ++i) {
      const policy::AnchorEvidence& a = evidence.signatures[i];
      const verifier::LoadedAnchor* loaded = anchors->find(a.anchor);
      std::vector<std::string> signers = i < report.signers.size() ? report.signers[i] : std::vector<std::string>{};
      nlohmann::json entry{{"name", a.anchor},
                           {"kind", loaded != nullptr ? kind_name(loaded->kind) : ""},
                           {"source", i < sources.size() ? sources[i] : ""},
                           {"status", policy::to_string(a.check.status)},
                           {"detail", a.check.detail},
                           {"signers", signers}};
      list.push_back(entry);
      if (a.check.status == policy::EvidenceStatus::verified) {
        matched.push_back(a.anchor);
      } else {
        failed.push_back({{"name", a.anchor}, {"reason", a.check.detail}});
      }
    }
    out["anchors"] = list;
    out["matched"] = matched;
    out["failed"] = failed;
    if (!report.skipped.empty()) out["skipped"] = report.skipped;
    if (!flags.attestation.empty()) out["attestations"] = attestations_json(evidence);
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "image:     " << ref->string() << "\n"
              << "digest:    " << (evidence.digest.empty() ? "-" : evidence.digest) << "\n"
              << "verified:  " << (verified ? "yes" : "no") << " (" << flags.threshold << " of "
              << sources.size() << " anchors required)\n";
    for (const policy::AttestationEvidence& r : evidence.attestations) {
      std::cout << "attestation: " << r.requirement << "\n";
      for (const policy::AnchorEvidence& a : r.anchors) {
        std::cout << "  " << a.anchor << ": " << policy::to_string(a.check.status) << ": " << a.check.detail << "\n";
      }
    }
    for (std::size_t i = 0; i < evidence.signatures.size(); ++i) {
      const policy::AnchorEvidence& a = evidence.signatures[i];
      std::cout << "  " << a.anchor << " (" << (i < sources.size() ? sources[i] : "") << "): "
                << policy::to_string(a.check.status) << ": " << a.check.detail << "\n";
      if (i < report.signers.size()) {
        for (const std::string& signer : report.signers[i]) std::cout << "    signer: " << signer << "\n";
      }
    }
    if (!verified) {
      for (const std::string& reason : decision.reasons) std::cerr << "imagegate: not verified: " << reason << "\n";
    }
  }
  // The operator's own command: the socket errors behind "registry unreachable" too.
  for (const std::string& d : policy::diagnostics(evidence)) std::cerr << "imagegate: detail: " << d << "\n";
  return exit_code;
}

}  // namespace

void add_verify_command(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Verify an image's signatures as the server does: cosign keys, keyless (Fulcio/Rekor, offline trust "
      "roots), Sigstore bundles, Notary v1, Notation.\nExit codes: 0 verified, 1 not verified, 2 error.\nExamples:\n"
      "  imagegate verify registry.example.com/app:1.0 --key cosign.pub\n"
      "  imagegate verify app@sha256:... --certificate-identity-regexp '^https://github.com/org/' \\\n"
      "      --certificate-oidc-issuer https://token.actions.githubusercontent.com --trusted-root trusted_root.json\n"
      "  imagegate verify registry.example.com/app:1.0 --notation-trust-policy ~/.config/notation/trustpolicy.json \\\n"
      "      --notation-trust-store ~/.config/notation/truststore");
  verify->add_option("reference", flags->reference, "image reference, e.g. registry.example.com/app:1.2")->required();
  verify->add_option("--key", flags->keys, "cosign public key PEM file (repeatable: each is an anchor)")
      ->allow_extra_args(false);
  verify->add_option("--certificate-identity", flags->identity, "keyless: exact SAN (email or URI)");
  verify->add_option("--certificate-identity-regexp", flags->identity_regexp, "keyless: SAN RE2 (full match)");
  verify->add_option("--certificate-oidc-issuer", flags->issuer, "keyless: exact OIDC issuer");
  verify->add_option("--certificate-oidc-issuer-regexp", flags->issuer_regexp, "keyless: OIDC issuer RE2 (full match)");
  verify->add_option("--trusted-root", flags->trusted_root, "keyless: Sigstore trusted_root.json");
  verify->add_option("--fulcio-roots", flags->fulcio_roots, "keyless: Fulcio root/intermediate PEM bundle");
  verify->add_option("--rekor-key", flags->rekor_key, "keyless: Rekor public key PEM");
  verify->add_option("--notary-server", flags->notary_server, "Notary v1 server URL (Docker Content Trust)");
  verify->add_option("--notary-root", flags->notary_roots, "Notary v1: pinned root key/certificate PEM file (repeatable)")
      ->allow_extra_args(false);
  verify->add_option("--notary-signer", flags->notary_signers, "Notary v1: required signer role, e.g. targets/releases (repeatable)")
      ->allow_extra_args(false);
  verify->add_option("--notation-trust-policy", flags->notation_trust_policy,
                     "Notation: trust policy document (notation's trustpolicy.json)");
  verify->add_option("--notation-trust-store", flags->notation_trust_store,
                     "Notation: trust store directory (notation's truststore, holding x509/{ca,signingAuthority,tsa}/NAME/)");
  verify->add_option("--threshold", flags->threshold, "how many anchors must verify (default 1)");
  verify->add_option("--ca-file", flags->registry.ca_files, "CA bundle trusted for registries (repeatable)")->allow_extra_args(false);
  verify->add_option("--docker-config", flags->registry.docker_config_files, "Docker config.json with credentials (repeatable)")
      ->allow_extra_args(false);
  verify->add_option("--insecure-registry", flags->registry.insecure_registries, "HOST[:PORT] over plain HTTP (repeatable)")
      ->allow_extra_args(false);
  verify->add_option("--legacy-tls-registry", flags->registry.legacy_tls_registries,
                     "HOST[:PORT] whose TLS may use CBC / static-RSA ciphers (repeatable; a legacy registry only)")
      ->allow_extra_args(false);
  verify->add_option("--signature-repository", flags->signature_repository,
                     "repository holding the signatures instead of the image's (default: $COSIGN_REPOSITORY)")
      ->envname("COSIGN_REPOSITORY");
  verify->add_option("--attestation", flags->attestation,
                     "verify an attestation of this exact in-toto predicate type instead of signatures "
                     "(e.g. https://slsa.dev/provenance/v1)");
  verify->add_option("--condition", flags->conditions,
                     "with --attestation: a condition on the predicate, YAML as in a policy "
                     "(repeatable), e.g. '{path: runDetails.builder.id, matches: \"https://github.com/acme/**\"}'")
      ->allow_extra_args(false);
  verify->add_option("--timeout", flags->timeout, "timeout for each network step (default 10s)");
  verify->add_option("-o,--output", flags->output, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  verify->callback([flags, &context] { context.exit_code = run_verify(*flags); });
}

}  // namespace imagegate::webhook
