// Negative tests of the parsers of outside input in verifier/signature/notation/: the bounded CBOR decoder,
// COSE_Sign1 and JWS envelopes, distinguished names and trust policy documents (controls beside).
#include <gtest/gtest.h>

#include "tests/verifier/signature/notation/notation_fixtures.h"
#include "verifier/signature/notation/envelope.h"
#include "verifier/signature/notation/trust_policy.h"

namespace imagegate::testing::notation {
namespace {

TEST(NotationCbor, DecodesDefiniteItemsAndRefusesTheRest) {
  std::string ok;
  cbor::encode_head(ok, 4, 2);
  cbor_int(ok, -37);
  cbor_text(ok, "x");
  auto v = cbor::decode(ok);
  ASSERT_TRUE(v.ok()) << v.error().message;
  std::int64_t n = 0;
  EXPECT_TRUE(v->items[0].as_int(n));
  EXPECT_EQ(n, -37);

  EXPECT_FALSE(cbor::decode("").ok());
  EXPECT_FALSE(cbor::decode(std::string("\x9f\x01\xff", 3)).ok());           // indefinite array
  EXPECT_FALSE(cbor::decode(std::string("\xfb\0\0\0\0\0\0\0\0", 9)).ok());  // float64
  EXPECT_FALSE(cbor::decode(std::string("\x5a\xff\xff\xff\xff", 5)).ok());  // 4 GiB byte string, 0 bytes present
  EXPECT_FALSE(cbor::decode(std::string("\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9)).ok());  // 2^64 elements
  EXPECT_FALSE(cbor::decode(std::string("\x01\x02", 2)).ok());              // trailing byte
  const auto deep = cbor::decode(std::string(100, '\x81') + "\x01");        // [[[[...1...]]]]
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().code, ErrorCode::resource_exhausted);
  std::string wide;
  cbor::encode_head(wide, 4, 5000);
  wide += std::string(5000, '\x01');
  EXPECT_EQ(cbor::decode(wide).error().code, ErrorCode::resource_exhausted);
}

TEST(NotationEnvelope, CoseShapeIsChecked) {
  EXPECT_FALSE(parse_cose("").ok());
  EXPECT_FALSE(parse_cose(std::string("\xd2\x83\x40\xa0\x40", 5)).ok());  // array of 3
  std::string wrong_tag;
  cbor::encode_head(wrong_tag, 6, 17);
  cbor::encode_head(wrong_tag, 4, 4);
  EXPECT_FALSE(parse_cose(wrong_tag).ok());
  std::string empty_protected;
  cbor::encode_head(empty_protected, 4, 4);
  cbor_bytes(empty_protected, "");
  cbor::encode_head(empty_protected, 5, 0);
  cbor_bytes(empty_protected, "{}");
  cbor_bytes(empty_protected, "sig");
  EXPECT_FALSE(parse_cose(empty_protected).ok());
}

TEST(NotationEnvelope, JwsShapeIsChecked) {
  EXPECT_FALSE(parse_jws("malformed signature").ok());
  EXPECT_FALSE(parse_jws("[]").ok());
  EXPECT_FALSE(parse_jws(R"({"payload":"e30","protected":"e30","signature":"AA"})").ok());  // no header
  EXPECT_FALSE(parse_jws(R"({"payload":"e30","protected":"e30","header":{"x5c":[]},"signature":"AA"})").ok());
  const std::string no_alg = base64url(R"({"cty":"x"})");
  EXPECT_FALSE(parse_jws(R"({"payload":"e30","protected":")" + no_alg + R"(","header":{"x5c":["AA=="]},"signature":"AA"})").ok());
  const std::string alg = base64url(R"({"alg":"PS256","io.cncf.notary.signingTime":"yesterday"})");
  EXPECT_FALSE(parse_jws(R"({"payload":"e30","protected":")" + alg + R"(","header":{"x5c":["AA=="]},"signature":"AA"})").ok());
  const std::string good = base64url(R"({"alg":"PS256","io.cncf.notary.signingTime":"2024-01-01T00:00:00Z"})");
  const auto parsed = parse_jws(R"({"payload":"e30","protected":")" + good + R"(","header":{"x5c":["AA=="]},"signature":"AA"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->algorithm, "PS256");
  EXPECT_EQ(parsed->payload, "{}");
  // More than 10 certificates.
  std::string many = R"({"payload":"e30","protected":")" + good + R"(","header":{"x5c":[)";
  for (int i = 0; i < 11; ++i) many += std::string(i ? "," : "") + "\"AA==\"";
  EXPECT_FALSE(parse_jws(many + R"(]},"signature":"AA"})").ok());
}

TEST(NotationDistinguishedName, ParsesAsNotationDoes) {
  auto dn = parse_distinguished_name(" C=US, ST=WA, L=Seattle, O=wabbit-networks.io, OU=Security Tools");
  ASSERT_TRUE(dn.ok()) << dn.error().message;
  EXPECT_EQ(dn->at("OU"), "Security Tools");
  EXPECT_EQ(dn->at("O"), "wabbit-networks.io");
  auto escaped = parse_distinguished_name(R"(C=US,ST=WA,O=Acme\, Inc.,CN="a+b")");
  ASSERT_TRUE(escaped.ok()) << escaped.error().message;
  EXPECT_EQ(escaped->at("O"), "Acme, Inc.");
  EXPECT_EQ(escaped->at("CN"), "a+b");
  EXPECT_NE(parse_distinguished_name("C=US,ST=WA,O=A+CN=b").error().message.find("multi-valued"), std::string::npos);
  EXPECT_NE(parse_distinguished_name("C=US,ST=WA,O=A,O=B").error().message.find("duplicate RDN attribute for \"O\""), std::string::npos);
  EXPECT_NE(parse_distinguished_name("C=US,ST=WA,CN=#0403").error().message.find("=#"), std::string::npos);
  EXPECT_FALSE(parse_distinguished_name("C=US,ST=WA,O").ok());
  EXPECT_FALSE(parse_distinguished_name("").ok());
  EXPECT_TRUE(is_subset(*parse_distinguished_name("C=US,ST=WA,O=A"), *parse_distinguished_name("C=US,ST=WA,O=A,CN=x")));
  EXPECT_FALSE(is_subset(*parse_distinguished_name("C=US,ST=WA,O=A,CN=y"), *parse_distinguished_name("C=US,ST=WA,O=A,CN=x")));
}

TEST(NotationTrustPolicy, DocumentRulesAndSelection) {
  const auto statements = parse_trust_policy(R"({"version":"1.0","trustPolicies":[
    {"name":"a","registryScopes":["registry.test/app","registry.test/other"],"signatureVerification":{"level":"permissive","override":{"revocation":"skip","expiry":"enforce"}},"trustStores":["ca:x"],"trustedIdentities":["*"]},
    {"name":"b","registryScopes":["*"],"signatureVerification":{"level":"skip"}}]})");
  ASSERT_TRUE(statements.ok()) << statements.error().message;
  EXPECT_EQ(select_statement(*statements, "registry.test/app")->name, "a");
  EXPECT_EQ(select_statement(*statements, "registry.test/else")->name, "b");
  const Statement& a = (*statements)[0];
  EXPECT_EQ(a.action(Check::expiry), Action::enforce);
  EXPECT_EQ(a.action(Check::revocation), Action::skip);
  EXPECT_EQ(a.action(Check::authentic_timestamp), Action::log);
  EXPECT_EQ(a.action(Check::authenticity), Action::enforce);

  const auto reject = [](const std::string& json, const std::string& why) {
    auto r = parse_trust_policy(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
  };
  const std::string head = R"({"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["*"],)";
  reject(R"({"version":"2.0","trustPolicies":[]})", "unsupported version");
  reject(R"({"trustPolicies":[]})", "empty version");
  reject(R"({"version":"1.0","trustPolicies":[]})", "zero trust policy statements");
  reject(head + R"("signatureVerification":{"level":"lenient"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]})", "invalid signature verification level");
  reject(head + R"("signatureVerification":{"level":"strict","override":{"expiry":"skip"}},"trustStores":["ca:x"],"trustedIdentities":["*"]}]})", "can not be skipped");
  reject(head + R"("signatureVerification":{"level":"strict","override":{"speed":"log"}},"trustStores":["ca:x"],"trustedIdentities":["*"]}]})", "is not supported");
  reject(head + R"("signatureVerification":{"level":"skip","override":{"expiry":"log"}}}]})", "'skip' can't be used to customize");
  reject(head + R"("signatureVerification":{"level":"skip"},"trustStores":["ca:x"]}]})", "set to skip signature verification but configured with trust stores");
  reject(head + R"("signatureVerification":{"level":"strict","verifyTimestamp":"sometimes"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]})", "verifyTimestamp \"sometimes\" is not supported");
  reject(head + R"("signatureVerification":{"level":"strict"},"trustStores":["x509:x"],"trustedIdentities":["*"]}]})", "unsupported trust store type \"x509\"");
  reject(head + R"("signatureVerification":{"level":"strict"},"trustStores":["ca:../etc"],"trustedIdentities":["*"]}]})", "unsupported trust store name");
  reject(R"({"version":"1.0","trustPolicies":[{"registryScopes":["*"]}]})", "missing a name");
  reject(R"({"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["registry.test/App:tag"],"signatureVerification":{"level":"skip"}}]})", "is not valid");
  reject(R"({"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["registry.test/app@sha256:00"],"signatureVerification":{"level":"skip"}}]})", "is not valid");
  reject(std::string(R"({"version":"1.0","trustPolicies":[)") + std::string(100000, '['), "malformed trust policy");
}

}  // namespace
}  // namespace imagegate::testing::notation
