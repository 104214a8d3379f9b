#include "common/asio_warnings.h"  // before any Asio header

#include "verifier/signature/signature_fetcher.h"

#include <algorithm>
#include <utility>
#include <tuple>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "verifier/signature/sigstore/sigstore_bundle.h"

namespace imagegate::verifier {

namespace asio = boost::asio;

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool is_bundle_media_type(std::string_view media_type) {
  return starts_with(media_type, kSigstoreBundleMediaTypePrefix);
}

// `name` (no tag, no digest) with a tag or digest. The name comes from a parsed reference or the
// configuration, so failure here means a bad digest/tag computed from registry data: invalid_argument.
Result<ImageReference> with_name(const std::string& name, std::string_view tag, std::string_view digest) {
  auto base = ImageReference::with_name(name);
  if (auto* err = std::get_if<ReferenceParseError>(&base)) return err->error;
  auto& ref = std::get<ImageReference>(base);
  auto out = digest.empty() ? ref.with_tag(tag) : ref.with_digest(digest);
  if (auto* err = std::get_if<ReferenceParseError>(&out)) return err->error;
  return std::get<ImageReference>(std::move(out));
}

// parse_manifest's refusal of more entries than asked for ("manifest lists N layers, more than the limit
// of M"), as opposed to its other resource_exhausted refusals (bytes, JSON depth or values), which keep
// their own message.
bool is_entry_limit(const Error& e) {
  return e.code == ErrorCode::resource_exhausted && starts_with(e.message, "manifest lists ");
}

}  // namespace

std::string referrers_fallback_tag(std::string_view digest) {
  std::string tag(digest);
  if (auto colon = tag.find(':'); colon != std::string::npos) tag[colon] = '-';
  return tag;
}

SignatureFetcher::SignatureFetcher(RegistryClient& client, SignatureFetchOptions options)
    : client_(client), options_(std::move(options)) {}

asio::awaitable<Result<FetchedSignatures>> SignatureFetcher::fetch(const ImageReference& image, std::string digest) {
  // A named awaitable, not a temporary in the co_await expression (GCC 12 destroys those twice).
  asio::awaitable<Result<FetchedSignatures>> task = fetch(image, std::move(digest), std::string());
  co_return co_await std::move(task);
}

asio::awaitable<Result<FetchedSignatures>> SignatureFetcher::fetch(const ImageReference& image, std::string digest,
                                                                   std::string signature_repository) {
  if (validate_digest(digest)) co_return invalid_argument("not a sha256 digest: \"" + digest + "\"");
  if (signature_repository.empty()) signature_repository = options_.signature_repository;
  std::string repository = image.name();
  if (!signature_repository.empty()) {
    // A repository name, not a reference: a tag or digest in it would be silently ignored, so refuse it.
    auto configured = ImageReference::from_container_image(signature_repository);  // canonical registry host
    if (!configured) {
      co_return invalid_argument("signature repository \"" + signature_repository + "\": " + configured.error().message);
    }
    const ImageReference& ref = *configured;
    if (ref.has_tag() || ref.has_digest()) {
      co_return invalid_argument("signature repository \"" + signature_repository +
                                 "\" must be a repository name without tag or digest");
    }
    repository = ref.name();
  }
  FetchedSignatures out;
  out.digest = std::move(digest);
  auto sig_ref = with_name(repository, cosign_signature_tag(out.digest), "");
  if (!sig_ref) co_return sig_ref.error();
  auto subject = with_name(repository, "", out.digest);
  if (!subject) co_return subject.error();
  // Both places always, since an anchor may be satisfied by either format. The `.sig` manifest with its
  // payloads and the referrers index are read at once; the bundles the index lists are read after (they
  // are bounded by what is left of max_signatures), and a failure is reported as when the places were read
  // one after the other: the `.sig` place's first.
  using namespace asio::experimental::awaitable_operators;
  asio::awaitable<Lookup> sig_task = lookup_cosign(*sig_ref);
  asio::awaitable<Lookup> index_task = lookup_bundles(repository, *subject);
  asio::awaitable<std::tuple<Lookup, Lookup>> both = std::move(sig_task) && std::move(index_task);
  std::tuple<Lookup, Lookup> found = co_await std::move(both);
  Lookup& sig = std::get<0>(found);
  Lookup& index = std::get<1>(found);
  if (sig.error) co_return *sig.error;
  out.cosign = std::move(sig.read.cosign);
  out.skipped = std::move(sig.read.skipped);
  out.requests += sig.requests + sig.read.requests + index.requests;
  if (index.error) co_return *index.error;
  if (index.manifest) {
    Status bundles = co_await read_bundles(repository, index.source, *index.manifest, out);
    if (!bundles) co_return bundles.error();
  }
  co_return out;
}

asio::awaitable<SignatureFetcher::Lookup> SignatureFetcher::lookup_cosign(ImageReference sig_ref) {
  Lookup out;
  out.requests = 1;
  Result<FetchedManifest> manifest = co_await client_.fetch_manifest(sig_ref);
  if (!manifest) {
    // No `.sig` tag: the image has no classic signatures. Anything else is the registry's trouble.
    if (manifest.error().code != ErrorCode::not_found) {
      out.error = Error{manifest.error().code, "signature manifest " + sig_ref.string() + ": " + manifest.error().message};
    }
    co_return out;
  }
  Status read = co_await read_cosign(sig_ref, *manifest, out.read);
  if (!read) out.error = read.error();
  co_return out;
}

asio::awaitable<SignatureFetcher::Lookup> SignatureFetcher::lookup_bundles(std::string repository,
                                                                           ImageReference subject) {
  Lookup out;
  // The referrers API, else the tag-schema fallback index (`sha256-<hex>`).
  out.requests = 1;
  out.source = "referrers of " + subject.string();
  Result<FetchedManifest> index = co_await client_.fetch_referrers(subject, subject.digest());
  if (!index && index.error().code == ErrorCode::not_found) {
    auto fallback = with_name(repository, referrers_fallback_tag(subject.digest()), "");
    if (!fallback) {
      out.error = fallback.error();
      co_return out;
    }
    out.source = "referrers index " + fallback->string();
    ++out.requests;
    index = co_await client_.fetch_manifest(*fallback);
    if (!index && index.error().code == ErrorCode::not_found) co_return out;
  }
  if (!index) {
    out.error = Error{index.error().code, out.source + ": " + index.error().message};
  } else {
    out.manifest = std::move(index.value());
  }
  co_return out;
}

asio::awaitable<Status> SignatureFetcher::read_cosign(const ImageReference& sig_ref, const FetchedManifest& manifest,
                                                      FetchedSignatures& out) {
  const std::size_t max_payload = std::min(options_.max_payload_bytes, kMaxSignaturePayloadBytes);
  Result<ParsedManifest> parsed = parse_manifest(manifest.body, options_.max_signatures);
  if (!parsed) {
    if (is_entry_limit(parsed.error())) {
      co_return resource_exhausted("more than " + std::to_string(options_.max_signatures) + " signatures in " +
                                   sig_ref.string());
    }
    co_return Error{parsed.error().code, "signature manifest " + sig_ref.string() + ": " + parsed.error().message};
  }
  std::size_t index = 0;
  for (const LayerDescriptor& layer : parsed->layers) {
    ++index;
    const std::string where = "signature layer " + std::to_string(index);
    // Check the claimed size before asking: the registry's claim is not trusted, but a layer that says it
    // is too big is skipped without a request. fetch_blob enforces the bound on the bytes themselves.
    if (layer.size > max_payload) {
      out.skipped.push_back(where + ": payload of " + std::to_string(layer.size) + " bytes exceeds " +
                            std::to_string(max_payload));
      continue;
    }
    ++out.requests;
    Result<std::string> payload = co_await client_.fetch_blob(sig_ref, layer.digest, max_payload);
    if (!payload) {
      const ErrorCode code = payload.error().code;
      if (code == ErrorCode::not_found || code == ErrorCode::resource_exhausted ||
          code == ErrorCode::permission_denied) {
        out.skipped.push_back(where + ": " + payload.error().message);
        continue;
      }
      co_return Error{code, where + " of " + sig_ref.string() + ": " + payload.error().message};
    }
    Result<CosignSignature> signature = cosign_signature_from_layer(layer, std::move(payload.value()));
    if (!signature) {
      out.skipped.push_back(where + ": " + signature.error().message);
      continue;
    }
    out.cosign.push_back(std::move(signature.value()));
  }
  co_return Ok{};
}

asio::awaitable<Status> SignatureFetcher::read_bundles(const std::string& repository, const std::string& source,
                                                       const FetchedManifest& index, FetchedSignatures& out) {
  const std::size_t room = options_.max_signatures - std::min(options_.max_signatures, out.cosign.size() + out.skipped.size());
  // Other artifact types (SBOMs, attestations) share the index: bound the whole index generously, then
  // bound the bundles by what is left of max_signatures.
  Result<ParsedManifest> parsed = parse_manifest(index.body, 4 * options_.max_signatures);
  if (!parsed) {
    if (is_entry_limit(parsed.error())) {
      co_return resource_exhausted("more than " + std::to_string(4 * options_.max_signatures) + " entries in the " +
                                   source);
    }
    co_return Error{parsed.error().code, source + ": " + parsed.error().message};
  }
  std::vector<const LayerDescriptor*> entries;
  for (const LayerDescriptor& entry : parsed->manifests) {
    if (is_bundle_media_type(entry.artifact_type)) entries.push_back(&entry);
  }
  if (entries.size() > room) {
    co_return resource_exhausted("more than " + std::to_string(options_.max_signatures) +
                                 " signatures for " + out.digest + " (" + std::to_string(out.cosign.size()) +
                                 " cosign, " + std::to_string(entries.size()) + " Sigstore bundles)");
  }
  std::size_t number = 0;
  for (const LayerDescriptor* entry : entries) {
    ++number;
    const std::string where = "bundle referrer " + std::to_string(number) + " (" + entry->digest + ")";
    auto manifest_ref = with_name(repository, "", entry->digest);
    if (!manifest_ref) {
      out.skipped.push_back(where + ": " + manifest_ref.error().message);
      continue;
    }
    ++out.requests;
    Result<FetchedManifest> manifest = co_await client_.fetch_manifest(*manifest_ref);
    if (!manifest) {
      if (manifest.error().code == ErrorCode::not_found || manifest.error().code == ErrorCode::permission_denied) {
        out.skipped.push_back(where + ": " + manifest.error().message);
        continue;
      }
      co_return Error{manifest.error().code, where + ": " + manifest.error().message};
    }
    Result<ParsedManifest> bundle_manifest = parse_manifest(manifest->body, 4);
    if (!bundle_manifest) {
      out.skipped.push_back(where + ": " + bundle_manifest.error().message);
      continue;
    }
    const LayerDescriptor* layer = nullptr;
    for (const LayerDescriptor& l : bundle_manifest->layers) {
      if (is_bundle_media_type(l.media_type)) {
        layer = &l;
        break;
      }
    }
    if (layer == nullptr) {
      out.skipped.push_back(where + ": no Sigstore bundle layer");
      continue;
    }
    if (layer->size > kMaxBundleBytes) {
      out.skipped.push_back(where + ": bundle of " + std::to_string(layer->size) + " bytes exceeds " +
                            std::to_string(kMaxBundleBytes));
      continue;
    }
    ++out.requests;
    Result<std::string> blob = co_await client_.fetch_blob(*manifest_ref, layer->digest, kMaxBundleBytes);
    if (!blob) {
      const ErrorCode code = blob.error().code;
      if (code == ErrorCode::not_found || code == ErrorCode::resource_exhausted || code == ErrorCode::permission_denied) {
        out.skipped.push_back(where + ": " + blob.error().message);
        continue;
      }
      co_return Error{code, where + ": " + blob.error().message};
    }
    out.bundles.push_back(std::move(blob.value()));
  }
  co_return Ok{};
}

}  // namespace imagegate::verifier
