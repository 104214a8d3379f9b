// Tests for webhook/cli/manifest_reader.cc: the YAML -> JSON converter (core schema, anchors, merge keys,
// bounds), JSON detection, List flattening, AdmissionReview unwrapping and the error messages.
#include "webhook/cli/manifest_reader.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

json only_document(std::string_view text) {
  auto docs = parse_documents(text, "t.yaml");
  EXPECT_TRUE(docs.ok()) << (docs.ok() ? "" : docs.error().message);
  if (!docs.ok() || docs->size() != 1) return json("<no single document>");
  return docs->front().value;
}

Error parse_error(std::string_view text) {
  auto docs = parse_documents(text, "t.yaml");
  EXPECT_FALSE(docs.ok()) << text;
  return docs.ok() ? Error{} : docs.error();
}

TEST(ParseDocuments, CoreSchemaScalars) {
  const json v = only_document(
      "s: nginx:1.25\n"
      "q: \"123\"\n"
      "i: 123\n"
      "neg: -7\n"
      "hex: 0x1F\n"
      "oct: 0o17\n"
      "f: 1.5e3\n"
      "t: true\n"
      "T: True\n"
      "n: ~\n"
      "e:\n"
      "yes: yes\n"            // YAML 1.1 bool, a string in 1.2
      "ver: 1.2.3\n"
      "inf: .inf\n"
      "str: !!str 42\n"
      "int: !!int \"42\"\n"
      "big: 123456789012345678901234567890\n"
      "img: \"registry:5000/a\"\n");
  EXPECT_EQ(v["s"], "nginx:1.25");
  EXPECT_EQ(v["q"], "123");
  EXPECT_EQ(v["i"], 123);
  EXPECT_EQ(v["neg"], -7);
  EXPECT_EQ(v["hex"], 31);
  EXPECT_EQ(v["oct"], 15);
  EXPECT_EQ(v["f"], 1500.0);
  EXPECT_EQ(v["t"], true);
  EXPECT_EQ(v["T"], true);
  EXPECT_TRUE(v["n"].is_null());
  EXPECT_TRUE(v["e"].is_null());
  EXPECT_EQ(v["yes"], "yes");
  EXPECT_EQ(v["ver"], "1.2.3");
  EXPECT_EQ(v["inf"], ".inf");
  EXPECT_EQ(v["str"], "42");
  EXPECT_EQ(v["int"], 42);
  EXPECT_EQ(v["big"], "123456789012345678901234567890");
  EXPECT_EQ(v["img"], "registry:5000/a");
}

TEST(ParseDocuments, MultiDocumentIndexesAndLines) {
  auto docs = parse_documents("a: 1\n---\n# only a comment\n---\nb: 2\n---\n", "m.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].index, 1);
  EXPECT_EQ((*docs)[0].value["a"], 1);
  EXPECT_EQ((*docs)[1].index, 3);
  EXPECT_EQ((*docs)[1].line, 4);
  EXPECT_EQ((*docs)[1].value["b"], 2);
}

TEST(ParseDocuments, AnchorsAliasesAndMerge) {
  const json v = only_document(
      "base: &base {image: nginx, name: a}\n"
      "copy: *base\n"
      "merged:\n"
      "  <<: *base\n"
      "  name: b\n"
      "before:\n"
      "  name: c\n"
      "  <<: [*base, {extra: 1, name: d}]\n"
      "list: [&x 1, *x]\n");
  EXPECT_EQ(v["copy"], json({{"image", "nginx"}, {"name", "a"}}));
  EXPECT_EQ(v["merged"], json({{"image", "nginx"}, {"name", "b"}}));
  EXPECT_EQ(v["before"], json({{"image", "nginx"}, {"name", "c"}, {"extra", 1}}));
  EXPECT_EQ(v["list"], json({1, 1}));
}

TEST(ParseDocuments, JsonIsDetected) {
  auto docs = parse_documents("  {\"kind\": \"Pod\", \"n\": 1.0, \"s\": \"\\u00e9\"}", "p.json");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ(docs->front().value["kind"], "Pod");
  EXPECT_EQ(docs->front().value["s"], "\xc3\xa9");
  // A YAML flow mapping is not JSON but still YAML.
  EXPECT_EQ(only_document("{kind: Pod, spec: {containers: []}}")["kind"], "Pod");
}

TEST(ParseDocuments, Errors) {
  struct Case {
    const char* name;
    std::string text;
    ErrorCode code;
    const char* message;
  };
  auto repeat = [](std::string_view piece, std::size_t n) {
    std::string out;
    out.reserve(piece.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += piece;
    return out;
  };
  const std::vector<Case> cases = {
      {"malformed yaml", "a: [b\n", ErrorCode::invalid_argument, "t.yaml: document 1: malformed YAML at line"},
      {"second document", "a: 1\n---\nb: [\n", ErrorCode::invalid_argument, "document 2: malformed YAML"},
      {"malformed json", "{\"a\": \n[1,\n}", ErrorCode::invalid_argument, "t.yaml:3:1: malformed JSON"},
      {"not utf-8", "a: b\nc: \xc3\x28\n", ErrorCode::invalid_argument, "t.yaml:2:4: not valid UTF-8"},
      {"overlong utf-8", "a: \xc0\xaf\n", ErrorCode::invalid_argument, "not valid UTF-8"},
      {"surrogate", "a: \xed\xa0\x80\n", ErrorCode::invalid_argument, "not valid UTF-8"},
      {"nul byte", std::string("a: b\0c\n", 7), ErrorCode::invalid_argument, "not valid UTF-8"},
      {"duplicate key", "a: 1\nb: 2\na: 3\n", ErrorCode::invalid_argument, "line 3, column 1: duplicate mapping key \"a\""},
      {"complex key", "? [a]\n: b\n", ErrorCode::invalid_argument, "complex (non-scalar) mapping keys"},
      {"deep yaml", "a: " + std::string(200, '[') + std::string(200, ']'), ErrorCode::resource_exhausted,
       "nesting deeper than 128"},
      {"deep json", std::string(200, '[') + std::string(200, ']'), ErrorCode::resource_exhausted,
       "t.yaml:1:129: JSON nesting deeper than 128"},
      // The root and kMaxManifestNodes + 1 zeros on line 2: value 2,000,001 is made by the comma at column
      // 1 + 2 * 1,999,999; refused there, before nlohmann builds anything.
      {"json over the value bound", "\n[" + repeat("0,", kMaxManifestNodes) + "0]", ErrorCode::resource_exhausted,
       "t.yaml:2:3999999: JSON holds more than 2000000 values"},
      {"bad !!int", "a: !!int twelve\n", ErrorCode::invalid_argument, "\"twelve\" is not a !!int"},
      {"too large", std::string(kMaxManifestBytes + 1, ' '), ErrorCode::resource_exhausted, "larger than"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Error e = parse_error(c.text);
    EXPECT_EQ(e.code, c.code);
    EXPECT_NE(e.message.find(c.message), std::string::npos) << e.message;
  }
}

TEST(ParseDocuments, AliasBombStopsAtTheNodeBound) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  const Error e = parse_error(text);
  EXPECT_EQ(e.code, ErrorCode::resource_exhausted);
  EXPECT_NE(e.message.find("aliases expanded"), std::string::npos) << e.message;
}

// yaml-cpp 0.7 reports empty documents at offset 0 forever after a stray `,` (found by
// manifest_reader_fuzz: two million empty documents, 37 s under ASan). The reader refuses the stream at
// the second document that makes no progress; a control with several real documents still reads.
TEST(ParseDocuments, StreamThatMakesNoProgressIsRefused) {
  for (const std::string_view text : {std::string_view(",\"itemsapiVers\"apiVersadmi"), std::string_view(","),
                                      std::string_view(", a: b"), std::string_view("- a\n,")}) {
    SCOPED_TRACE(text);
    const Error e = parse_error(text);
    EXPECT_EQ(e.code, ErrorCode::invalid_argument);
    EXPECT_NE(e.message.find("no progress"), std::string::npos) << e.message;
  }
  auto docs = parse_documents("a: 1\n---\n---\nb: 2\n...\n", "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  EXPECT_EQ(docs->size(), 2u);
}

TEST(ReadManifests, ListsAndTypedLists) {
  auto objects = read_manifests(
      "apiVersion: v1\nkind: List\nitems:\n"
      "- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c, image: x}]}}\n"
      "- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n"
      "---\n"
      "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n"
      "- {metadata: {name: d}, spec: {template: {spec: {containers: [{name: c, image: y}]}}}}\n",
      "l.yaml");
  ASSERT_TRUE(objects.ok()) << objects.error().message;
  ASSERT_EQ(objects->size(), 3u);
  EXPECT_EQ((*objects)[0].source, "l.yaml#1.items[0]");
  ASSERT_TRUE((*objects)[1].workload.ok());
  EXPECT_EQ((*objects)[1].workload->kind, "ConfigMap");
  EXPECT_EQ((*objects)[2].source, "l.yaml#2.items[0]");
  EXPECT_EQ((*objects)[2].request_kind, "Deployment");

  auto bad = read_manifests("kind: List\nitems: {a: b}\n", "l.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("l.yaml#1: items: must be a list"), std::string::npos);
  auto scalar = read_manifests("just a string\n", "s.yaml");
  ASSERT_FALSE(scalar.ok());
  EXPECT_NE(scalar.error().message.find("expected a Kubernetes object"), std::string::npos);
}

TEST(ReadManifests, AdmissionReviewsFromTheConformanceFolder) {
  const auto dir = testing::conformance_dir() / "admission";
  auto review = read_manifests(testing::read_file(dir / "connaisseur/admission_requests/09_dply_multi_image.json"),
                               "09.json");
  ASSERT_TRUE(review.ok()) << review.error().message;
  ASSERT_EQ(review->size(), 1u);
  EXPECT_EQ(review->front().request_kind, "Deployment");
  EXPECT_EQ(review->front().request_namespace, "connaisseur");
  EXPECT_EQ(review->front().operation, "CREATE");
  ASSERT_TRUE(review->front().workload.ok());
  EXPECT_EQ(review->front().workload->kind, "Deployment");

  // Bare AdmissionRequest (kubewarden): wrapped, then decoded.
  auto bare = read_manifests(testing::read_file(dir / "kubewarden/pod_creation_with_init_container.json"), "kw.json");
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  ASSERT_EQ(bare->size(), 1u);
  EXPECT_EQ(bare->front().request_kind, "Pod");
  // The object itself has no kind: the Workload's is request.kind's.
  auto bare_documents = parse_documents(testing::read_file(dir / "kubewarden/pod_creation_with_init_container.json"),
                                        "kw.json");
  ASSERT_TRUE(bare_documents.ok());
  EXPECT_FALSE(bare_documents->front().value["object"].contains("kind"));
  ASSERT_TRUE(bare->front().workload.ok());
  EXPECT_EQ(bare->front().workload->kind, "Pod");

  for (const char* broken : {"21_broken_admission_request.json", "26_broken_update_admission_request.json"}) {
    auto r = read_manifests(testing::read_file(dir / "connaisseur/admission_requests" / broken), broken);
    ASSERT_FALSE(r.ok()) << broken;
    EXPECT_NE(r.error().message.find(std::string(broken) + "#1"), std::string::npos) << r.error().message;
  }
}

TEST(FindInvalidUtf8, Boundaries) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("\xf0\x9f\x90\xb3 whale"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xf4\x90\x80\x80"), 2u);  // > U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ab\xe2\x82"), 2u);           // truncated
  EXPECT_EQ(find_invalid_utf8("\x80"), 0u);
}

TEST(ToYaml, RoundTripsThroughTheReader) {
  const json value = {{"s", "true"}, {"n", "12"}, {"null", nullptr}, {"b", false}, {"i", -3}, {"f", 2.5},
                      {"list", {"a", "~", "x: y", ""}}, {"empty", json::object()}, {"none", json::array()},
                      {"nested", {{"k", {{"deep", "v"}}}}}};
  const std::string yaml = to_yaml(value);
  EXPECT_EQ(only_document(yaml), value) << yaml;
}

}  // namespace
}  // namespace imagegate::webhook
