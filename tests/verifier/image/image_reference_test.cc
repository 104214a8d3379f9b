// Tests verifier/image/image_reference.cc against distribution/reference's own test tables
// (conformance/references/references.json, read in place: every case of every section), plus named
// negative and normalisation cases imagegate relies on.
#include "verifier/image/image_reference.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace imagegate::verifier {
namespace {

using nlohmann::json;

// ---- helpers -------------------------------------------------------------------------------------------

const ImageReference* ok(const ReferenceResult<ImageReference>& r) { return std::get_if<ImageReference>(&r); }
const ReferenceParseError* err(const ReferenceResult<ImageReference>& r) {
  return std::get_if<ReferenceParseError>(&r);
}
std::string describe(const ReferenceResult<ImageReference>& r) {
  if (const auto* e = err(r)) return std::string(reference_error_name(e->kind)) + ": " + e->error.message;
  if (const auto* ref = ok(r)) return "ok: " + ref->string();
  return "valueless";
}
// The error of a failed parse (a test failure, and a placeholder, when it did not fail).
ReferenceParseError error_of(const ReferenceResult<ImageReference>& r) {
  if (const auto* e = err(r)) return *e;
  ADD_FAILURE() << "expected an error, got " << describe(r);
  return {ReferenceError::name_not_canonical, Error{}};
}

// Expects failure with the error class the table names (e.g. "ErrNameTooLong").
void expect_error(const ReferenceResult<ImageReference>& r, const json& expected) {
  const ReferenceParseError e = error_of(r);
  EXPECT_EQ(reference_error_name(e.kind), expected.at("name").get<std::string>()) << describe(r);
  EXPECT_EQ(e.error.code, ErrorCode::invalid_argument);
  EXPECT_NE(e.error.message.find(expected.at("message").get<std::string>()), std::string::npos)
      << e.error.message;
}

// The reference of a successful parse, by value (callers often pass a temporary result).
ImageReference expect_ok(const ReferenceResult<ImageReference>& r) {
  if (const auto* ref = ok(r)) return *ref;
  ADD_FAILURE() << "expected success, got " << describe(r);
  return {};
}

std::string str(const json& c, const char* key) { return c.at(key).get<std::string>(); }

// ---- the conformance table -----------------------------------------------------------------------------

// ctest lists the tests by running the binary at build time without IMAGEGATE_CONFORMANCE_DIR, so fall back
// to the location of the vectors relative to this source file (<root>/main/tests/verifier -> <root>/shared).
std::filesystem::path references_json() {
  const auto from_env = testing::conformance_dir() / "references" / "references.json";
  if (std::filesystem::exists(from_env)) return from_env;
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "conformance" /
         "references" / "references.json";
}

struct ConformanceCase {
  std::string section;
  std::size_t index = 0;
  json data;
};

void PrintTo(const ConformanceCase& c, std::ostream* os) {
  std::string text = c.data.dump();
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  *os << c.section << "[" << c.index << "] " << text;
}

std::vector<ConformanceCase> load_cases() {
  std::vector<ConformanceCase> cases;
  try {
    const json doc = json::parse(testing::read_file(references_json()));
    for (const auto& [section, description] : doc.at("sections").items()) {
      (void)description;
      const json& list = doc.at(section);
      for (std::size_t i = 0; i < list.size(); ++i) cases.push_back({section, i, list.at(i)});
    }
  } catch (const std::exception& e) {
    // Surface a missing or broken table as one failing case rather than an empty, passing suite.
    cases.push_back({"load_error", 0, json{{"error", e.what()}}});
  }
  return cases;
}

class ReferenceConformance : public ::testing::TestWithParam<ConformanceCase> {};

void check_parse(const json& c) {
  const auto r = ImageReference::parse(str(c, "input"));
  if (!c.at("valid").get<bool>()) return expect_error(r, c.at("error"));
  const auto& ref = expect_ok(r);
  EXPECT_EQ(ref.name(), str(c, "name"));
  EXPECT_EQ(ref.domain(), str(c, "domain"));
  EXPECT_EQ(ref.tag(), str(c, "tag"));
  EXPECT_EQ(ref.digest(), str(c, "digest"));
  EXPECT_EQ(ref.string(), str(c, "string"));
  // Round trip: what we print parses back to the same reference.
  const auto again = ImageReference::parse(ref.string());
  EXPECT_EQ(expect_ok(again), ref);
}

void check_with_name_failure(const json& c) { expect_error(ImageReference::with_name(str(c, "input")), c.at("error")); }

void check_domain_and_path(const ReferenceResult<ImageReference>& r, const json& c) {
  if (!c.at("valid").get<bool>()) return expect_error(r, c.at("error"));
  const auto& ref = expect_ok(r);
  EXPECT_EQ(ref.domain(), str(c, "domain"));
  EXPECT_EQ(ref.path(), str(c, "path"));
}

void check_json_field(const json& c) {
  const auto r = ImageReference::parse(str(c, "input"));
  if (!c.at("valid").get<bool>()) return expect_error(r, c.at("error"));
  const auto& ref = expect_ok(r);
  EXPECT_EQ(ref.name(), str(c, "name"));
  EXPECT_EQ(ref.tag(), str(c, "tag"));
  EXPECT_EQ(ref.digest(), str(c, "digest"));
  EXPECT_EQ(ref.string(), str(c, "input"));  // MarshalText gives back what UnmarshalText read
}

void check_with_tag(const json& c) {
  auto r = ImageReference::with_name(str(c, "name"));
  if (!str(c, "digest").empty()) r = expect_ok(r).with_digest(str(c, "digest"));
  const auto tagged = expect_ok(r).with_tag(str(c, "tag"));
  EXPECT_EQ(expect_ok(tagged).string(), str(c, "combined"));
}

void check_with_digest(const json& c) {
  auto r = ImageReference::with_name(str(c, "name"));
  if (!str(c, "tag").empty()) r = expect_ok(r).with_tag(str(c, "tag"));
  const auto digested = expect_ok(r).with_digest(str(c, "digest"));
  EXPECT_EQ(expect_ok(digested).string(), str(c, "combined"));
}

void check_validity(const json& c) {
  const auto r = ImageReference::parse_normalized(str(c, "input"));
  EXPECT_EQ(ok(r) != nullptr, c.at("valid").get<bool>()) << describe(r);
  if (const auto* ref = ok(r)) {
    // A normalised reference is canonical: it parses to itself with either parser.
    EXPECT_EQ(expect_ok(ImageReference::parse(ref->string())), *ref);
    EXPECT_EQ(expect_ok(ImageReference::parse_named(ref->string())), *ref);
  }
}

void check_repository_info(const json& c) {
  const auto& ref = expect_ok(ImageReference::parse_normalized(str(c, "input")));
  EXPECT_EQ(ref.familiar_name(), str(c, "familiar_name"));
  EXPECT_EQ(ref.string(), str(c, "full_name"));
  EXPECT_EQ(ref.name(), str(c, "full_name"));
  EXPECT_EQ(ref.domain(), str(c, "domain"));
  EXPECT_EQ(ref.path(), str(c, "path"));
}

void check_tag_and_digest(const json& c) {
  const auto& ref = expect_ok(ImageReference::parse_normalized(str(c, "input")));
  EXPECT_EQ(ref.string(), str(c, "string"));
  EXPECT_EQ(ref.familiar_string(), str(c, "familiar_string"));
  EXPECT_EQ(ref.has_tag(), c.at("tagged").get<bool>());
  EXPECT_EQ(ref.has_digest(), c.at("digested").get<bool>());
}

void check_invalid_component(const json& c) {
  ASSERT_FALSE(c.at("valid").get<bool>());
  const std::string function = str(c, "function");
  if (function == "ParseNormalizedNamed") {
    EXPECT_NE(err(ImageReference::parse_normalized(str(c, "input"))), nullptr);
  } else if (function == "WithTag") {
    const auto r = expect_ok(ImageReference::parse_normalized(str(c, "name"))).with_tag(str(c, "tag"));
    EXPECT_EQ(error_of(r).kind, ReferenceError::tag_invalid);
  } else if (function == "WithDigest") {
    const auto r = expect_ok(ImageReference::parse_normalized(str(c, "name"))).with_digest(str(c, "digest"));
    EXPECT_EQ(error_of(r).kind, ReferenceError::digest_invalid);
  } else {
    ADD_FAILURE() << "unknown function " << function;
  }
}

void check_parse_any(const json& c) {
  const auto& ref = expect_ok(ImageReference::parse_any(str(c, "input")));
  EXPECT_EQ(ref.string(), str(c, "string"));
  EXPECT_EQ(ref.is_digest_only(), c.at("digest_only").get<bool>());
  if (ref.is_digest_only()) {
    EXPECT_EQ(ref.domain(), "");
    EXPECT_EQ(ref.path(), "");
  }
}

void check_familiar_match(const json& c) {
  const auto& ref = expect_ok(ImageReference::parse_any(str(c, "reference")));
  EXPECT_EQ(familiar_match(str(c, "pattern"), ref), c.at("expected").get<bool>());
}

void check_docker_ref(const json& c) {
  const auto r = ImageReference::parse_docker_ref(str(c, "input"));
  if (!c.at("valid").get<bool>()) {
    EXPECT_NE(err(r), nullptr) << describe(r);
    return;
  }
  EXPECT_EQ(expect_ok(r).string(), str(c, "expected"));
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized(str(c, "input"))).docker_ref(), str(c, "expected"));
}

TEST_P(ReferenceConformance, MatchesUpstream) {
  const ConformanceCase& tc = GetParam();
  const json& c = tc.data;
  const std::string& s = tc.section;
  if (s == "parse") {
    check_parse(c);
  } else if (s == "with_name_failure") {
    check_with_name_failure(c);
  } else if (s == "with_name_domain_and_path") {
    check_domain_and_path(ImageReference::with_name(str(c, "input")), c);
  } else if (s == "json_field_serialization") {
    check_json_field(c);
  } else if (s == "with_tag") {
    check_with_tag(c);
  } else if (s == "with_digest") {
    check_with_digest(c);
  } else if (s == "parse_named_canonical_only") {
    check_domain_and_path(ImageReference::parse_named(str(c, "input")), c);
  } else if (s == "normalized_name_validity" || s == "normalized_remote_name_validity") {
    check_validity(c);
  } else if (s == "normalized_repository_info") {
    check_repository_info(c);
  } else if (s == "normalized_tag_and_digest") {
    check_tag_and_digest(c);
  } else if (s == "normalized_invalid_components") {
    check_invalid_component(c);
  } else if (s == "parse_any_reference") {
    check_parse_any(c);
  } else if (s == "normalized_domain_and_path") {
    check_domain_and_path(ImageReference::parse_normalized(str(c, "input")), c);
  } else if (s == "familiar_match") {
    check_familiar_match(c);
  } else if (s == "parse_docker_ref") {
    check_docker_ref(c);
  } else {
    FAIL() << "unhandled section " << s << ": " << c.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(References, ReferenceConformance, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<ConformanceCase>& param_info) {
                           const ConformanceCase& c = param_info.param;
                           return c.section + "_" + std::to_string(c.index);
                         });

// The table has the 16 sections the README lists, each non-empty, so a truncated file cannot pass quietly.
TEST(ReferenceConformanceTable, HasEverySection) {
  const json doc = json::parse(testing::read_file(references_json()));
  const std::set<std::string> expected{"parse", "with_name_failure", "with_name_domain_and_path",
      "json_field_serialization", "with_tag", "with_digest", "parse_named_canonical_only",
      "normalized_name_validity", "normalized_remote_name_validity", "normalized_repository_info",
      "normalized_tag_and_digest", "normalized_invalid_components", "parse_any_reference",
      "normalized_domain_and_path", "familiar_match", "parse_docker_ref"};
  std::set<std::string> found;
  for (const auto& [section, description] : doc.at("sections").items()) {
    (void)description;
    found.insert(section);
    EXPECT_FALSE(doc.at(section).empty()) << section;
  }
  EXPECT_EQ(found, expected);
}

// ---- named negatives -----------------------------------------------------------------------------------

ReferenceError kind_of(const ReferenceResult<ImageReference>& r) { return error_of(r).kind; }

const std::string kHex64(64, 'a');

TEST(ImageReferenceNegative, OverLongInputIsRejectedWithoutParsing) {
  const std::string huge = "docker.io/library/nginx:" + std::string(kMaxReferenceLength, 'a');
  EXPECT_EQ(kind_of(ImageReference::parse(huge)), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse_normalized(huge)), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse_any(huge)), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::with_name(std::string(kMaxReferenceLength + 1, 'a'))),
            ReferenceError::invalid_format);
  // The message repeats only a bounded prefix of the input.
  const auto r = ImageReference::parse(huge);
  EXPECT_LT(error_of(r).error.message.size(), 400U);
}

TEST(ImageReferenceNegative, NulBytesAreRejectedAndEscapedInMessages) {
  const std::string with_nul("nginx\0:latest", 13);
  const auto r = ImageReference::parse_normalized(with_nul);
  EXPECT_EQ(kind_of(r), ReferenceError::invalid_format);
  const std::string message = error_of(r).error.message;
  EXPECT_EQ(message.find('\0'), std::string::npos);
  EXPECT_NE(message.find("\\x00"), std::string::npos) << message;
  EXPECT_EQ(kind_of(ImageReference::parse(std::string("a/b\0", 4))), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse(std::string("\0", 1))), ReferenceError::invalid_format);
}

TEST(ImageReferenceNegative, NonAsciiIsRejected) {
  EXPECT_EQ(kind_of(ImageReference::parse("ngïnx")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("example.com/ngïnx:latest")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx:läTest")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("exämple.com/nginx")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse_normalized("\xff\xfe")), ReferenceError::invalid_format);
}

TEST(ImageReferenceNegative, SeparatorsAlone) {
  EXPECT_EQ(kind_of(ImageReference::parse(":")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("@")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("/")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse_normalized(":")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse_normalized("")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("")), ReferenceError::name_empty);
}

TEST(ImageReferenceNegative, TrailingSeparators) {
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx:")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx:latest@")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx/")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:" + kHex64 + "@")), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@@sha256:" + kHex64)), ReferenceError::invalid_format);
}

TEST(ImageReferenceNegative, DigestCaseAndLength) {
  // The grammar accepts uppercase hex, go-digest does not (sha256 is lowercase only).
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:" + std::string(64, 'F'))),
            ReferenceError::digest_invalid);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@SHA256:" + kHex64)), ReferenceError::digest_invalid);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:" + kHex64 + "a")), ReferenceError::digest_invalid_length);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:" + std::string(40, 'a'))),
            ReferenceError::digest_invalid_length);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:" + std::string(31, 'a'))), ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha256:" + std::string(63, 'a') + "g")),
            ReferenceError::invalid_format);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@sha384:" + std::string(96, 'a'))),
            ReferenceError::digest_unsupported);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx@md5:" + std::string(32, 'a'))), ReferenceError::digest_unsupported);
  EXPECT_EQ(validate_digest("sha256:" + kHex64), std::nullopt);
  EXPECT_EQ(validate_digest("sha256"), ReferenceError::digest_invalid);
  EXPECT_EQ(validate_digest(":" + kHex64), ReferenceError::digest_invalid);
  EXPECT_EQ(validate_digest("Sha256:" + kHex64), ReferenceError::digest_invalid);
}

TEST(ImageReferenceNegative, UppercaseRepositoryNames) {
  const auto r = ImageReference::from_container_image("Foo");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(r.error().message, "invalid image reference \"Foo\": repository name must be lowercase");
  EXPECT_EQ(kind_of(ImageReference::parse_normalized("library/Nginx:latest")), ReferenceError::name_contains_uppercase);
  EXPECT_EQ(kind_of(ImageReference::parse_normalized("example.com/Nginx")), ReferenceError::name_contains_uppercase);
  // Uppercase is fine in the domain and in the tag.
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("Example.COM/nginx:LATEST")).string(),
            "Example.COM/nginx:LATEST");
}

TEST(ImageReferenceNegative, NameLengthLimit) {
  const std::string path255 = "a" + std::string(253, 'b') + "c";
  ASSERT_EQ(path255.size(), kMaxNameLength);
  EXPECT_EQ(expect_ok(ImageReference::parse("example.com/" + path255)).path(), path255);
  EXPECT_EQ(expect_ok(ImageReference::with_name("example.com/" + path255)).path(), path255);
  EXPECT_EQ(kind_of(ImageReference::parse("example.com/" + path255 + "d")), ReferenceError::name_too_long);
  EXPECT_EQ(kind_of(ImageReference::parse(path255 + "d")), ReferenceError::name_too_long);
  EXPECT_EQ(kind_of(ImageReference::with_name(path255 + "d")), ReferenceError::name_too_long);
  // Normalisation counts: "library/" + 248 characters is the longest official image name.
  EXPECT_NE(ok(ImageReference::parse_normalized(std::string(247, 'a'))), nullptr);
  EXPECT_EQ(kind_of(ImageReference::parse_normalized(std::string(248, 'a'))), ReferenceError::name_too_long);
  // The tag is limited to 128 characters.
  EXPECT_NE(ok(ImageReference::parse("nginx:" + std::string(128, 't'))), nullptr);
  EXPECT_EQ(kind_of(ImageReference::parse("nginx:" + std::string(129, 't'))), ReferenceError::invalid_format);
}

TEST(ImageReferenceNegative, MalformedComponents) {
  for (const char* bad : {"-nginx", "nginx-", "ngi..nx", "ngi___nx", "a//b", "exa_mple.com:80/x", "host:/x",
                          "host:port/x", "[]/x", "[::1/x", "[::1]x/y", "[::g]/x", "-host.com/x", "host-.com/x",
                          "host..com/x", "nginx:-tag", "nginx:.tag", "nginx:a:b", "nginx@sha256:zz"}) {
    EXPECT_NE(err(ImageReference::parse(bad)), nullptr) << bad;
  }
  for (const char* good : {"a", "a.b", "a_b", "a__b", "a---b", "localhost:5000/x", "host-1.com/x", "[::1]/x",
                           "nginx:_tag", "nginx:T.a-g_1"}) {
    EXPECT_NE(ok(ImageReference::parse(good)), nullptr) << good;
  }
}

// ---- normalisation used by imagegate -------------------------------------------------------------------

TEST(ImageReferenceNormalisation, EffectiveTagAndDockerRef) {
  const auto& plain = expect_ok(ImageReference::parse_normalized("nginx"));
  EXPECT_EQ(plain.string(), "docker.io/library/nginx");
  EXPECT_EQ(plain.effective_tag(), "latest");
  EXPECT_EQ(plain.docker_ref(), "docker.io/library/nginx:latest");
  EXPECT_EQ(plain.familiar_string(), "nginx");

  const auto& tagged = expect_ok(ImageReference::parse_normalized("index.docker.io/bitnami/redis:7.2"));
  EXPECT_EQ(tagged.string(), "docker.io/bitnami/redis:7.2");
  EXPECT_EQ(tagged.effective_tag(), "7.2");
  EXPECT_EQ(tagged.docker_ref(), "docker.io/bitnami/redis:7.2");
  EXPECT_EQ(tagged.familiar_string(), "bitnami/redis:7.2");

  const std::string digest = "sha256:" + kHex64;
  const auto& pinned = expect_ok(ImageReference::parse_normalized("ghcr.io/org/app:v1@" + digest));
  EXPECT_EQ(pinned.effective_tag(), "v1");
  EXPECT_EQ(pinned.docker_ref(), "ghcr.io/org/app@" + digest);
  EXPECT_EQ(pinned.familiar_string(), "ghcr.io/org/app:v1@" + digest);

  const auto& digest_only = expect_ok(ImageReference::parse_normalized("busybox@" + digest));
  EXPECT_EQ(digest_only.effective_tag(), "");
  EXPECT_EQ(digest_only.docker_ref(), "docker.io/library/busybox@" + digest);
  EXPECT_EQ(digest_only.familiar_string(), "busybox@" + digest);
}

TEST(ImageReferenceNormalisation, FamiliarForms) {
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("docker.io/nginx")).familiar_name(), "nginx");
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("docker.io/library/a/b")).familiar_name(), "library/a/b");
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("localhost/nginx")).familiar_name(), "localhost/nginx");
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("localhost:5000/nginx")).string(), "localhost:5000/nginx");
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("[::1]:5000/nginx:1")).domain(), "[::1]:5000");
  // parse() does not normalise; a bare name has no domain.
  const auto& raw = expect_ok(ImageReference::parse("nginx"));
  EXPECT_EQ(raw.domain(), "");
  EXPECT_EQ(raw.familiar_name(), "nginx");
}

TEST(ImageReferenceNormalisation, ImageIdsAreNotNames) {
  EXPECT_EQ(kind_of(ImageReference::parse_normalized(kHex64)), ReferenceError::invalid_format);
  const auto& id = expect_ok(ImageReference::parse_any(kHex64));
  EXPECT_TRUE(id.is_digest_only());
  EXPECT_EQ(id.string(), "sha256:" + kHex64);
  EXPECT_EQ(id.docker_ref(), "sha256:" + kHex64);
  EXPECT_EQ(kind_of(id.with_tag("latest")), ReferenceError::invalid_format);
}

TEST(ImageReferenceNormalisation, FromContainerImage) {
  const auto r = ImageReference::from_container_image("quay.io/prometheus/node-exporter:v1.8.0");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->domain(), "quay.io");
  EXPECT_EQ(r->path(), "prometheus/node-exporter");
  EXPECT_EQ(r->tag(), "v1.8.0");
  // Upstream leaves these without a domain; the runtime would pull from host "a_b.c", so refuse.
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("a_b.c/d")).domain(), "");
  EXPECT_FALSE(ImageReference::from_container_image("a_b.c/d").ok());
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("localhosdocker.i__b/c")).path(), "localhosdocker.i__b/c");
  EXPECT_FALSE(ImageReference::from_container_image("localhosdocker.i__b/c").ok());
  const auto bad = ImageReference::from_container_image("nginx:lat est");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "invalid image reference \"nginx:lat est\": invalid reference format");
}

// ---- canonical registry hosts (issue 13: one spelling per registry) ------------------------------------

TEST(CanonicalRegistryHost, FromContainerImageCarriesTheCanonicalDomain) {
  const std::pair<std::string, std::string> cases[] = {
      {"LOCALHOST:5000/app:v1", "localhost:5000/app:v1"},
      {"Localhost:5000/app", "localhost:5000/app"},
      {"myreg.example.com:443/team/app:1", "myreg.example.com/team/app:1"},
      {"registry-1.docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"},
      {"registry-1.docker.io/nginx:1.27", "docker.io/library/nginx:1.27"},
      {"index.docker.io/nginx", "docker.io/library/nginx"},
      {"[0::1]:5000/app@sha256:" + std::string(64, 'a'), "[::1]:5000/app@sha256:" + std::string(64, 'a')},
  };
  for (const auto& [input, expected] : cases) {
    const auto r = ImageReference::from_container_image(input);
    ASSERT_TRUE(r.ok()) << input << ": " << r.error().message;
    EXPECT_EQ(r->string(), expected) << input;
  }
  // Upstream's parser (the conformance table) keeps the spelling; only what imagegate evaluates is canonical.
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("LOCALHOST:5000/app")).domain(), "LOCALHOST:5000");
  // A host only for its capitals has no spelling that stays a host once lowercased: refused.
  EXPECT_EQ(expect_ok(ImageReference::parse_normalized("Foo/app")).domain(), "Foo");
  const auto capitals = ImageReference::from_container_image("Foo/app");
  ASSERT_FALSE(capitals.ok());
  EXPECT_NE(capitals.error().message.find("needs a '.' or a port"), std::string::npos) << capitals.error().message;
  EXPECT_EQ(ImageReference::from_container_image("LOCALHOST/app:1").value().string(), "localhost/app:1");
  const auto bad = ImageReference::from_container_image("127.1:5000/app");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("invalid image reference \"127.1:5000/app\""), std::string::npos)
      << bad.error().message;
}

// ---- path.Match ----------------------------------------------------------------------------------------

}  // namespace
}  // namespace imagegate::verifier
