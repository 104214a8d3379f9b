// The AdmissionReview codec (webhook/admission/admission_review.cc): every connaisseur sample decoded in place, the
// kubewarden bare requests wrapped, and the malformed bodies a webhook must refuse with HTTP 400.
#include "webhook/admission/admission_review.h"

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tests/webhook/admission/review_dom_oracle.h"

namespace imagegate::webhook {
namespace {

namespace fs = std::filesystem;
using imagegate::testing::conformance_dir;
using imagegate::testing::read_file;

fs::path admission_dir() { return conformance_dir() / "admission"; }

nlohmann::json cases() { return nlohmann::json::parse(read_file(admission_dir() / "cases.json")); }

// Samples 21 and 26 are reviews whose request holds only `operation` (no uid, kind or object); 25 is the
// JSON literal null. None of them can be answered: an AdmissionReview answer must echo the request's uid,
// and there is none. They are malformed bodies -> invalid_argument -> HTTP 400, not a deny.
const std::set<std::string> kMalformedSamples = {
    "connaisseur/admission_requests/21_broken_admission_request.json",
    "connaisseur/admission_requests/25_null_request.json",
    "connaisseur/admission_requests/26_broken_update_admission_request.json",
};

TEST(AdmissionReviewDecode, EveryConnaisseurSampleDecodesOrIsRefused) {
  const nlohmann::json all = cases();
  ASSERT_GE(all["connaisseur"].size(), 29u);
  for (const auto& c : all["connaisseur"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file);
    const auto decoded = decode_admission_review(read_file(admission_dir() / file));
    if (kMalformedSamples.count(file) != 0) {
      ASSERT_FALSE(decoded.ok());
      EXPECT_EQ(decoded.error().code, ErrorCode::invalid_argument);
      EXPECT_FALSE(decoded.error().message.empty());
      continue;
    }
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->uid, c["uid"].get<std::string>());
    EXPECT_EQ(decoded->operation, c["operation"].get<std::string>());
    EXPECT_EQ(decoded->kind, c["kind"].get<std::string>());
    EXPECT_EQ(decoded->namespace_name, c["namespace"].get<std::string>());
    EXPECT_EQ(decoded->version, c["apiVersion"] == "admission.k8s.io/v1" ? ReviewVersion::v1 : ReviewVersion::v1beta1);
    EXPECT_TRUE(parse_admission_review(read_file(admission_dir() / file))->object.is_object());
    EXPECT_TRUE(decoded->has_object);
    EXPECT_FALSE(decoded->dry_run);
  }
}

TEST(AdmissionReviewDecode, ReadsUserResourceAndSubresource) {
  const auto decoded = decode_admission_review(
      read_file(admission_dir() / "connaisseur/admission_requests/20_pod_ephemeralcontainer.json"));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->resource, "pods");
  EXPECT_EQ(decoded->group, "");
  EXPECT_EQ(decoded->user, "system:serviceaccount:kube-system:replicaset-controller");
}

TEST(AdmissionReviewDecode, KubewardenBareRequestsAreRefusedBareAndDecodeWrapped) {
  std::size_t seen = 0;
  const nlohmann::json all = cases();
  for (const auto& c : all["kubewarden"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file);
    const std::string bare = read_file(admission_dir() / file);
    // A bare AdmissionRequest has no apiVersion/kind wrapper: not a review.
    const auto refused = decode_admission_review(bare);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::invalid_argument);

    for (const std::string version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
      const nlohmann::json wrapped = {
          {"apiVersion", version}, {"kind", "AdmissionReview"}, {"request", nlohmann::json::parse(bare)}};
      const auto decoded = decode_admission_review(wrapped.dump());
      ASSERT_TRUE(decoded.ok()) << decoded.error().message;
      EXPECT_EQ(decoded->version, version == "admission.k8s.io/v1" ? ReviewVersion::v1 : ReviewVersion::v1beta1);
      EXPECT_EQ(decoded->operation, c["operation"].get<std::string>());
      EXPECT_EQ(decoded->kind, c["kind"].get<std::string>());
      EXPECT_FALSE(decoded->uid.empty());
    }
    ++seen;
  }
  EXPECT_GE(seen, 20u);
}

nlohmann::json minimal_review() {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "u-1"},
            {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
            {"operation", "CREATE"},
            {"namespace", "default"},
            {"dryRun", true},
            {"object", {{"kind", "Pod"}, {"apiVersion", "v1"}, {"spec", {{"containers", nlohmann::json::array()}}}}}}}};
}

TEST(AdmissionReviewDecode, MinimalReviewAndDryRun) {
  const auto decoded = decode_admission_review(minimal_review().dump());
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_TRUE(decoded->dry_run);
  EXPECT_EQ(decoded->uid, "u-1");
}

struct MalformedCase {
  std::string name;
  std::string body;
  std::string expected;  // substring of the error message
};

std::string mutate(const std::function<void(nlohmann::json&)>& change) {
  nlohmann::json review = minimal_review();
  change(review);
  return review.dump();
}

TEST(AdmissionReviewDecode, MalformedBodiesAreInvalidArgument) {
  const std::vector<MalformedCase> table = {
      {"not json", "this is not json", "invalid JSON at byte"},
      {"truncated", R"({"apiVersion": "admission.k8s.io/v1", "kind": "Admiss)", "invalid JSON"},
      {"empty", "", "invalid JSON"},
      {"null", "null", "must be a JSON object, not null"},
      {"array", "[]", "must be a JSON object, not array"},
      {"string", "\"AdmissionReview\"", "must be a JSON object"},
      {"wrong apiVersion", mutate([](auto& r) { r["apiVersion"] = "admission.k8s.io/v2"; }), "unsupported apiVersion"},
      {"apiVersion not string", mutate([](auto& r) { r["apiVersion"] = 1; }), "apiVersion"},
      {"no apiVersion", mutate([](auto& r) { r.erase("apiVersion"); }), "apiVersion"},
      {"wrong kind", mutate([](auto& r) { r["kind"] = "AdmissionRequest"; }), "kind must be AdmissionReview"},
      {"no request", mutate([](auto& r) { r.erase("request"); }), "request must be an object"},
      {"request null", mutate([](auto& r) { r["request"] = nullptr; }), "request must be an object"},
      {"request array", mutate([](auto& r) { r["request"] = nlohmann::json::array(); }), "request must be an object"},
      {"no uid", mutate([](auto& r) { r["request"].erase("uid"); }), "request.uid"},
      {"empty uid", mutate([](auto& r) { r["request"]["uid"] = ""; }), "request.uid"},
      {"numeric uid", mutate([](auto& r) { r["request"]["uid"] = 7; }), "request.uid"},
      {"huge uid", mutate([](auto& r) { r["request"]["uid"] = std::string(300, 'a'); }), "request.uid"},
      {"no operation", mutate([](auto& r) { r["request"].erase("operation"); }), "operation"},
      {"bad operation", mutate([](auto& r) { r["request"]["operation"] = "PATCH"; }), "operation"},
      {"lowercase operation", mutate([](auto& r) { r["request"]["operation"] = "create"; }), "operation"},
      {"kind not object", mutate([](auto& r) { r["request"]["kind"] = "Pod"; }), "request.kind"},
      {"namespace not string", mutate([](auto& r) { r["request"]["namespace"] = 3; }), "request.namespace"},
      {"dryRun not bool", mutate([](auto& r) { r["request"]["dryRun"] = "true"; }), "dryRun"},
      {"CREATE without object", mutate([](auto& r) { r["request"].erase("object"); }), "request.object"},
      {"UPDATE with null object",
       mutate([](auto& r) {
         r["request"]["operation"] = "UPDATE";
         r["request"]["object"] = nullptr;
       }),
       "request.object"},
      {"invalid utf-8", "{\"apiVersion\":\"admission.k8s.io/v1\xff\"}", "invalid JSON"},
  };
  for (const auto& c : table) {
    SCOPED_TRACE(c.name);
    const auto decoded = decode_admission_review(c.body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(decoded.error().message.find(c.expected), std::string::npos) << decoded.error().message;
  }
}

TEST(AdmissionReviewDecode, OversizedBodyIsResourceExhausted) {
  const std::string body(kMaxReviewBytes + 1, ' ');
  const auto decoded = decode_admission_review(body);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::resource_exhausted);
}

TEST(AdmissionReviewDecode, DeleteAndConnectNeedNoObject) {
  for (const std::string operation : {"DELETE", "CONNECT"}) {
    const std::string body = mutate([&](auto& r) {
      r["request"]["operation"] = operation;
      r["request"].erase("object");
    });
    const auto decoded = decode_admission_review(body);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_TRUE(parse_admission_review(body)->object.is_null());
    EXPECT_FALSE(decoded->has_object);
  }
}

// Bodies within kMaxReviewBytes but over the JSON bounds (issue 13: 8 MiB of `[],` took the server to
// 357 MB), refused naming the limit: too many values like an oversized body (resource_exhausted, HTTP 413),
// nested too deep as a malformed review (invalid_argument, HTTP 400, as documented before the value bound).
TEST(AdmissionReviewDecode, OverJsonLimitsIsResourceExhausted) {
  auto with_spec = [](nlohmann::json spec) {
    return mutate([&](auto& r) { r["request"]["object"]["spec"]["extra"] = std::move(spec); });
  };
  nlohmann::json deep = 1;
  for (int i = 0; i < 200; ++i) deep = nlohmann::json{{"a", std::move(deep)}};
  const std::vector<MalformedCase> table = {
      {"empty arrays", with_spec(nlohmann::json(std::vector<nlohmann::json>(kMaxReviewJsonValues, nlohmann::json::array()))),
       "more than 100000 values"},
      {"empty objects", with_spec(nlohmann::json(std::vector<nlohmann::json>(kMaxReviewJsonValues, nlohmann::json::object()))),
       "more than 100000 values"},
      {"small numbers", with_spec(nlohmann::json(std::vector<int>(kMaxReviewJsonValues, 0))), "more than 100000 values"},
  };
  for (const auto& c : table) {
    SCOPED_TRACE(c.name);
    ASSERT_LE(c.body.size(), kMaxReviewBytes);
    const auto decoded = decode_admission_review(c.body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, ErrorCode::resource_exhausted);
    EXPECT_NE(decoded.error().message.find(c.expected), std::string::npos) << decoded.error().message;
  }
  for (const std::string& body : {std::string(100'000, '[') + std::string(100'000, ']'), with_spec(deep)}) {
    const auto decoded = decode_admission_review(body);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(decoded.error().message.find("nested deeper than 128"), std::string::npos) << decoded.error().message;
  }
}

// The control: a review of exactly kMaxReviewJsonValues values decodes, its object intact; one more does not.
TEST(AdmissionReviewDecode, ReviewAtTheValueBoundDecodes) {
  auto with_extra = [](std::size_t n) {
    return mutate([&](auto& r) {
      r["request"]["object"]["spec"]["extra"] = std::vector<nlohmann::json>(n, nlohmann::json::object());
    });
  };
  const std::size_t room = kMaxReviewJsonValues - imagegate::testing::json_values(nlohmann::json::parse(with_extra(0)));
  const auto decoded = parse_admission_review(with_extra(room));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->object["spec"]["extra"].size(), room);
  ASSERT_TRUE(decode_admission_review(with_extra(room)).ok());
  const auto over = decode_admission_review(with_extra(room + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::resource_exhausted);
}

nlohmann::json encoded(ReviewVersion version, const AdmissionResponse& response) {
  return nlohmann::json::parse(encode_admission_review(version, response));
}

TEST(AdmissionReviewEncode, AllowedV1) {
  AdmissionResponse response;
  response.uid = "abc";
  response.allowed = true;
  const auto out = encoded(ReviewVersion::v1, response);
  EXPECT_EQ(out, nlohmann::json::parse(
                     R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"abc","allowed":true}})"));
}

TEST(AdmissionReviewEncode, DeniedV1beta1WithWarningsAnnotationsAndPatch) {
  AdmissionResponse response;
  response.uid = "xyz";
  response.allowed = false;
  response.code = 403;
  response.message = "denied: unsigned";
  response.warnings = {"w1", "w2"};
  response.audit_annotations = {{"decision", "denied"}};
  response.json_patch = R"([{"op":"add","path":"/x","value":1}])";
  const auto out = encoded(ReviewVersion::v1beta1, response);
  EXPECT_EQ(out["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(out["kind"], "AdmissionReview");
  const auto& r = out["response"];
  EXPECT_EQ(r["uid"], "xyz");
  EXPECT_EQ(r["allowed"], false);
  EXPECT_EQ(r["status"]["code"], 403);
  EXPECT_EQ(r["status"]["message"], "denied: unsigned");
  EXPECT_EQ(r["warnings"], nlohmann::json::array({"w1", "w2"}));
  EXPECT_EQ(r["auditAnnotations"]["decision"], "denied");
  EXPECT_EQ(r["patchType"], "JSONPatch");
  // base64 of the patch text (RFC 4648, with padding)
  EXPECT_EQ(r["patch"], "W3sib3AiOiJhZGQiLCJwYXRoIjoiL3giLCJ2YWx1ZSI6MX1d");
}

TEST(AdmissionReviewEncode, Base64PaddingAndInvalidUtf8) {
  AdmissionResponse response;
  response.uid = "u";
  response.allowed = false;
  response.code = 403;
  response.message = std::string("bad \xff byte");
  for (const auto& [patch, expected] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}}) {
    response.json_patch = patch;
    const auto out = encoded(ReviewVersion::v1, response);
    EXPECT_EQ(out["response"]["patch"], expected);
  }
  // The message is still valid JSON, the bad byte replaced (U+FFFD).
  const auto out = encoded(ReviewVersion::v1, response);
  EXPECT_EQ(out["response"]["status"]["message"], "bad \xEF\xBF\xBD byte");
}

TEST(AdmissionReviewCodec, UidAndVersionRoundTripForEverySample) {
  for (const auto& entry : fs::directory_iterator(admission_dir() / "connaisseur" / "admission_requests")) {
    SCOPED_TRACE(entry.path().filename().string());
    const auto decoded = decode_admission_review(read_file(entry.path()));
    if (!decoded.ok()) continue;  // the malformed ones, covered above
    AdmissionResponse response;
    response.uid = decoded->uid;
    response.allowed = true;
    const auto out = encoded(decoded->version, response);
    const auto in = nlohmann::json::parse(read_file(entry.path()));
    EXPECT_EQ(out["apiVersion"], in["apiVersion"]);
    EXPECT_EQ(out["response"]["uid"], in["request"]["uid"]);
  }
}

}  // namespace
}  // namespace imagegate::webhook
