// The one-pass review decoder (webhook/admission/json_stream.h) against the DOM decoder it replaced
// (review_dom_oracle.h), on every conformance AdmissionReview sample (read in place), the tests' review
// and workload fixtures, every prefix of a real review, and the shapes a streaming reader gets wrong
// (duplicate keys, keys out of order, escapes, malformed values it would otherwise skip). The same
// AdmissionRequest and Workload, or the same Error, code and message.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tests/webhook/admission/review_dom_oracle.h"
#include "webhook/admission/admission_review.h"
#include "webhook/admission/workload_decoder.h"

namespace imagegate::webhook {
namespace {

namespace fs = std::filesystem;
using imagegate::testing::conformance_dir;
using imagegate::testing::read_file;
using imagegate::testing::source_dir;

void expect_same(const std::string& body, const std::string& what) {
  const auto difference = differential(body);
  EXPECT_FALSE(difference.has_value()) << what << ": " << *difference;
}

std::string wrap(const nlohmann::json& request, const std::string& version = "admission.k8s.io/v1") {
  return nlohmann::json{{"apiVersion", version}, {"kind", "AdmissionReview"}, {"request", request}}.dump();
}

std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") out.push_back(entry.path());
  }
  return out;
}

TEST(ReviewDifferential, EveryConformanceSampleRawAndWrapped) {
  const auto files = json_files(conformance_dir() / "admission");
  ASSERT_GE(files.size(), 50u);
  std::size_t decoded = 0;
  for (const fs::path& file : files) {
    const std::string body = read_file(file);
    expect_same(body, file.string());
    decoded += decode_admission_review(body).ok() ? 1 : 0;
    const auto value = nlohmann::json::parse(body, nullptr, false);
    if (!value.is_object()) continue;
    // Bare requests (kubewarden) wrapped as the CLI does; reviews with their request re-wrapped in v1beta1.
    const nlohmann::json request = value.contains("request") ? value["request"] : value;
    expect_same(wrap(request), file.string() + " wrapped");
    expect_same(wrap(request, "admission.k8s.io/v1beta1"), file.string() + " wrapped v1beta1");
    if (request.is_object() && request.contains("object")) {
      const std::string kind = request.value("/kind/kind"_json_pointer, "");
      EXPECT_FALSE(workload_difference(decode_workload(request["object"], kind),
                                       decode_workload_dom(request["object"], kind)))
          << file;
    }
  }
  EXPECT_GE(decoded, 26u);  // the control: most samples are reviews that decode
}

TEST(ReviewDifferential, TestFixtures) {
  for (const fs::path& file : json_files(source_dir() / "tests/fuzz/corpus/admission_review_fuzz")) {
    expect_same(read_file(file), file.string());
  }
  expect_same(read_file(source_dir() / "manifests/examples/admission-review.json"), "examples/admission-review.json");
  for (const fs::path& file : json_files(source_dir() / "tests/fuzz/corpus/workload_fuzz")) {
    const auto object = nlohmann::json::parse(read_file(file));
    for (const std::string kind : {"", "Pod", "Deployment"}) {
      EXPECT_FALSE(workload_difference(decode_workload(object, kind), decode_workload_dom(object, kind))) << file;
      expect_same(wrap({{"uid", "u"}, {"operation", "CREATE"}, {"kind", {{"kind", kind}}}, {"object", object}}),
                  file.string() + " as " + kind);
    }
  }
}

// Every prefix, and every single byte replaced by a character that changes the grammar: syntax errors
// worded as nlohmann words them, wherever they fall.
TEST(ReviewDifferential, EveryPrefixAndByteOfARealReview) {
  const std::string body =
      read_file(conformance_dir() / "admission/connaisseur/admission_requests/20_pod_ephemeralcontainer.json");
  for (std::size_t n = 0; n <= body.size(); ++n) expect_same(body.substr(0, n), "prefix " + std::to_string(n));
  for (std::size_t i = 0; i < body.size(); i += 7) {
    for (char c : {'"', '}', ',', '\\', '1', '\x01'}) {
      std::string changed = body;
      changed[i] = c;
      expect_same(changed, "byte " + std::to_string(i) + " -> " + std::to_string(c));
    }
  }
}

TEST(ReviewDifferential, ShapesAStreamingReaderGetsWrong) {
  const std::string pod = R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"}]}})";
  const std::string head = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",)";
  const std::vector<std::string> bodies = {
      // the object before request.kind, and request.kind disagreeing with the object
      head + R"("object":)" + pod + R"(,"kind":{"kind":"Pod"}}})",
      head + R"("object":)" + pod + R"(,"kind":{"kind":"Deployment"}}})",
      // duplicate keys at every level: the last wins
      head + R"("object":)" + pod + R"(,"object":null}})",
      head + R"("object":null,"object":)" + pod + "}}",
      head + R"("uid":"second","object":)" + pod + "}}",
      R"({"apiVersion":"admission.k8s.io/v1","apiVersion":"v2","kind":"AdmissionReview","request":{}})",
      head + R"("object":{"kind":"Pod","spec":{"containers":[{"image":"a"}]},"spec":{"containers":[{"image":"b","image":"c"}]}}}})",
      head + R"("object":{"spec":{"containers":[]},"kind":"Pod","kind":"Role"}}})",
      head + R"("object":{"kind":"Pod","metadata":{"name":"a","name":7,"generateName":"g"},"spec":{"containers":[]}}}})",
      head + R"("object":{"kind":"Pod","spec":{"volumes":[{"image":{"reference":"r"},"image":null}],"containers":[]}}}})",
      head + R"("object":{"kind":"Pod","spec":{"volumes":[{"name":1},{"image":{"reference":"r"}},{"image":7}],"containers":[]}}}})",
      // escaped keys are the same keys
      head + R"("obj\u0065ct":{"kind":"P\u006fd","spec":{"containers":[{"image":"\u00e9"}]}}}})",
      // values nobody reads, malformed
      head + R"("object":)" + pod + R"(,"x":[1,2,}}})",
      head + R"("object":)" + pod + R"(,"x":01}})",
      head + R"("object":)" + pod + R"(,"x":1.}})",
      head + R"("object":)" + pod + R"(,"x":-}})",
      head + R"("object":)" + pod + R"(,"x":1e400,"y":123456789012345678901234567890}})",
      head + R"("object":)" + pod + R"(,"x":tru}})",
      head + R"("object":)" + pod + R"(,"x":nulll}})",
      head + R"("object":)" + pod + R"(,"x":"\ud800"}})",
      head + R"("object":)" + pod + R"(,"x":"\udc00x"}})",
      head + R"("object":)" + pod + R"(,"x":"\q"}})",
      head + R"("object":)" + pod + R"(,"x":"a)" + std::string(1, '\x01') + R"("}})",
      head + R"("object":)" + pod + R"(,"x":"\u0000"}})",
      head + R"("object":)" + pod + R"(}} x)",
      head + R"("object":)" + pod + R"(}}})",
      head + R"("object":)" + pod + "}}" + std::string(1, '\0'),
      head + R"("object":)" + pod + "}}\n\t ",
      // roots that are not objects
      "null", "[]", "[1,2]", "\"s\"", "1", "true", "", "   ", "[1,", "{", "{\"a\"",
      // the room check, across lists
      head + R"("object":{"kind":"Pod","spec":{"containers":[)" + [] {
        std::string list;
        for (int i = 0; i < 1030; ++i) list += std::string(i ? "," : "") + R"({"image":"i"})";
        return list;
      }() + R"(],"initContainers":[7]}}}})",
  };
  for (const std::string& body : bodies) expect_same(body, body.substr(0, 200));
  // The control: the first shape decodes, with the object's image.
  const auto decoded = decode_admission_review(bodies[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_TRUE(decoded->workload.ok());
  ASSERT_EQ(decoded->workload->images.size(), 1u);
  EXPECT_EQ(decoded->workload->images[0].image, "x");
}

// A body read in place (its buffer has SIMDJSON_PADDING bytes after it) decodes as one that is copied.
TEST(ReviewDifferential, InPlaceAndCopiedBodiesDecodeAlike) {
  std::string body = read_file(conformance_dir() / "admission/connaisseur/admission_requests/20_pod_ephemeralcontainer.json");
  const auto copied = decode_admission_review(body);
  body.reserve(body.size() + 64);
  const auto in_place = decode_admission_review(body, body.capacity() - body.size());
  EXPECT_FALSE(review_difference(in_place, copied));
  ASSERT_TRUE(in_place.ok());
}

}  // namespace
}  // namespace imagegate::webhook
