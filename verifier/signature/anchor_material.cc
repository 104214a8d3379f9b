#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/anchor_material.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>
#include <system_error>

#include "common/bounded_file.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/cosign/cosign_verifier.h"
#include "verifier/signature/notary_v1/notary_v1.h"
#include "verifier/signature/notation/notation_verifier.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {
namespace {

constexpr std::size_t kMaxTrustFileBytes = 4 * 1024 * 1024;
// A watched trust directory (a Notation trust store): at most this many files, this deep.
constexpr std::size_t kMaxTrustDirFiles = 10'000;
constexpr int kMaxTrustDirDepth = 8;

// "cannot read PATH" for a file that cannot be opened (the wording anchor load errors and docs use).
Result<std::string> read_trust_file(const std::string& path) {
  auto text = read_bounded_file(path, kMaxTrustFileBytes);
  if (!text && text.error().code != ErrorCode::resource_exhausted) return invalid_argument("cannot read " + path);
  return text;
}

// A fingerprint of every file under `dir` (relative path and content hash, in path order), "" when the
// directory cannot be read. Kubernetes' atomic-writer entries (`..data`, `..2024_...`) are not walked: the
// visible names link through them, and a Secret or ConfigMap update swaps them.
std::string trust_dir_fingerprint(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  std::vector<std::pair<std::string, std::string>> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("..", 0) == 0 || it.depth() >= kMaxTrustDirDepth) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (files.size() >= kMaxTrustDirFiles) return "more than " + std::to_string(kMaxTrustDirFiles) + " files";
    auto text = read_trust_file(it->path().string());
    files.emplace_back(fs::relative(it->path(), dir, ec).string(), text ? sha256_hex(*text) : std::string("unreadable"));
  }
  if (ec) return "";
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& [path, hash] : files) listing += path + '\0' + hash + '\n';
  return sha256_hex(listing);
}

// Reads trust files for one AnchorMaterial and remembers each with the hash of what was read, so the
// material can tell later whether a rotated Secret changed one.
class TrustFileReader {
 public:
  explicit TrustFileReader(std::vector<AnchorMaterial::TrustFile>& files) : files_(files) {}
  Result<std::string> operator()(const std::string& path) {
    auto text = read_trust_file(path);
    files_.push_back({path, text ? sha256_hex(*text) : std::string(), false});
    return text;
  }
  // Remembers a directory by the fingerprint of every file under it (a file added, removed or changed).
  void watch_directory(const std::string& path) { files_.push_back({path, trust_dir_fingerprint(path), true}); }

 private:
  std::vector<AnchorMaterial::TrustFile>& files_;
};

using TimePoint = std::chrono::system_clock::time_point;

void keep_earliest(std::optional<TimePoint>& earliest, TimePoint t) {
  if (!earliest || t < *earliest) earliest = t;
}

// A trusted root's expiry: the earliest end among the authorities and logs still valid now (a Sigstore
// trusted root keeps retired ones, ended on purpose, for old signatures), their certificates' notAfter
// included. When every one has ended: the latest end (already past).
std::optional<TimePoint> trusted_root_expiry(const TrustedRoot& root, TimePoint now) {
  std::optional<TimePoint> earliest;
  std::optional<TimePoint> latest_past;
  const auto range = [&](const TimeRange& valid) {
    if (!valid.end) return true;
    if (*valid.end <= now) {
      if (!latest_past || *valid.end > *latest_past) latest_past = *valid.end;
      return false;
    }
    keep_earliest(earliest, *valid.end);
    return true;
  };
  for (const auto* cas : {&root.certificate_authorities, &root.timestamp_authorities}) {
    for (const CertificateAuthority& ca : *cas) {
      if (!range(ca.valid)) continue;
      for (const Certificate& c : ca.chain) keep_earliest(earliest, c.not_after());
    }
  }
  for (const auto* logs : {&root.tlogs, &root.ctlogs}) {
    for (const LogKey& log : *logs) (void)range(log.valid);
  }
  return earliest ? earliest : latest_past;
}

// The earliest notAfter of the certificates in PEM texts (a PEM holding keys only: none).
std::optional<TimePoint> certificates_expiry(const std::vector<std::string>& pems) {
  std::optional<TimePoint> earliest;
  for (const std::string& pem : pems) {
    auto certificates = certificates_from_pem_bundle(pem);
    if (!certificates) continue;
    for (const Certificate& c : *certificates) keep_earliest(earliest, c.not_after());
  }
  return earliest;
}

void add_expiry(LoadedAnchor& out, std::string kind, const std::optional<TimePoint>& at) {
  if (at) out.expiries.push_back({std::move(kind), *at});
}

void load_cosign_key(const CosignKeyAnchor& cosign, TrustFileReader& read_file, LoadedAnchor& out) {
  out.kind = LoadedAnchor::Kind::cosign_key;
  std::string pem = cosign.key_pem;
  if (pem.empty()) {
    auto text = read_file(cosign.key_file);
    if (!text) {
      out.load_error = "keyFile: " + text.error().message;
      return;
    }
    pem = std::move(*text);
  }
  auto key = PublicKey::from_pem(pem);
  if (!key) {
    out.load_error =
        (cosign.key_pem.empty() ? "keyFile " + cosign.key_file : std::string("key")) + ": " + key.error().message;
    return;
  }
  out.verifier = CosignVerifier::with_key(std::move(*key));
}

Result<TrustedRoot> load_trusted_root(const KeylessAnchor& keyless, TrustFileReader& read_file) {
  if (!keyless.trusted_root_file.empty()) {
    auto text = read_file(keyless.trusted_root_file);
    if (!text) return invalid_argument("trustedRoot: " + text.error().message);
    auto root = TrustedRoot::from_json(*text);
    if (!root) return invalid_argument("trustedRoot " + keyless.trusted_root_file + ": " + root.error().message);
    return root;
  }
  auto fulcio = read_file(keyless.fulcio_roots_file);
  if (!fulcio) return invalid_argument("fulcioRoots: " + fulcio.error().message);
  auto rekor = read_file(keyless.rekor_key_file);
  if (!rekor) return invalid_argument("rekorKey: " + rekor.error().message);
  auto root = TrustedRoot::from_pem(*fulcio, *rekor);
  if (!root) return invalid_argument("fulcioRoots/rekorKey: " + root.error().message);
  return root;
}

void load_keyless(const KeylessAnchor& keyless, TrustFileReader& read_file, LoadedAnchor& out) {
  out.kind = LoadedAnchor::Kind::keyless;
  auto root = load_trusted_root(keyless, read_file);
  if (!root) {
    out.load_error = root.error().message;
    return;
  }
  CertificateIdentity identity;
  identity.issuer = keyless.issuer;
  identity.subject = keyless.subject;
  identity.issuer_regexp = keyless.compiled_issuer_regexp;
  identity.subject_regexp = keyless.compiled_subject_regexp;
  if (identity.subject.empty() && !identity.subject_regexp) {
    out.load_error = "a keyless anchor needs subject or subjectRegExp";
    return;
  }
  if (identity.issuer.empty() && !identity.issuer_regexp) {
    out.load_error = "a keyless anchor needs issuer or issuerRegExp";
    return;
  }
  add_expiry(out, "trusted_root", trusted_root_expiry(*root, std::chrono::system_clock::now()));
  out.verifier = CosignVerifier::keyless(std::make_shared<const TrustedRoot>(std::move(root.value())),
                                         std::move(identity));
}

void load_notary_v1(const NotaryV1Anchor& notary, const NotaryTransport& transport, TrustFileReader& read_file,
                    LoadedAnchor& out) {
  out.kind = LoadedAnchor::Kind::notary_v1;
  NotaryV1Config config;
  config.server = notary.server;
  config.root_pems = notary.root_keys;
  for (const std::string& file : notary.root_key_files) {
    auto text = read_file(file);
    if (!text) {
      out.load_error = "rootKeyFiles: " + text.error().message;
      return;
    }
    config.root_pems.push_back(std::move(*text));
  }
  if (!notary.ca_file.empty()) {
    // Read here only for its hash (the fetcher reads it itself): a rotated notary-server CA is trust
    // material too.
    (void)read_file(notary.ca_file);
    config.ca_files.push_back(notary.ca_file);
  }
  const std::optional<TimePoint> roots_expiry = certificates_expiry(config.root_pems);
  config.root_key_ids = notary.root_key_ids;
  config.delegations = notary.delegations;
  config.all_delegations = notary.all_delegations;
  config.ca_files.insert(config.ca_files.end(), transport.ca_files.begin(), transport.ca_files.end());
  config.docker_config_files = transport.docker_config_files;
  config.timeout = transport.timeout;
  auto verifier = NotaryV1Verifier::create(std::move(config));
  if (!verifier) {
    out.load_error = verifier.error().message;
    return;
  }
  add_expiry(out, "certificate", roots_expiry);
  out.verifier = std::shared_ptr<const SignatureVerifier>(std::move(verifier.value()));
}

// Notation: the trust policy and trust store (every file under it watched), or the inline form's files. The
// files are hashed before they are loaded: a rotation in between makes the next check see a change.
void load_notation(const NotationAnchor& spec, TrustFileReader& read_file, LoadedAnchor& out) {
  out.kind = LoadedAnchor::Kind::notation;
  Result<std::shared_ptr<const notation::TrustConfig>> trust = invalid_argument("not loaded");
  if (!spec.trust_policy_file.empty()) {
    (void)read_file(spec.trust_policy_file);
    read_file.watch_directory(spec.trust_store_dir);
    trust = notation::load_trust(spec.trust_policy_file, spec.trust_store_dir);
  } else {
    for (const std::string& file : spec.trust_store_files) (void)read_file(file);
    for (const std::string& file : spec.tsa_store_files) (void)read_file(file);
    trust = notation::load_trust(spec);
  }
  if (!trust) {
    out.load_error = trust.error().message;
    return;
  }
  add_expiry(out, "trust_store", (*trust)->earliest_expiry());
  out.verifier = std::make_shared<const NotationVerifier>(std::move(trust.value()));
}

LoadedAnchor load_anchor(const NamedAnchorSpec& anchor, const NotaryTransport& transport,
                         TrustFileReader& read_file) {
  LoadedAnchor out;
  out.name = anchor.name;
  if (const auto* cosign = std::get_if<CosignKeyAnchor>(anchor.spec)) {
    load_cosign_key(*cosign, read_file, out);
  } else if (const auto* keyless = std::get_if<KeylessAnchor>(anchor.spec)) {
    load_keyless(*keyless, read_file, out);
  } else if (const auto* notary = std::get_if<NotaryV1Anchor>(anchor.spec)) {
    load_notary_v1(*notary, transport, read_file, out);
  } else if (const auto* notation = std::get_if<NotationAnchor>(anchor.spec)) {
    load_notation(*notation, read_file, out);
  }
  return out;
}

}  // namespace

std::shared_ptr<const AnchorMaterial> AnchorMaterial::build(std::string policy_version,
                                                            const std::vector<NamedAnchorSpec>& anchors,
                                                            const NotaryTransport& transport) {
  auto material = std::make_shared<AnchorMaterial>();
  material->version_ = std::move(policy_version);
  TrustFileReader reader(material->trust_files_);
  for (const NamedAnchorSpec& anchor : anchors) {
    try {
      material->anchors_.push_back(load_anchor(anchor, transport, reader));
    } catch (const std::exception& e) {
      // A bad anchor never takes the server down: it fails its checks with the reason.
      LoadedAnchor failed;
      failed.name = anchor.name;
      failed.load_error = std::string("cannot load: ") + e.what();
      material->anchors_.push_back(std::move(failed));
    }
  }
  std::string files;
  for (const TrustFile& file : material->trust_files_) files += file.path + '\0' + file.sha256 + '\n';
  material->full_version_ = material->version_ + "/" + sha256_hex(files).substr(0, 16);
  return material;
}

bool AnchorMaterial::trust_files_changed() const {
  for (const TrustFile& file : trust_files_) {
    if (file.directory) {
      if (trust_dir_fingerprint(file.path) != file.sha256) return true;
      continue;
    }
    auto text = read_trust_file(file.path);
    if ((text ? sha256_hex(*text) : std::string()) != file.sha256) return true;
  }
  return false;
}

const LoadedAnchor* AnchorMaterial::find(std::string_view name) const {
  for (const LoadedAnchor& a : anchors_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

AnchorCheck check_fetched(const LoadedAnchor& anchor, const FetchedSignatures& fetched,
                          std::chrono::system_clock::time_point now) {
  if (!anchor.load_error.empty()) return {AnchorCheck::Status::failed, "anchor not usable: " + anchor.load_error, {}};
  if (!anchor.verifier) return {AnchorCheck::Status::failed, "anchor not usable: not loaded", {}};
  return anchor.verifier->verify(fetched, now);
}

AttestationCheck check_fetched_attestations(const LoadedAnchor& anchor, const FetchedSignatures& fetched,
                                            std::string_view predicate_type, std::chrono::system_clock::time_point now) {
  if (!anchor.load_error.empty()) return {{}, "anchor not usable: " + anchor.load_error};
  if (!anchor.verifier) return {{}, "anchor not usable: not loaded"};
  return anchor.verifier->verify_attestations(fetched, predicate_type, now);
}

}  // namespace imagegate::verifier
