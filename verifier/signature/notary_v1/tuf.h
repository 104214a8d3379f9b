// TUF metadata as Notary v1 (Docker Content Trust) writes it, and the checks that make it trusted: the
// pinned root, root rotation, signatures and thresholds per role, expiry, hashes and lengths from
// timestamp -> snapshot -> targets -> delegations, versions that never go backwards, canonical JSON.
//
// Everything here is a pure function of bytes already fetched (and bounded) plus the verification time:
// no I/O, no clock. NotaryV1Verifier (notary_v1.cc) fetches and calls TrustChain step by step; the unit
// tests and the fuzz target drive the same steps from files.
//
// Two dialects are read:
// - Notary v1 (TUF 0.x): `_type` "Root"/"Targets"..., keys "ecdsa" / "rsa" / "ed25519" (keyval.public =
//   base64 SubjectPublicKeyInfo DER; ed25519: base64 of the raw 32 bytes) and "ecdsa-x509" / "rsa-x509"
//   (base64 of a PEM certificate); signatures carry a `method` ("ecdsa" = raw r||s, "rsapss", "eddsa",
//   "rsapkcs1v15") and base64 `sig`; hashes are base64.
// - TUF 1.0 (go-tuf, python-tuf, Sigstore): keys "ed25519" (hex), "rsa" and "ecdsa"/"ecdsa-sha2-nistp256"
//   (PEM) with a `scheme`; signatures without `method`, hex `sig`; hashes are hex. Empty signatures are
//   skipped (Sigstore's roots carry some) and the threshold still decides.
//
// Lengths (a decision, see tuf_test.cc): a length recorded before a file is fetched (snapshot in
// timestamp; targets and delegations in snapshot) bounds that file, so a larger file is refused, as
// notary's client does; the hashes decide whether the bytes are the ones signed. root.json is fetched
// first, bounded by kMaxMetadataBytes, and checked against the snapshot's hashes once those are trusted.
//
// Thread-safety: the free functions are pure; a TrustChain is a value owned by one caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/crypto/crypto.h"

namespace imagegate::verifier::tuf {

inline constexpr std::size_t kMaxMetadataBytes = 8 * 1024 * 1024;
inline constexpr int kMaxJsonDepth = 32;
// Values in one metadata file: a targets role of ~10,000 targets (each ~8 values with its hashes and custom
// fields); Sigstore's repository has a few dozen. The DOM is at most 200 B * 100,000 + 2 * 8 MiB = 36 MiB
// (common/json_bounded.h), once per update, not per review.
inline constexpr std::size_t kMaxJsonValues = 100'000;
inline constexpr std::size_t kMaxSignatures = 64;
inline constexpr std::size_t kMaxKeys = 1024;
inline constexpr std::size_t kMaxDelegations = 64;      // roles fetched for one lookup
inline constexpr int kMaxDelegationDepth = 8;
inline constexpr std::uint64_t kMaxRootRotations = 64;  // intermediate roots walked in one update

using TimePoint = std::chrono::system_clock::time_point;

// Canonical JSON (OLPC form, as notary's canonical encoder writes it): object keys sorted by their UTF-8
// bytes, no whitespace, strings with only `"` and `\` escaped, integers only. invalid_argument for text
// that is not JSON, is nested deeper than kMaxJsonDepth, or holds a non-integer number.
Result<std::string> canonical_json(std::string_view json_text);

// RFC 3339 ("2999-08-26T14:12:13.21926558+02:00", "...Z") -> UTC time point. invalid_argument otherwise.
Result<TimePoint> parse_rfc3339(std::string_view text);

// A key as metadata lists it. `key` is parsed when the metadata is parsed; a key of a type or encoding
// imagegate cannot use keeps `usable` false (it then never verifies a signature, but the rest of the
// document still parses, as TUF requires).
struct Key {
  std::string id;          // the id the metadata uses (notary: sha256 of the canonical key JSON)
  std::string type;        // "ecdsa", "ecdsa-x509", "ed25519", "rsa", "rsa-x509", "ecdsa-sha2-nistp256"
  std::string scheme;      // TUF 1.0 only
  bool usable = false;
  std::optional<PublicKey> key;
  // sha256 of the canonical JSON of the bare public key as notary names it ({"keytype":"ecdsa",
  // "keyval":{"private":null,"public":base64(spki)}}): the "canonical root key id" `notary key list` prints
  // for an x509 root key. Equal to `id` for non-certificate notary keys; empty when not computable.
  std::string public_key_id;
};

struct RoleKeys {
  std::vector<std::string> key_ids;
  std::uint64_t threshold = 1;
};

struct FileMeta {
  std::optional<std::uint64_t> length;
  std::map<std::string, std::string> hashes;  // algorithm ("sha256", "sha512") -> raw digest bytes
  std::optional<std::uint64_t> version;       // TUF 1.0 snapshot/timestamp meta
};

struct SignatureEntry {
  std::string key_id;
  std::string method;  // "" in TUF 1.0
  std::string value;   // raw signature bytes (decoded); empty = an empty signature to skip
};

// A parsed metadata file: the signed part in canonical form (what signatures cover) and the signatures.
struct Envelope {
  std::string type;  // `_type` lower-cased: "root", "timestamp", "snapshot", "targets"
  std::uint64_t version = 0;
  TimePoint expires;
  std::string canonical_signed;
  std::vector<SignatureEntry> signatures;
  bool notary_dialect = false;
};

struct Root {
  Envelope envelope;
  std::map<std::string, Key> keys;
  std::map<std::string, RoleKeys> roles;  // root, targets, snapshot, timestamp
  std::string raw;                        // the bytes as fetched (for the snapshot's root hash)
};

struct Timestamp {
  Envelope envelope;
  FileMeta snapshot;
};

struct Snapshot {
  Envelope envelope;
  std::map<std::string, FileMeta> meta;  // "root", "targets", "targets/releases", ...
};

struct TargetFile {
  std::uint64_t length = 0;
  std::map<std::string, std::string> hashes;  // raw bytes
};

struct DelegatedRole {
  std::string name;  // "targets/releases"
  RoleKeys keys;
  std::vector<std::string> paths;               // notary: prefixes ("" = everything)
  std::vector<std::string> path_hash_prefixes;  // hex prefixes of sha256(target name)
};

struct Targets {
  Envelope envelope;
  std::string role;  // "targets" or the delegation's name
  std::map<std::string, TargetFile> targets;
  std::map<std::string, Key> delegation_keys;
  std::vector<DelegatedRole> delegations;
};

// Parsers: invalid_argument naming what is wrong (not JSON, too deep, missing or mistyped field, `_type`
// of another role); resource_exhausted when the bytes exceed kMaxMetadataBytes or a count limit. They do
// not verify signatures.
Result<Envelope> parse_envelope(std::string_view bytes);
Result<Root> parse_root(std::string_view bytes);
Result<Timestamp> parse_timestamp(std::string_view bytes);
Result<Snapshot> parse_snapshot(std::string_view bytes);
Result<Targets> parse_targets(std::string_view bytes, std::string_view role_name);

// ok when at least `role.threshold` distinct keys of `role` (looked up in `keys`) have a valid signature on
// the envelope. permission_denied "ROLE: no signatures" / "ROLE: N of M required signatures verify".
Status verify_signatures(const Envelope& envelope, const std::map<std::string, Key>& keys, const RoleKeys& role,
                         std::string_view role_name);

// ok when `now` is before the envelope's expiry; permission_denied "ROLE trust data expired at T".
Status check_expiry(const Envelope& envelope, TimePoint now, std::string_view role_name);

// ok when `bytes` match every hash of `meta` that imagegate knows (at least one must be known: sha256 or
// sha512) and are not longer than its length. permission_denied naming `what` otherwise.
Status check_file_meta(const FileMeta& meta, std::string_view bytes, std::string_view what);

// Does a delegation's `paths` / `path_hash_prefixes` admit `target`? Plain prefix comparison (notary), so
// no pattern from metadata is ever compiled.
bool delegation_covers(const DelegatedRole& role, std::string_view target);

// The root a policy pins: public keys (from certificates or PEM keys, compared by SubjectPublicKeyInfo)
// and optionally key ids that the root role must use.
struct RootPin {
  std::vector<PublicKey> keys;
  std::vector<std::string> key_ids;
};

// ok when `root` is trusted by the pin: its root role threshold is met by its own keys, and one of those
// signing keys is pinned (its public key equals a pinned key; with key_ids, its id or its public key id is
// listed). permission_denied "root is not signed by a pinned key: <its signers and the pinned keys, by SPKI
// sha256 fingerprint>" / "root has no signatures" otherwise.
// Expiry is not checked here.
Status verify_pinned_root(const Root& root, const RootPin& pin);

// Root rotation (TUF 5.3.4): `next` must have version trusted.version + 1 and be signed by the threshold of
// `trusted`'s root role and by the threshold of its own root role.
Status verify_root_rotation(const Root& trusted, const Root& next);

// The verified state of one repository (GUN), built step by step from fetched bytes; also the memory
// that keeps versions from going backwards between updates. Each step checks what TUF says for that
// role and refuses to run before the steps it depends on.
class TrustChain {
 public:
  explicit TrustChain(RootPin pin) : pin_(std::move(pin)) {}

  // First call: the root must satisfy the pin (else, when `older_roots` walk from a pinned version, each
  // step must be a valid rotation). Later calls: the same version (byte-identical) or a newer one reached
  // by rotation through `older_roots` (versions trusted+1 .. new-1, in order). Expiry of the final root is
  // checked against `now`. A new root key set discards the trusted timestamp/snapshot keys' state as TUF
  // requires.
  Status update_root(std::string_view bytes, const std::vector<std::string>& older_roots, TimePoint now);
  // Version of the root in `bytes` without trusting it (to know which older roots to fetch). 0 if unparsable.
  static std::uint64_t peek_version(std::string_view bytes);

  Status update_timestamp(std::string_view bytes, TimePoint now);
  // The most bytes snapshot.json may have (from the trusted timestamp), else kMaxMetadataBytes.
  std::size_t snapshot_limit() const;
  Status update_snapshot(std::string_view bytes, TimePoint now);
  // The most bytes the role's file may have (from the trusted snapshot), else kMaxMetadataBytes.
  std::size_t role_limit(std::string_view role) const;
  // Does the trusted snapshot list `role` ("targets/releases")?
  bool snapshot_lists(std::string_view role) const;
  Status update_targets(std::string_view bytes, TimePoint now);
  // A delegated role ("targets/releases", "targets/a/b"): its parent must already be loaded and delegate
  // it; the bytes are checked against the snapshot, the parent's delegation keys and threshold, expiry.
  Status update_delegation(std::string_view role, std::string_view bytes, TimePoint now);

  bool has_root() const noexcept { return root_.has_value(); }
  const Root* root() const noexcept { return root_ ? &*root_ : nullptr; }
  // The loaded targets role or delegation, nullptr when not loaded.
  const Targets* role(std::string_view name) const;
  // The delegation entry for `role` in its parent (which must be loaded); nullptr when not delegated.
  const DelegatedRole* delegation(std::string_view role) const;
  // The earliest expiry among the loaded roles (cache lifetime).
  TimePoint earliest_expiry() const;
  // The same without timestamp.json, which the notary-server re-signs itself every few days: when the
  // metadata the repository's owners sign (root, snapshot, targets, delegations) needs them. max() if none.
  TimePoint earliest_expiry_but_timestamp() const;

  // Forgets loaded timestamp/snapshot/targets/delegations but keeps the trusted root and the highest
  // versions seen (rollback protection across updates).
  void begin_update();

  // The signed target `name` in `role` when that role is loaded and (for a delegation) its paths cover the
  // name; nullopt otherwise.
  std::optional<TargetFile> find_target(std::string_view role, std::string_view name) const;

 private:
  Status check_version(std::string_view role, std::uint64_t version);

  RootPin pin_;
  std::optional<Root> root_;
  std::optional<Timestamp> timestamp_;
  std::optional<Snapshot> snapshot_;
  std::map<std::string, Targets, std::less<>> targets_;  // "targets" and delegations
  std::map<std::string, std::uint64_t, std::less<>> highest_version_;
};

// What a loaded chain says about `tag` of `gun` for the digest being admitted. `required` empty: the roles
// docker trusts, targets/releases then targets, any one of them. Otherwise the named roles, one (or with
// `all`, every one) of which must sign the tag. Roles that sign the tag must agree on its digest.
struct TagDecision {
  bool verified = false;
  std::string detail;                // why not, or what verified it
  std::vector<std::string> signers;  // the roles whose entry matched
};
TagDecision decide_tag(const TrustChain& chain, std::string_view gun, std::string_view tag, std::string_view digest,
                       const std::vector<std::string>& required, bool all);

// The roles a lookup needs loaded, parents before children ("targets/a" before "targets/a/b"); "targets"
// itself is not listed. For `required` empty: targets/releases when the snapshot lists it.
std::vector<std::string> roles_to_load(const TrustChain& chain, const std::vector<std::string>& required);

}  // namespace imagegate::verifier::tuf
