// Loading a trust configuration: the trust policy file, then each store its statements name from the trust
// store directory (`x509/<type>/<name>/`, every regular file (symlinks followed: Kubernetes mounts) a PEM
// bundle or one DER certificate), validated as notation-go does (truststore.go: ca and signingAuthority
// hold CA or self-signed certificates, tsa holds self-signed root CAs); or the inline anchor's files.
#include <algorithm>
#include <filesystem>

#include "common/bounded_file.h"
#include "verifier/signature/notation/trust_policy.h"

namespace imagegate::verifier::notation {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxTrustFileBytes = 1024 * 1024;
constexpr std::size_t kMaxFilesPerStore = 256;

class Loader {
 public:
  Result<std::string> read(const std::string& path) {
    auto text = read_bounded_file(path, kMaxTrustFileBytes);
    if (!text) return text.error();
    files_.push_back(TrustFile{path, sha256_hex(*text)});
    return text;
  }

  // The certificates of one file: PEM blocks, or the file as one DER certificate.
  Result<std::vector<Certificate>> certificates(const std::string& path) {
    auto text = read(path);
    if (!text) return text.error();
    if (text->find("-----BEGIN") != std::string::npos) {
      auto certs = certificates_from_pem_bundle(*text);
      if (!certs) return invalid_argument(path + ": " + certs.error().message);
      return certs;
    }
    auto cert = Certificate::from_der(*text);
    if (!cert) return invalid_argument(path + ": not a PEM or DER certificate");
    return std::vector<Certificate>{std::move(*cert)};
  }

  static Status check(const Certificate& cert, StoreType type, const std::string& path) {
    if (type == StoreType::tsa) {
      if (!cert.is_ca() || !cert.self_signed()) {
        return invalid_argument(path + ": certificate \"" + cert.subject() + "\" in a tsa trust store is not a self-signed root CA");
      }
    } else if (!cert.is_ca() && !cert.self_signed()) {
      return invalid_argument(path + ": certificate \"" + cert.subject() + "\" is not a CA certificate or self-signed signing certificate");
    }
    return Ok{};
  }

  // Every certificate of `files` (one store), validated for its type.
  Result<std::vector<Certificate>> store(const std::vector<std::string>& files, StoreType type, const std::string& where) {
    std::vector<Certificate> out;
    for (const std::string& file : files) {
      auto certs = certificates(file);
      if (!certs) return certs.error();
      for (Certificate& cert : *certs) {
        if (auto s = check(cert, type, file); !s) return s.error();
        out.push_back(std::move(cert));
      }
    }
    if (out.empty()) return not_found("no x509 certificates were found in " + where);
    return out;
  }

  Result<std::vector<Certificate>> named_store(const fs::path& x509, const StoreRef& ref) {
    const fs::path dir = x509 / std::string(to_string(ref.type)) / ref.name;
    const std::string where = "trust store \"" + ref.name + "\" of type \"" + std::string(to_string(ref.type)) + "\"";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return not_found(dir.string() + ": the " + where + " does not exist");
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file(ec)) {
        if (entry.path().filename().string().starts_with("..")) continue;  // Kubernetes' ..data and ..<timestamp>
        return invalid_argument(entry.path().string() + ": not a regular file (the " + where + " holds certificate files only)");
      }
      if (files.size() == kMaxFilesPerStore) return resource_exhausted(dir.string() + ": more than 256 files");
      files.push_back(entry.path().string());
    }
    if (ec) return not_found(dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    return store(files, ref.type, dir.string() + " (" + where + ")");
  }

  Status fill(const fs::path& x509, Statement& st) {
    for (const StoreRef& ref : st.stores) {
      auto certs = named_store(x509, ref);
      if (!certs) return certs.error();
      add(st, ref.type, std::move(*certs));
    }
    return Ok{};
  }

  static void add(Statement& st, StoreType type, std::vector<Certificate> certs) {
    for (Certificate& cert : certs) {
      if (type == StoreType::ca) st.ca.push_back(std::move(cert));
      else if (type == StoreType::signing_authority) st.signing_authority.push_back(std::move(cert));
      else st.tsa.push_back(CertificateAuthority{cert.subject(), {cert}, {}});
    }
  }

  std::vector<TrustFile> take_files() { return std::move(files_); }

 private:
  std::vector<TrustFile> files_;
};

Result<fs::path> x509_dir(const std::string& trust_store_dir) {
  std::error_code ec;
  for (const fs::path& candidate : {fs::path(trust_store_dir) / "x509", fs::path(trust_store_dir) / "truststore" / "x509"}) {
    if (fs::is_directory(candidate, ec)) return candidate;
  }
  return not_found(trust_store_dir + ": not a notation trust store (no x509/ or truststore/x509/ folder)");
}

}  // namespace

const std::vector<TrustFile>& TrustConfig::files() const noexcept { return impl_->files; }

std::vector<std::string> TrustConfig::statement_names() const {
  std::vector<std::string> out;
  for (const Statement& st : impl_->statements) out.push_back(st.name);
  return out;
}

std::optional<std::chrono::system_clock::time_point> TrustConfig::earliest_expiry() const {
  std::optional<std::chrono::system_clock::time_point> earliest;
  const auto consider = [&earliest](const Certificate& c) {
    if (!earliest || c.not_after() < *earliest) earliest = c.not_after();
  };
  for (const Statement& st : impl_->statements) {
    for (const Certificate& c : st.ca) consider(c);
    for (const Certificate& c : st.signing_authority) consider(c);
    for (const CertificateAuthority& tsa : st.tsa) {
      for (const Certificate& c : tsa.chain) consider(c);
    }
  }
  return earliest;
}

Status validate_trust_policy(std::string_view json, std::string_view where) {
  auto statements = parse_trust_policy(json);
  if (!statements) return invalid_argument(std::string(where) + ": " + statements.error().message);
  return Ok{};
}

Result<std::shared_ptr<const TrustConfig>> load_trust(const std::string& trust_policy_path,
                                                      const std::string& trust_store_dir) {
  Loader loader;
  auto text = loader.read(trust_policy_path);
  if (!text) return text.error();
  auto statements = parse_trust_policy(*text);
  if (!statements) return Error{statements.error().code, trust_policy_path + ": " + statements.error().message};
  const bool needs_store = std::any_of(statements->begin(), statements->end(), [](const Statement& st) { return !st.stores.empty(); });
  if (needs_store) {
    auto x509 = x509_dir(trust_store_dir);
    if (!x509) return x509.error();
    for (Statement& st : *statements) {
      if (auto s = loader.fill(*x509, st); !s) {
        return Error{s.error().code, trust_policy_path + ": statement \"" + st.name + "\": " + s.error().message};
      }
    }
  }
  auto impl = std::make_shared<TrustConfig::Impl>();
  impl->statements = std::move(*statements);
  impl->files = loader.take_files();
  return std::make_shared<const TrustConfig>(std::move(impl));
}

Result<std::shared_ptr<const TrustConfig>> load_trust(const NotationAnchor& anchor) {
  Statement st;
  st.name = "anchor";
  st.registry_scopes = {"*"};
  const std::string& level = anchor.verification_level;
  if (level == "strict" || level.empty()) st.level = Level::strict;
  else if (level == "permissive") st.level = Level::permissive;
  else if (level == "audit") st.level = Level::audit;
  else return invalid_argument("verificationLevel \"" + level + "\" is not strict, permissive or audit");
  st.actions = level_actions(st.level);
  if (anchor.trust_store_files.empty()) return invalid_argument("trustStores: at least one CA certificate file is required");
  if (anchor.trusted_identities.empty()) return invalid_argument("trustedIdentities: at least one identity (or \"*\") is required");
  if (auto s = parse_trusted_identities(anchor.trusted_identities, st); !s) {
    return invalid_argument("trustedIdentities: " + s.error().message);
  }
  Loader loader;
  auto ca = loader.store(anchor.trust_store_files, StoreType::ca, "trustStores");
  if (!ca) return ca.error();
  Loader::add(st, StoreType::ca, std::move(*ca));
  if (!anchor.tsa_store_files.empty()) {
    auto tsa = loader.store(anchor.tsa_store_files, StoreType::tsa, "tsaStores");
    if (!tsa) return tsa.error();
    Loader::add(st, StoreType::tsa, std::move(*tsa));
  }
  auto impl = std::make_shared<TrustConfig::Impl>();
  impl->statements.push_back(std::move(st));
  impl->files = loader.take_files();
  return std::make_shared<const TrustConfig>(std::move(impl));
}

}  // namespace imagegate::verifier::notation
