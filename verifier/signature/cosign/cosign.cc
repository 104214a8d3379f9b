// cosign's classic signature layout (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md)
// and the simple signing payload (https://github.com/containers/image/blob/main/docs/containers-signature.5.md).
// Everything read here came from a registry: sizes and counts are bounded before anything is allocated
// from them, and JSON exceptions are caught where they are thrown.
#include "verifier/signature/cosign/cosign.h"

#include <nlohmann/json.hpp>

#include "common/json_bounded.h"
#include "verifier/registry/registry_client.h"
#include "verifier/signature/sigstore/rekor.h"

namespace imagegate::verifier {

namespace {

using json = nlohmann::json;

// A signature manifest lists one small descriptor per signature; 4 MiB is the OCI distribution spec's
// suggested manifest limit (kMaxManifestBytes), and its values are bounded as every manifest's.
constexpr JsonLimits kSignatureManifestJsonLimits{kMaxManifestBytes, kManifestJsonLimits.max_depth,
                                                  kManifestJsonLimits.max_values};
// A simple signing payload is a few members (critical, optional): kMaxSignaturePayloadBytes (256 KiB) and
// 10,000 values bound its DOM to 2 MB + 512 KiB.
constexpr JsonLimits kSimpleSigningJsonLimits{kMaxSignaturePayloadBytes, 16, 10'000};
constexpr std::string_view kSimpleSigningType = "cosign container image signature";

Error permission_denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

Result<json> parse_json(std::string_view text, const JsonLimits& limits, const char* what) {
  auto doc = parse_json_bounded(text, limits);
  if (!doc) return Error{doc.error().code, std::string(what) + ": " + doc.error().message};
  return doc;
}

Result<LayerDescriptor> parse_descriptor(const json& d, const std::string& where) {
  if (!d.is_object()) return invalid_argument(where + " is not an object");
  LayerDescriptor out;
  auto str = [&](const char* key, std::string& into, bool required) -> Status {
    const auto it = d.find(key);
    if (it == d.end() || it->is_null()) {
      if (required) return invalid_argument(where + "." + key + " is required");
      return Ok{};
    }
    if (!it->is_string()) return invalid_argument(where + "." + key + " must be a string");
    into = it->get<std::string>();
    return Ok{};
  };
  if (auto s = str("mediaType", out.media_type, false); !s) return s.error();
  if (auto s = str("digest", out.digest, true); !s) return s.error();
  if (auto s = str("artifactType", out.artifact_type, false); !s) return s.error();
  if (const auto size = d.find("size"); size != d.end()) {
    if (!size->is_number_unsigned()) return invalid_argument(where + ".size must be a non-negative integer");
    out.size = size->get<std::uint64_t>();
  }
  if (const auto ann = d.find("annotations"); ann != d.end() && !ann->is_null()) {
    if (!ann->is_object()) return invalid_argument(where + ".annotations must be an object");
    for (const auto& [key, value] : ann->items()) {
      if (!value.is_string()) return invalid_argument(where + ".annotations." + key + " must be a string");
      out.annotations.emplace(key, value.get<std::string>());
    }
  }
  return out;
}

Status parse_descriptors(const json& doc, const char* key, std::size_t max_entries, std::vector<LayerDescriptor>& out) {
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return Ok{};
  if (!it->is_array()) return invalid_argument(std::string(key) + " must be a list");
  if (it->size() > max_entries) {
    // signature_fetcher.cc's is_entry_limit tells this refusal from the JSON limits by its first words.
    return resource_exhausted(std::string("manifest lists ") + std::to_string(it->size()) + " " + key +
                              ", more than the limit of " + std::to_string(max_entries));
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto d = parse_descriptor((*it)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return Ok{};
}

std::string key_signer(const PublicKey& key) { return "key sha256:" + sha256_hex(key.spki_der()).substr(0, 12); }

std::string key_pem(const PublicKey& key) {
  const std::string b64 = base64_encode(key.spki_der());
  std::string out = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END PUBLIC KEY-----\n";
}

// The checks both modes share once the signature itself is known to be genuine.
Status check_payload(std::string_view payload, std::string_view image_digest, const PayloadConstraints& constraints) {
  auto parsed = parse_simple_signing(payload);
  if (!parsed) return permission_denied("payload is not a simple signing document: " + parsed.error().message);
  if (parsed->type != kSimpleSigningType) {
    return permission_denied("payload type " + parsed->type + " is not a cosign container image signature");
  }
  if (parsed->manifest_digest != image_digest) {
    return permission_denied("signature is for digest " + parsed->manifest_digest + ", not " + std::string(image_digest));
  }
  if (!constraints.docker_reference.empty() && parsed->docker_reference != constraints.docker_reference) {
    return permission_denied("signature names docker-reference " + parsed->docker_reference + ", not " +
                             constraints.docker_reference);
  }
  for (const auto& [key, value] : constraints.annotations) {
    const auto it = parsed->optional.find(key);
    if (it == parsed->optional.end() || it->second != value) {
      return permission_denied("annotation " + key + "=" + value + " required");
    }
  }
  return Ok{};
}

}  // namespace

std::string cosign_signature_tag(std::string_view digest) {
  std::string tag(digest);
  if (const auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag + ".sig";
}

Result<ParsedManifest> parse_manifest(std::string_view text, std::size_t max_entries) {
  auto doc = parse_json(text, kSignatureManifestJsonLimits, "manifest");
  if (!doc) return doc.error();
  if (!doc->is_object()) return invalid_argument("manifest is not a JSON object");
  ParsedManifest out;
  if (const auto sv = doc->find("schemaVersion"); sv != doc->end() && !(sv->is_number_integer() && *sv == 2)) {
    return invalid_argument("manifest schemaVersion is not 2");
  }
  const bool has_layers = doc->contains("layers");
  const bool has_manifests = doc->contains("manifests");
  if (has_layers == has_manifests) return invalid_argument("neither an image manifest nor an index");
  if (const auto mt = doc->find("mediaType"); mt != doc->end() && !mt->is_null()) {
    if (!mt->is_string()) return invalid_argument("manifest mediaType must be a string");
    out.media_type = mt->get<std::string>();
  }
  if (const auto at = doc->find("artifactType"); at != doc->end() && !at->is_null()) {
    if (!at->is_string()) return invalid_argument("manifest artifactType must be a string");
    out.artifact_type = at->get<std::string>();
  }
  if (const auto cfg = doc->find("config"); cfg != doc->end() && !cfg->is_null()) {
    auto config = parse_descriptor(*cfg, "config");
    if (!config) return config.error();
    if (out.artifact_type.empty()) out.artifact_type = config->media_type;
  }
  if (auto s = parse_descriptors(*doc, "layers", max_entries, out.layers); !s) return s.error();
  if (auto s = parse_descriptors(*doc, "manifests", max_entries, out.manifests); !s) return s.error();
  return out;
}

Result<CosignSignature> cosign_signature_from_layer(const LayerDescriptor& layer, std::string payload) {
  if (payload.size() > kMaxSignaturePayloadBytes) {
    return resource_exhausted("signature payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                              std::to_string(kMaxSignaturePayloadBytes));
  }
  // The payload is what the signature covers; it must be the blob the layer names, or a registry could
  // pair a genuine signature with other bytes (the digest check below would then judge the wrong text).
  if (!layer.digest.empty()) {
    std::string actual;
    if (layer.digest.rfind("sha256:", 0) == 0) {
      actual = "sha256:" + sha256_hex(payload);
    } else if (layer.digest.rfind("sha512:", 0) == 0) {
      actual = "sha512:" + hex_encode(sha_digest(HashAlgorithm::sha512, payload));
    } else {
      return invalid_argument("unsupported layer digest algorithm in " + layer.digest);
    }
    if (actual != layer.digest) return invalid_argument("signature payload does not match its layer digest " + layer.digest);
  }
  const auto sig = layer.annotations.find(kCosignSignatureAnnotation);
  if (sig == layer.annotations.end()) return invalid_argument("layer has no dev.cosignproject.cosign/signature annotation");
  auto raw = base64_decode(sig->second);
  if (!raw || raw->empty()) return invalid_argument("signature annotation is not base64");
  CosignSignature out;
  out.payload = std::move(payload);
  out.signature = std::move(*raw);
  auto copy = [&](const char* key, std::string& into) {
    if (const auto it = layer.annotations.find(key); it != layer.annotations.end()) into = it->second;
  };
  copy(kCosignCertificateAnnotation, out.certificate_pem);
  copy(kCosignChainAnnotation, out.chain_pem);
  copy(kCosignBundleAnnotation, out.rekor_bundle_json);
  return out;
}

Result<SimpleSigningPayload> parse_simple_signing(std::string_view text) {
  auto doc = parse_json(text, kSimpleSigningJsonLimits, "simple signing payload");
  if (!doc) return doc.error();
  if (!doc->is_object()) return invalid_argument("simple signing payload is not a JSON object");
  const auto critical = doc->find("critical");
  if (critical == doc->end() || !critical->is_object()) return invalid_argument("payload has no critical section");
  SimpleSigningPayload out;
  auto nested = [&](const char* section, const char* key, std::string& into, bool required) -> Status {
    const auto s = critical->find(section);
    if (s == critical->end() || !s->is_object()) {
      return required ? Status(invalid_argument(std::string("payload has no critical.") + section)) : Status(Ok{});
    }
    const auto v = s->find(key);
    if (v == s->end() || !v->is_string()) {
      return required ? Status(invalid_argument(std::string("payload has no critical.") + section + "." + key))
                      : Status(Ok{});
    }
    into = v->get<std::string>();
    return Ok{};
  };
  if (auto s = nested("image", "docker-manifest-digest", out.manifest_digest, true); !s) return s.error();
  if (auto s = nested("identity", "docker-reference", out.docker_reference, false); !s) return s.error();
  const auto type = critical->find("type");
  if (type == critical->end() || !type->is_string()) return invalid_argument("payload has no critical.type");
  out.type = type->get<std::string>();
  if (const auto optional = doc->find("optional"); optional != doc->end() && !optional->is_null()) {
    if (!optional->is_object()) return invalid_argument("payload optional section is not an object");
    for (const auto& [key, value] : optional->items()) {
      if (value.is_string()) out.optional.emplace(key, value.get<std::string>());
    }
  }
  return out;
}

Result<VerifiedSignature> verify_cosign_key(const CosignSignature& signature, const PublicKey& key,
                                            std::string_view image_digest, const PayloadConstraints& constraints,
                                            const TrustedRoot* rekor) {
  // cosign signs with SHA-256 whatever the curve (signature.LoadVerifier(pub, crypto.SHA256)).
  auto status = key.verify(signature.payload, signature.signature, SignatureScheme::automatic, HashAlgorithm::sha256);
  if (!status) {
    if (status.error().code == ErrorCode::permission_denied) return permission_denied("signature does not verify with the key");
    return status.error();
  }
  if (auto s = check_payload(signature.payload, image_digest, constraints); !s) return s.error();
  VerifiedSignature out;
  out.signer = key_signer(key);
  if (rekor != nullptr && !signature.rekor_bundle_json.empty()) {
    auto bundle = parse_cosign_rekor_bundle(signature.rekor_bundle_json);
    if (!bundle) return permission_denied("Rekor bundle: " + bundle.error().message);
    if (rekor->tlog(bundle->entry.log_id) != nullptr) {
      if (auto s = verify_rekor_set(bundle->entry, bundle->set_signature, *rekor); !s) return s.error();
      if (auto s = check_hashedrekord_body(bundle->entry.body, signature.signature, key_pem(key),
                                           sha256(signature.payload));
          !s) {
        return permission_denied(s.error().message);
      }
      out.integrated_time = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(bundle->entry.integrated_time));
    }
  }
  return out;
}

Result<VerifiedSignature> verify_cosign_keyless(const CosignSignature& signature, const TrustedRoot& root,
                                                const CertificateIdentity& identity, std::string_view image_digest,
                                                const PayloadConstraints& constraints) {
  if (signature.certificate_pem.empty()) return permission_denied("no certificate: not a keyless signature");
  auto leaf = Certificate::from_pem(signature.certificate_pem);
  if (!leaf) return permission_denied("signing certificate does not parse: " + leaf.error().message);
  if (signature.rekor_bundle_json.empty()) {
    return permission_denied("no Rekor bundle: cannot establish signing time offline");
  }
  auto bundle = parse_cosign_rekor_bundle(signature.rekor_bundle_json);
  if (!bundle) return permission_denied("Rekor bundle: " + bundle.error().message);
  if (auto s = verify_rekor_set(bundle->entry, bundle->set_signature, root); !s) return s.error();
  // The SET vouches for the entry; the entry must be about this very signature, certificate and payload.
  if (auto s = check_hashedrekord_body(bundle->entry.body, signature.signature, signature.certificate_pem,
                                       sha256(signature.payload));
      !s) {
    return permission_denied(s.error().message);
  }
  const PublicKey key = leaf->public_key();
  auto status = key.verify(signature.payload, signature.signature, SignatureScheme::automatic, HashAlgorithm::sha256);
  if (!status) return permission_denied("signature does not verify with the certificate's key");
  std::vector<Certificate> chain;
  if (!signature.chain_pem.empty()) {
    auto certs = certificates_from_pem_bundle(signature.chain_pem);
    if (!certs) return permission_denied("certificate chain does not parse: " + certs.error().message);
    chain = std::move(*certs);
  }
  const auto integrated = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(bundle->entry.integrated_time));
  auto signer = verify_fulcio_certificate(*leaf, chain, root, identity, integrated);
  if (!signer) return signer.error();
  if (auto s = check_payload(signature.payload, image_digest, constraints); !s) return s.error();
  return VerifiedSignature{std::move(*signer), integrated};
}

}  // namespace imagegate::verifier
