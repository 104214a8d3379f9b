// Tests for verifier/registry/oci_index.cc: real indexes (image-spec examples, the distribution docs' manifest
// list, a Docker Hub index with its exact bytes) and the image-spec schema's index cases, read in place
// from the conformance vectors; then negatives -- not an index, oversize, bad digests, missing fields.
#include "verifier/registry/oci_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/test_support.h"

namespace imagegate::verifier {
namespace {

using ::testing::HasSubstr;

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');

std::string oci_dir() { return (imagegate::testing::conformance_dir() / "oci").string(); }

std::string index_with(const std::string& descriptor, const std::string& extra = "") {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)" + extra +
         R"("manifests":[)" + descriptor + "]}";
}

std::string descriptor(const std::string& digest, const std::string& platform = R"({"os":"linux","architecture":"amd64"})") {
  return R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1234,"digest":")" + digest +
         R"(","platform":)" + platform + "}";
}

TEST(OciIndex, ImageSpecExample) {
  const std::string body = imagegate::testing::read_file(oci_dir() + "/image-spec/examples/image-index__image-index.json");
  Result<ImageIndex> index = parse_image_index(body, "application/vnd.oci.image.index.v1+json");
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(index->media_type, kOciIndexMediaType);
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[0].digest, "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f");
  EXPECT_EQ(index->manifests[0].size, 7143u);
  ASSERT_TRUE(index->manifests[0].platform.has_value());
  EXPECT_EQ(index->manifests[0].platform->string(), "linux/ppc64le");
  EXPECT_EQ(index->manifests[1].platform->string(), "linux/amd64");
  const IndexManifest* found = index->find("sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->size, 7682u);
  EXPECT_EQ(index->find(kDigestA), nullptr);
}

TEST(OciIndex, NestedIndexWithoutPlatform) {
  const std::string body = imagegate::testing::read_file(oci_dir() + "/image-spec/examples/image-index__image-index-2.json");
  Result<ImageIndex> index = parse_image_index(body);
  ASSERT_TRUE(index.ok()) << index.error().message;
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[1].media_type, kOciIndexMediaType);
  EXPECT_FALSE(index->manifests[1].platform.has_value());
}

TEST(OciIndex, DockerManifestLists) {
  const std::string docs =
      imagegate::testing::read_file(oci_dir() + "/distribution-docs/manifest-v2-2__example-manifest-list.json");
  Result<ImageIndex> index = parse_image_index(docs, "application/vnd.docker.distribution.manifest.list.v2+json");
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(index->media_type, kDockerManifestListMediaType);
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[1].platform->architecture, "amd64");

  // Docker Hub's real bytes: every platform listed, digests as published.
  const std::string hub = imagegate::testing::read_file(
      oci_dir() + "/docker-hub-real/imageindex-sha256-4ffd0883f25635999f04ea543240a27c9a4341979ff7d46a9774f71512eebb1f.json");
  Result<ImageIndex> real = parse_image_index(hub);
  ASSERT_TRUE(real.ok()) << real.error().message;
  const nlohmann::json doc = nlohmann::json::parse(hub);
  ASSERT_EQ(real->manifests.size(), doc["manifests"].size());
  for (const auto& m : doc["manifests"]) {
    EXPECT_NE(real->find(m["digest"].get<std::string>()), nullptr) << m["digest"];
  }
}

// The image-spec schema's index table (schema/imageindex_test.go): the parser accepts what the schema
// accepts and refuses what it refuses.
TEST(OciIndex, ImageSpecSchemaCases) {
  const nlohmann::json cases = nlohmann::json::parse(
      imagegate::testing::read_file(oci_dir() + "/image-spec/schema-validation-cases.json"))["imageindex"];
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    Result<ImageIndex> index = parse_image_index(c["document"].get<std::string>(), c["validate_as"].get<std::string>());
    EXPECT_EQ(index.ok(), c["valid"].get<bool>())
        << c["description"] << ": " << (index.ok() ? std::string("accepted") : index.error().message);
  }
}

TEST(OciIndex, MediaTypeFromTheContentTypeWhenTheDocumentHasNone) {
  const std::string body = R"({"schemaVersion":2,"manifests":[)" + descriptor(kDigestA) + "]}";
  Result<ImageIndex> index = parse_image_index(body, "application/vnd.oci.image.index.v1+json; charset=utf-8");
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(index->media_type, kOciIndexMediaType);
  EXPECT_NE(index->find(kDigestA), nullptr);
}

TEST(OciIndex, MediaTypes) {
  EXPECT_TRUE(is_index_media_type("application/vnd.oci.image.index.v1+json"));
  EXPECT_TRUE(is_index_media_type("application/vnd.docker.distribution.manifest.list.v2+json ; charset=utf-8"));
  EXPECT_FALSE(is_index_media_type("application/vnd.oci.image.manifest.v1+json"));
  EXPECT_FALSE(is_index_media_type(""));
}

struct Negative {
  std::string name;
  std::string body;
  std::string content_type;
  ErrorCode code;
  std::string message;
};

TEST(OciIndex, Refuses) {
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":")" +
      kDigestA + R"("},"layers":[]})";
  std::string deep = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":)";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  std::string many;
  for (std::size_t i = 0; i <= kMaxIndexManifests; ++i) many += (i == 0 ? "" : ",") + descriptor(kDigestA);
  std::string big = index_with(descriptor(kDigestA), R"("annotations":{"x":")" + std::string(kMaxIndexBytes, 'x') + R"("},)");

  const std::vector<Negative> cases = {
      {"not json", "{", "", ErrorCode::invalid_argument, "invalid JSON"},
      {"not an object", "[1,2]", "", ErrorCode::invalid_argument, "not a JSON object"},
      {"an image manifest", manifest, "application/vnd.oci.image.manifest.v1+json", ErrorCode::invalid_argument,
       "not an image index: mediaType"},
      {"a manifest served as an index", R"({"schemaVersion":2,"config":{},"layers":[],"manifests":[]})",
       "application/vnd.oci.image.index.v1+json", ErrorCode::invalid_argument, "has layers or config"},
      {"no media type anywhere", R"({"schemaVersion":2,"manifests":[]})", "", ErrorCode::invalid_argument,
       "not an image index: no media type"},
      {"content type disagrees", index_with(descriptor(kDigestA)), "application/vnd.docker.distribution.manifest.list.v2+json",
       ErrorCode::invalid_argument, "the registry serves it as"},
      {"schema version 1", R"({"schemaVersion":1,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})", "",
       ErrorCode::invalid_argument, "schemaVersion 2"},
      {"schema version missing", R"({"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})", "",
       ErrorCode::invalid_argument, "schemaVersion 2"},
      {"no manifests", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})", "",
       ErrorCode::invalid_argument, "no \"manifests\" list"},
      {"manifests not a list", R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":{}})", "",
       ErrorCode::invalid_argument, "no \"manifests\" list"},
      {"descriptor not an object", index_with("7"), "", ErrorCode::invalid_argument, "manifests[0] is not an object"},
      {"digest missing", index_with(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1})"), "",
       ErrorCode::invalid_argument, "manifests[0] has no digest"},
      {"digest not hex", index_with(descriptor("sha256:" + std::string(64, 'z'))), "", ErrorCode::invalid_argument,
       "manifests[0].digest"},
      {"digest short", index_with(descriptor("sha256:abc")), "", ErrorCode::invalid_argument, "manifests[0].digest"},
      {"digest uppercase", index_with(descriptor("sha256:" + std::string(64, 'A'))), "", ErrorCode::invalid_argument,
       "manifests[0].digest"},
      {"digest no algorithm", index_with(descriptor(std::string(64, 'a'))), "", ErrorCode::invalid_argument,
       "manifests[0].digest"},
      {"digest a number", index_with(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":5})"),
       "", ErrorCode::invalid_argument, "has no digest"},
      {"second descriptor bad", index_with(descriptor(kDigestA) + "," + descriptor("sha256:1")), "",
       ErrorCode::invalid_argument, "manifests[1].digest"},
      {"media type missing", index_with(R"({"size":1,"digest":")" + kDigestA + R"("})"), "", ErrorCode::invalid_argument,
       "has no mediaType"},
      {"size missing", index_with(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + kDigestA + R"("})"),
       "", ErrorCode::invalid_argument, "has no size"},
      {"size negative", index_with(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":-1,"digest":")" + kDigestA + R"("})"),
       "", ErrorCode::invalid_argument, "has no size"},
      {"size fractional", index_with(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1.5,"digest":")" + kDigestA + R"("})"),
       "", ErrorCode::invalid_argument, "has no size"},
      {"platform not an object", index_with(descriptor(kDigestA, "\"linux/amd64\"")), "", ErrorCode::invalid_argument,
       "platform is not an object"},
      {"platform without os", index_with(descriptor(kDigestA, R"({"architecture":"amd64"})")), "",
       ErrorCode::invalid_argument, "has no \"os\""},
      {"platform architecture not text", index_with(descriptor(kDigestA, R"({"os":"linux","architecture":1})")), "",
       ErrorCode::invalid_argument, "architecture is not a string"},
      {"duplicate manifests key",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"manifests":[)" +
           descriptor(kDigestB) + "]}",
       "", ErrorCode::invalid_argument, "repeats the key \"manifests\""},
      {"duplicate digest key in a descriptor",
       index_with(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":")" + kDigestA +
                  R"(","digest":")" + kDigestB + R"("})"),
       "", ErrorCode::invalid_argument, "repeats the key \"digest\""},
      {"too deep", deep, "", ErrorCode::resource_exhausted, "nested deeper than 16 levels"},
      {"too many manifests", index_with(many), "", ErrorCode::resource_exhausted, "manifests, over the limit"},
      {"oversize", big, "", ErrorCode::resource_exhausted, "bytes, over the limit"},
  };
  for (const Negative& c : cases) {
    Result<ImageIndex> index = parse_image_index(c.body, c.content_type);
    ASSERT_FALSE(index.ok()) << c.name;
    EXPECT_EQ(index.error().code, c.code) << c.name << ": " << index.error().message;
    EXPECT_THAT(index.error().message, HasSubstr(c.message)) << c.name;
  }
}

TEST(OciIndex, RegistryTextInMessagesIsShortAndPrintable) {
  Result<ImageIndex> index =
      parse_image_index(R"({"schemaVersion":2,"mediaType":"text/x)" + std::string("\\u0001\\n") + std::string(200, 'y') +
                        R"(","manifests":[]})");
  ASSERT_FALSE(index.ok());
  EXPECT_THAT(index.error().message, HasSubstr("text/x??yyy"));
  EXPECT_THAT(index.error().message, HasSubstr("...\""));
  EXPECT_LT(index.error().message.size(), 160u);
}

}  // namespace
}  // namespace imagegate::verifier
