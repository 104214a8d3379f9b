#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/notation/notation_fetcher.h"

#include <algorithm>
#include <utility>

#include "common/json_bounded.h"
#include "verifier/signature/cosign/cosign.h"
#include "verifier/signature/signature_fetcher.h"

namespace imagegate::verifier {

namespace asio = boost::asio;

namespace {

// A signature manifest is small (one config, one layer, a subject, a few annotations).
constexpr JsonLimits kSignatureManifestLimits{kMaxManifestBytes, 16, 1'000};

// The repository `name` (canonical, from a parsed reference) at a tag or a digest.
Result<ImageReference> at(const std::string& name, std::string_view tag, std::string_view digest) {
  return ImageReference::from_container_image(digest.empty() ? name + ":" + std::string(tag)
                                                             : name + "@" + std::string(digest));
}

std::string string_member(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The manifest's own media type: the registry's Content-Type, else its `mediaType` field.
std::string manifest_media_type(const FetchedManifest& manifest) {
  if (!manifest.media_type.empty()) return manifest.media_type;
  auto doc = parse_json_bounded(manifest.body, kManifestJsonLimits);
  if (!doc || !doc->is_object()) return "";
  return string_member(*doc, "mediaType");
}

// What a signature manifest says: its subject, its artifact type and its one layer. The reason it is not a
// Notation signature of `digest` otherwise.
struct SignatureManifest {
  std::string subject;
  std::string artifact_type;
  LayerDescriptor layer;
};

Result<SignatureManifest> read_signature_manifest(std::string_view body) {
  auto doc = parse_json_bounded(body, kSignatureManifestLimits);
  if (!doc) return doc.error();
  if (!doc->is_object()) return invalid_argument("not a JSON object");
  auto parsed = parse_manifest(body, 4);
  if (!parsed) return parsed.error();
  SignatureManifest out;
  out.artifact_type = parsed->artifact_type;
  const auto subject = doc->find("subject");
  if (subject == doc->end() || !subject->is_object()) return invalid_argument("has no subject");
  out.subject = string_member(*subject, "digest");
  if (parsed->layers.size() != 1) {
    return invalid_argument("has " + std::to_string(parsed->layers.size()) + " layers, a Notation signature has one");
  }
  out.layer = std::move(parsed->layers.front());
  return out;
}

bool skippable(ErrorCode code) {
  return code == ErrorCode::not_found || code == ErrorCode::permission_denied;
}

}  // namespace

NotationFetcher::NotationFetcher(RegistryClient& client, NotationFetchOptions options)
    : client_(client), options_(std::move(options)) {}

asio::awaitable<Result<FetchedNotation>> NotationFetcher::fetch(const ImageReference& image, std::string digest) const {
  if (validate_digest(digest)) co_return invalid_argument("not a sha256 digest: \"" + digest + "\"");
  const std::string repository = image.name();
  FetchedNotation out;
  out.digest = std::move(digest);
  auto target_ref = at(repository, "", out.digest);
  if (!target_ref) co_return target_ref.error();
  ++out.requests;
  Result<FetchedManifest> target = co_await client_.fetch_manifest(*target_ref);
  if (!target) co_return Error{target.error().code, "image manifest " + target_ref->string() + ": " + target.error().message};
  out.size = target->body.size();
  out.media_type = manifest_media_type(*target);

  Result<std::vector<std::string>> manifests = co_await signature_manifests(repository, out);
  if (!manifests) co_return manifests.error();
  for (const std::string& manifest_digest : *manifests) {
    Status fetched = co_await fetch_signature(repository, manifest_digest, out);
    if (!fetched) co_return fetched.error();
  }
  co_return out;
}

asio::awaitable<Result<std::vector<std::string>>> NotationFetcher::signature_manifests(const std::string& repository,
                                                                                     FetchedNotation& out) const {
  auto subject = at(repository, "", out.digest);
  if (!subject) co_return subject.error();
  // The referrers API, else the tag-schema fallback index (`sha256-<hex>`).
  ++out.requests;
  Result<FetchedManifest> index = co_await client_.fetch_referrers(*subject, out.digest);
  std::string source = "referrers of " + subject->string();
  if (!index && index.error().code == ErrorCode::not_found) {
    auto fallback = at(repository, referrers_fallback_tag(out.digest), "");
    if (!fallback) co_return fallback.error();
    source = "referrers index " + fallback->string();
    ++out.requests;
    index = co_await client_.fetch_manifest(*fallback);
    if (!index && index.error().code == ErrorCode::not_found) co_return std::vector<std::string>{};
  }
  if (!index) co_return Error{index.error().code, source + ": " + index.error().message};
  // Other artifact types share the index: bound the whole index generously, then the Notation entries.
  const std::size_t max_entries = 4 * options_.max_signatures;
  Result<ParsedManifest> parsed = parse_manifest(index->body, max_entries);
  if (!parsed) {
    if (parsed.error().code == ErrorCode::resource_exhausted) {
      co_return resource_exhausted("more than " + std::to_string(max_entries) + " entries in the " + source +
                                   " (" + parsed.error().message + ")");
    }
    co_return Error{parsed.error().code, source + ": " + parsed.error().message};
  }
  std::vector<std::string> digests;
  for (const LayerDescriptor& entry : parsed->manifests) {
    if (entry.artifact_type == notation::kSignatureArtifactType) digests.push_back(entry.digest);
  }
  if (digests.size() > options_.max_signatures) {
    co_return resource_exhausted("more than " + std::to_string(options_.max_signatures) +
                                 " Notation signatures for " + out.digest + " (" + std::to_string(digests.size()) +
                                 " in the " + source + ")");
  }
  co_return digests;
}

asio::awaitable<Status> NotationFetcher::fetch_signature(const std::string& repository,
                                                         const std::string& manifest_digest,
                                                         FetchedNotation& out) const {
  const std::string where = "signature " + manifest_digest;
  auto manifest_ref = at(repository, "", manifest_digest);
  if (!manifest_ref) {
    out.skipped.push_back(where + ": " + manifest_ref.error().message);
    co_return Ok{};
  }
  ++out.requests;
  Result<FetchedManifest> manifest = co_await client_.fetch_manifest(*manifest_ref);
  if (!manifest) {
    if (skippable(manifest.error().code)) {
      out.skipped.push_back(where + ": " + manifest.error().message);
      co_return Ok{};
    }
    co_return Error{manifest.error().code, where + ": " + manifest.error().message};
  }
  Result<SignatureManifest> read = read_signature_manifest(manifest->body);
  if (!read) {
    out.skipped.push_back(where + ": manifest " + read.error().message);
    co_return Ok{};
  }
  // The index is the registry's word only: the manifest itself must say whose signature it is.
  if (read->subject != out.digest) {
    out.skipped.push_back(where + ": its subject is " + (read->subject.empty() ? "empty" : read->subject) +
                          ", not " + out.digest);
    co_return Ok{};
  }
  if (read->artifact_type != notation::kSignatureArtifactType) {
    out.skipped.push_back(where + ": artifact type " + read->artifact_type + " is not a Notation signature");
    co_return Ok{};
  }
  const std::size_t max_bytes = std::min(options_.max_envelope_bytes, notation::kMaxEnvelopeBytes);
  if (read->layer.size > max_bytes) {
    out.skipped.push_back(where + ": envelope of " + std::to_string(read->layer.size) + " bytes exceeds " +
                          std::to_string(max_bytes));
    co_return Ok{};
  }
  ++out.requests;
  Result<std::string> blob = co_await client_.fetch_blob(*manifest_ref, read->layer.digest, max_bytes);
  if (!blob) {
    const ErrorCode code = blob.error().code;
    if (skippable(code) || code == ErrorCode::resource_exhausted) {
      out.skipped.push_back(where + ": envelope " + blob.error().message);
      co_return Ok{};
    }
    co_return Error{code, where + ": envelope " + blob.error().message};
  }
  out.signatures.push_back({manifest_digest, read->layer.media_type, std::move(blob.value())});
  co_return Ok{};
}

}  // namespace imagegate::verifier
