// The ImagePolicy model: plain value types mirroring the YAML format documented in docs/policy.md
// (apiVersion imagegate.dev/v1alpha1, kind ImagePolicy). The loader (policy/loader.h) fills these from
// YAML; compile (policy/policy.h) turns them into an immutable CompiledPolicy. Later issues (signatures,
// Notary v1, Notation, verdicts) read the anchor and requirement types defined here, so the file format
// stays stable as they land.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/condition.h"
#include "verifier/image/severity.h"
#include "verifier/signature/anchor/anchor.h"

namespace imagegate::policy {

// What happens to an image a rule rejects.
enum class Mode { enforce, warn, audit };  // deny / allow with warning / allow and record
// What a check that cannot complete (timeout, registry down, not evaluated offline) counts as.
enum class FailurePolicy { closed, open };  // deny / allow with warning
// A plain action, for `noMatch`, `onMissing`, `secrets`.
enum class Action { allow, warn, deny };

// One severity scale for every scanner: 1-5, with names. NONE and UNKNOWN share 1. Defined in
// verifier/image/severity.h, where scan reports are normalised to it.
using Severity = verifier::Severity;

// A source location in the policy file, for diagnostics (1-based; 0 when unknown).
struct Location {
  int line = 0;
  int column = 0;
};

// ---- Trust anchors: named once, referenced by rules. -------------------------------------------------

// The anchor specs are verifier value types (verifier/signature/anchor/anchor.h): the schemes that verify
// with them live in verifier/signature/. A keyless anchor's regexps are compiled by compile_policy.
using CosignKeyAnchor = verifier::CosignKeyAnchor;  // cosign public key, inline or keyFile
using KeylessAnchor = verifier::KeylessAnchor;      // Fulcio certificate identity and its trust root
using NotaryV1Anchor = verifier::NotaryV1Anchor;    // notary-server and pinned root
using NotationAnchor = verifier::NotationAnchor;    // Notation trust policy and trust store (or inline)

struct TrustAnchor {
  std::string name;
  verifier::AnchorSpec spec;
  Location location;
};

// ---- Requirements a rule can make. ---------------------------------------------------------------------

// m-of-n: at least `threshold` of `anchors` must verify, and every anchor in `required` must be among them.
struct SignatureRequirement {
  std::vector<std::string> anchors;
  int threshold = 1;
  std::vector<std::string> required;
  // `acceptIndexSignatures`: an image given as `name:tag@sha256:<platform manifest>` also passes an anchor
  // through a signature on the index the tag resolves to, when that index lists the manifest.
  bool accept_index_signatures = false;
  // `repository`: where the signatures live instead of the image's own repository (cosign's
  // COSIGN_REPOSITORY); a repository name without tag or digest, "" = the image's.
  std::string repository;
};

// `attestations[]`: a signed in-toto statement about the image digest of exactly `predicate_type`, signed by
// the anchors m-of-n as for signatures (an anchor counts when one statement it signed passes every
// condition), with conditions on its predicate (policy/condition.h). Only cosign key and keyless anchors
// can sign the DSSE envelopes attestations come in.
struct AttestationRequirement {
  std::string name;            // `name`, default the predicate type; unique within the rule
  std::string predicate_type;  // exact URI: a different case, version or suffix is another type
  std::vector<std::string> anchors;
  int threshold = 1;
  std::vector<std::string> required;
  std::vector<Condition> conditions;
  Location location;
};

struct CveException {
  std::string id;  // CVE-2024-1234, GHSA-..., any scanner id
  std::optional<std::chrono::sys_days> expires;  // no longer applies on and after this date (UTC)
  std::string reason;
};

// Gates on the cached scan verdict of the image digest.
struct VerdictRequirement {
  std::optional<Severity> max_severity;  // deny when any finding is above it
  bool fixable_only = false;             // only findings with a fixed version count
  std::optional<std::chrono::seconds> max_age;  // an older verdict counts as missing
  Action on_missing = Action::deny;
  Action secrets = Action::deny;         // when the scan found secrets
  bool compliance_required = false;      // misconfiguration/compliance results must pass
  std::vector<CveException> exceptions;
};

// ---- Rules. ---------------------------------------------------------------------------------------------

struct Rule {
  std::string name;
  std::vector<std::string> images;      // globs over the normalised name: `*` in a segment, `**` across
  std::vector<std::string> namespaces;  // name globs; empty = every namespace
  std::optional<Mode> mode;             // default: the policy's
  std::optional<FailurePolicy> failure_policy;  // default: the policy's
  bool require_digest = false;          // the image must be referenced by digest
  std::vector<std::string> denied_tags; // e.g. latest (an image with neither tag nor digest is `latest`)
  bool pin_digest = false;              // /mutate rewrites the image to name@digest (issue: registry)
  std::optional<SignatureRequirement> signatures;
  std::optional<VerdictRequirement> vulnerabilities;
  std::vector<AttestationRequirement> attestations;
  Location location;
};

struct Exemptions {
  std::vector<std::string> namespaces;  // name globs
  std::vector<std::string> images;      // image globs
};

struct PolicySpec {
  std::string name;                     // metadata.name
  Mode mode = Mode::enforce;
  FailurePolicy failure_policy = FailurePolicy::closed;
  Action no_match = Action::deny;
  Exemptions exemptions;
  std::vector<std::string> allowed_registries;  // registry globs (`*.example.com`, `localhost:5000`); empty = any
  std::vector<TrustAnchor> trust_anchors;
  std::vector<Rule> rules;
};

std::string_view to_string(Mode m) noexcept;
std::string_view to_string(FailurePolicy f) noexcept;
std::string_view to_string(Action a) noexcept;
std::string_view to_string(Severity s) noexcept;  // "UNKNOWN", "LOW", ...
// Parses "1".."5" or a name (case-insensitive; NONE -> unknown).
std::optional<Severity> parse_severity(std::string_view text) noexcept;

}  // namespace imagegate::policy
