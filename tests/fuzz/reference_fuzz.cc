// libFuzzer target for verifier/image/image_reference.cc: every parser on arbitrary bytes, and for each success
// the round-trip invariants the rest of imagegate relies on (what we print parses back to the same
// reference). Any broken invariant aborts, so the fuzzer reports it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "verifier/image/image_reference.h"

namespace {

using imagegate::verifier::ImageReference;
using imagegate::verifier::ReferenceParseError;
using imagegate::verifier::ReferenceResult;

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "reference_fuzz: %s (input %zu bytes)\n", what, input.size());
  std::abort();
}

const ImageReference* ok(const ReferenceResult<ImageReference>& r) { return std::get_if<ImageReference>(&r); }

void check_error(const ReferenceResult<ImageReference>& r, std::string_view input) {
  const auto* e = std::get_if<ReferenceParseError>(&r);
  if (e == nullptr) return;
  // Messages repeat untrusted input: it must come out escaped (no control bytes) and bounded.
  for (char c : e->error.message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) fail("unescaped byte in error message", input);
  }
  if (e->error.message.size() > 2048) fail("unbounded error message", input);
}

// The same reference, whichever way we come back to it.
void expect_same(const ReferenceResult<ImageReference>& again, const ImageReference& ref, const char* what,
                 std::string_view input) {
  const auto* other = ok(again);
  if (other == nullptr || !(*other == ref)) fail(what, input);
}

void check_components(const ImageReference& ref, std::string_view input) {
  if (ref.has_tag()) {
    expect_same(ref.with_tag(ref.tag()), ref, "with_tag(tag()) changed the reference", input);
  }
  if (ref.has_digest() && !ref.is_digest_only()) {
    expect_same(ref.with_digest(ref.digest()), ref, "with_digest(digest()) changed the reference", input);
    if (imagegate::verifier::validate_digest(ref.digest())) fail("accepted an invalid digest", input);
  }
  if (!ref.is_digest_only()) {
    const auto named = ImageReference::with_name(ref.name());
    const auto* n = ok(named);
    if (n == nullptr || n->domain() != ref.domain() || n->path() != ref.path()) {
      fail("with_name(name()) does not give back domain and path", input);
    }
    if (ref.path().size() > imagegate::verifier::kMaxNameLength) fail("path over the length limit", input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto parsed = ImageReference::parse(input);
  check_error(parsed, input);
  if (const auto* ref = ok(parsed)) {
    if (ref->string() != input) fail("parse: string() differs from the input", input);
    expect_same(ImageReference::parse(ref->string()), *ref, "parse: string() does not re-parse", input);
    check_components(*ref, input);
  }

  const auto normalized = ImageReference::parse_normalized(input);
  check_error(normalized, input);
  if (const auto* ref = ok(normalized)) {
    const std::string canonical = ref->string();
    expect_same(ImageReference::parse(canonical), *ref, "parse_normalized: string() does not parse", input);
    expect_same(ImageReference::parse_normalized(canonical), *ref, "parse_normalized: not idempotent", input);
    expect_same(ImageReference::parse_named(canonical), *ref, "parse_normalized: string() not canonical", input);
    const auto docker = ImageReference::parse_docker_ref(input);
    const auto* d = ok(docker);
    if (d == nullptr || d->string() != ref->docker_ref()) fail("parse_docker_ref differs from docker_ref()", input);
    expect_same(ImageReference::parse(d->string()), *d, "docker_ref() does not re-parse", input);
    if (!ref->has_digest() && ref->effective_tag().empty()) fail("no effective tag", input);
    // from_container_image: parse_normalized with a domain, in canonical_registry_host form, and stable.
    const auto from_pod = ImageReference::from_container_image(input);
    if (from_pod.ok() && ref->domain().empty()) fail("from_container_image: accepted no domain", input);
    if (!ref->domain().empty()) {
      const auto host = imagegate::verifier::canonical_registry_host(ref->domain());
      if (!host.ok() && from_pod.ok()) fail("from_container_image: accepted a host without a canonical form", input);
      if (host.ok()) {
        const auto again = imagegate::verifier::canonical_registry_host(*host);
        if (!again.ok() || *again != *host) fail("canonical_registry_host is not idempotent", input);
      }
    }
    if (from_pod.ok()) {
      if (from_pod->domain() != imagegate::verifier::canonical_registry_host(ref->domain()).value() ||
          from_pod->tag() != ref->tag() || from_pod->digest() != ref->digest()) {
        fail("from_container_image differs from parse_normalized beyond the host", input);
      }
      const auto again = ImageReference::from_container_image(from_pod->string());
      if (!again.ok() || !(*again == *from_pod)) fail("from_container_image: string() not stable", input);
      check_components(*from_pod, input);
    }
    check_components(*ref, input);
  } else if (ImageReference::from_container_image(input).ok()) {
    fail("from_container_image accepted what parse_normalized rejected", input);
  }

  const auto any = ImageReference::parse_any(input);
  check_error(any, input);
  if (const auto* ref = ok(any)) {
    expect_same(ImageReference::parse_any(ref->string()), *ref, "parse_any: string() does not re-parse", input);
    if (ref->is_digest_only() != (ref->path().empty())) fail("parse_any: digest-only without a digest", input);
    check_components(*ref, input);
    // The input as a glob against the reference: must not crash, and a literal matches itself.
    (void)imagegate::verifier::familiar_match(input, *ref);
  }

  const auto named = ImageReference::with_name(input);
  check_error(named, input);
  if (const auto* ref = ok(named)) {
    if (ref->name() != input) fail("with_name: name() differs from the input", input);
  }

  // path.Match: split at the first newline into pattern and name; a pattern free of metacharacters matches
  // exactly itself.
  const std::size_t nl = input.find('\n');
  const std::string_view pattern = input.substr(0, nl);
  const std::string_view name = nl == std::string_view::npos ? input : input.substr(nl + 1);
  (void)imagegate::verifier::path_match(pattern, name);
  if (pattern.find_first_of("*?[\\") == std::string_view::npos) {
    const auto self = imagegate::verifier::path_match(pattern, pattern);
    if (pattern.size() <= imagegate::verifier::kMaxReferenceLength && self != true) {
      fail("literal pattern does not match itself", input);
    }
    const auto other = imagegate::verifier::path_match(pattern, name);
    if (other.has_value() && *other != (pattern == name)) fail("literal pattern matched another name", input);
  }
  return 0;
}
