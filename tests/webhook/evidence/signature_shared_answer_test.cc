// The shared signature answer (webhook/evidence/signature_shared_answer.h): what a replica publishes reads back the
// same, and every value that is not exactly ours is a miss (nullopt): not JSON, another version, an
// undecided or unknown status, an anchor missing or twice, wrong types, an expiry out of range, over a bound.
#include "webhook/evidence/signature_shared_answer.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace imagegate::webhook {
namespace {

using verifier::AnchorCheck;

constexpr std::int64_t kExpires = 1'764'374'400'000;

TEST(SignatureSharedAnswerTest, RoundTripsInTheOrderAsked) {
  const std::vector<std::pair<std::string, AnchorCheck>> answers = {
      {"release", {AnchorCheck::Status::verified, "signed by key sha256:ab", {"key sha256:ab"}}},
      {"ci", {AnchorCheck::Status::failed, "no signatures found", {}}}};
  const std::string value = encode_signature_answer(answers, 3, kExpires);
  auto decoded = decode_signature_answer(value, {"ci", "release"});
  ASSERT_TRUE(decoded.has_value()) << value;
  ASSERT_EQ(decoded->checks.size(), 2U);
  EXPECT_EQ(decoded->checks[0].status, AnchorCheck::Status::failed);
  EXPECT_EQ(decoded->checks[0].detail, "no signatures found");
  EXPECT_EQ(decoded->checks[1].status, AnchorCheck::Status::verified);
  EXPECT_EQ(decoded->checks[1].signers, std::vector<std::string>{"key sha256:ab"});
  EXPECT_EQ(decoded->signatures, 3U);
  EXPECT_EQ(decoded->expires_ms, kExpires);
  // A subset of what was published is an answer; an anchor not published is not.
  EXPECT_TRUE(decode_signature_answer(value, {"release"}).has_value());
  EXPECT_FALSE(decode_signature_answer(value, {"release", "other"}).has_value());
}

TEST(SignatureSharedAnswerTest, AnythingElseIsAMiss) {
  const std::string ok_entry = R"({"name":"release","status":"failed","detail":"d","signers":[]})";
  const auto with = [](const std::string& anchors, const std::string& rest = R"("signatures":0,"expires":1764374400000)") {
    return R"({"v":1,"anchors":[)" + anchors + "]," + rest + "}";
  };
  ASSERT_TRUE(decode_signature_answer(with(ok_entry), {"release"}).has_value());
  for (const std::string& bad : {
           std::string("not json"), std::string("[1]"), std::string("{}"), std::string("null"),
           R"({"v":2,"anchors":[)" + ok_entry + R"(],"signatures":0,"expires":1764374400000})",
           R"({"v":"1","anchors":[)" + ok_entry + R"(],"signatures":0,"expires":1764374400000})",
           with(R"({"name":"release","status":"unavailable","detail":"d","signers":[]})"),
           with(R"({"name":"release","status":"VERIFIED","detail":"d","signers":[]})"),
           with(R"({"name":"release","status":"failed","signers":[]})"),
           with(R"({"name":"release","status":"failed","detail":5,"signers":[]})"),
           with(R"({"name":"release","status":"failed","detail":"d","signers":[1]})"),
           with(R"({"name":"release","status":"failed","detail":"d","signers":"k"})"),
           with(R"({"status":"failed","detail":"d","signers":[]})"),
           with(ok_entry + "," + ok_entry),
           with("[" + ok_entry + "]"),
           with(ok_entry, R"("signatures":0,"expires":0)"),
           with(ok_entry, R"("signatures":0,"expires":-9223372036854775808)"),
           with(ok_entry, R"("signatures":0,"expires":99999999999999999)"),
           with(ok_entry, R"("signatures":0,"expires":1.5e12)"),
           with(ok_entry, R"("signatures":-1,"expires":1764374400000)"),
           with(ok_entry, R"("expires":1764374400000)"),
           with(ok_entry, R"("signatures":0)"),
           std::string(300 * 1024, ' '),
           std::string(100, '[') + std::string(100, ']'),
       }) {
    EXPECT_FALSE(decode_signature_answer(bad, {"release"}).has_value()) << bad.substr(0, 200);
  }
  std::string many = ok_entry;
  for (int i = 0; i < 300; ++i) {
    many += R"(,{"name":"a)" + std::to_string(i) + R"(","status":"failed","detail":"","signers":[]})";
  }
  EXPECT_FALSE(decode_signature_answer(with(many), {"release"}).has_value()) << "more anchors than the bound";
}

}  // namespace
}  // namespace imagegate::webhook
