#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/anchor_material.h"

#include <exception>
#include <fstream>

#include "verifier/crypto/crypto.h"
#include "verifier/signature/cosign/cosign_verifier.h"
#include "verifier/signature/notary_v1/notary_v1.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {
namespace {

constexpr std::size_t kMaxTrustFileBytes = 4 * 1024 * 1024;
constexpr const char* kNotationNotVerified = "Notation signatures are not verified by this build";

Result<std::string> read_trust_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot read " + path);
  std::string text;
  text.resize(kMaxTrustFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxTrustFileBytes) return resource_exhausted(path + " is larger than 4 MiB");
  return text;
}

// Notation (Notary Project v2) is not verified by this build: every check fails closed. Its scheme comes
// next, in verifier/signature/notation/.
class NotationPlaceholder final : public SignatureVerifier {
 public:
  Reads reads() const noexcept override { return Reads::nothing; }
  AnchorCheck verify(const FetchedSignatures& /*fetched*/, std::chrono::system_clock::time_point /*now*/) const override {
    return {AnchorCheck::Status::failed, kNotationNotVerified, {}};
  }
};

// Reads trust files for one AnchorMaterial and remembers each with the hash of what was read, so the
// material can tell later whether a rotated Secret changed one.
class TrustFileReader {
 public:
  explicit TrustFileReader(std::vector<AnchorMaterial::TrustFile>& files) : files_(files) {}
  Result<std::string> operator()(const std::string& path) {
    auto text = read_trust_file(path);
    files_.push_back({path, text ? sha256_hex(*text) : std::string()});
    return text;
  }

 private:
  std::vector<AnchorMaterial::TrustFile>& files_;
};

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
  out.verifier = std::shared_ptr<const SignatureVerifier>(std::move(verifier.value()));
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
  } else {
    out.kind = LoadedAnchor::Kind::notation;
    out.load_error = kNotationNotVerified;
    out.verifier = std::make_shared<const NotationPlaceholder>();
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

}  // namespace imagegate::verifier
