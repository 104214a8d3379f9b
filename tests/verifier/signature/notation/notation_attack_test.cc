// Attacks on Notation verification with chains and envelopes made at test time (notation_fixtures.h): each
// attack beside a control that must still verify. Corrupt signature, expired certificate, wrong trust
// store, a leaf certificate in a `ca` store, untrusted identity, malformed timestamp, descriptor mismatch
// (digest, size, media type), an unknown critical header, a wrong algorithm, 1,000 signatures
// (GHSA-87x9-7grx-m28v: bounded, fails closed) and a 50 MB envelope.
#include <gtest/gtest.h>

#include "tests/verifier/signature/notation/notation_fixtures.h"

namespace imagegate::testing::notation {
namespace {

using std::chrono::hours;
using Status = Verdict::Status;

class NotationAttackTest : public ::testing::Test {
 protected:
  NotationAttackTest()
      : root_key_(TestKey::ec("P-256")),
        leaf_key_(TestKey::rsa(2048)),
        ec_leaf_key_(TestKey::ec("P-256")),
        root_(TestCert::issue(ca_spec("Root"), root_key_, nullptr, root_key_)),
        leaf_(TestCert::issue(leaf_spec("signer"), leaf_key_, &root_, root_key_)),
        ec_leaf_(TestCert::issue(leaf_spec("ec-signer"), ec_leaf_key_, &root_, root_key_)) {
    dir_.store("ca", "test", "root.pem", root_.pem());
  }

  static CertSpec ca_spec(const std::string& cn) {
    CertSpec spec;
    spec.common_name = cn;
    spec.ca = true;
    spec.not_before = std::chrono::system_clock::now() - hours(24);
    spec.not_after = std::chrono::system_clock::now() + hours(24 * 365);
    spec.subject_prefix = {{"C", "US"}, {"ST", "WA"}};
    return spec;
  }
  static CertSpec leaf_spec(const std::string& cn) {
    CertSpec spec = ca_spec(cn);
    spec.ca = false;
    spec.serial = 2;
    return spec;
  }

  EnvelopeSpec spec() const {
    EnvelopeSpec s;
    s.chain_der = {leaf_.der(), root_.der()};
    return s;
  }
  EnvelopeSpec ec_spec() const {
    EnvelopeSpec s = spec();
    s.algorithm = "ES256";
    s.chain_der = {ec_leaf_.der(), root_.der()};
    return s;
  }

  std::shared_ptr<const TrustConfig> trust(const std::string& policy) const {
    auto t = load_trust(dir_.write("policy-" + std::to_string(policies_++) + ".json", policy), dir_.trust_store());
    EXPECT_TRUE(t.ok()) << (t ? "" : t.error().message);
    return t ? *t : nullptr;
  }
  std::shared_ptr<const TrustConfig> strict() const { return trust(policy_json("strict", {"ca:test"}, {"*"})); }

  static Verdict check(const TrustConfig& trust, const TargetArtifact& target, std::vector<Envelope> envelopes) {
    return verify(trust, target, envelopes, std::chrono::system_clock::now());
  }
  static Envelope jws(const std::string& bytes) { return Envelope{std::string(kMediaTypeJws), bytes}; }
  static Envelope cose(const std::string& bytes) { return Envelope{std::string(kMediaTypeCose), bytes}; }

  ScratchDir dir_;
  mutable int policies_ = 0;
  TestKey root_key_, leaf_key_, ec_leaf_key_;
  TestCert root_, leaf_, ec_leaf_;
};

TEST_F(NotationAttackTest, ControlJwsAndCoseVerifyWithEvidence) {
  auto t = strict();
  ASSERT_TRUE(t);
  const Verdict a = check(*t, target_of(spec()), {jws(make_jws(spec(), leaf_key_))});
  EXPECT_EQ(a.status, Status::verified) << a.detail;
  ASSERT_EQ(a.signatures.size(), 1u);
  EXPECT_EQ(a.signatures[0].signing_scheme, "notary.x509");
  EXPECT_NE(a.signatures[0].signer_subject.find("CN=signer"), std::string::npos);
  EXPECT_TRUE(a.signatures[0].signing_time.has_value());
  EXPECT_EQ(a.statement, "test");
  const Verdict b = check(*t, target_of(ec_spec()), {cose(make_cose(ec_spec(), ec_leaf_key_))});
  EXPECT_EQ(b.status, Status::verified) << b.detail;
  const Verdict c = check(*t, target_of(spec()), {cose(make_cose(spec(), leaf_key_))});
  EXPECT_EQ(c.status, Status::verified) << c.detail;
}

TEST_F(NotationAttackTest, CorruptSignatureFailsIntegrityAtEveryLevel) {
  std::string env = make_jws(spec(), leaf_key_);
  auto doc = nlohmann::json::parse(env);
  std::string sig = doc["signature"];
  sig[10] = sig[10] == 'A' ? 'B' : 'A';
  doc["signature"] = sig;
  std::string cose_env = make_cose(spec(), leaf_key_);
  cose_env[cose_env.size() - 5] ^= 0x01;
  for (const char* level : {"strict", "permissive", "audit"}) {
    auto t = trust(policy_json(level, {"ca:test"}, {"*"}));
    ASSERT_TRUE(t);
    const Verdict v = check(*t, target_of(spec()), {jws(doc.dump())});
    EXPECT_EQ(v.status, Status::failed) << level;
    EXPECT_NE(v.detail.find("integrity:"), std::string::npos) << v.detail;
    EXPECT_EQ(check(*t, target_of(spec()), {cose(cose_env)}).status, Status::failed) << level;
    EXPECT_EQ(check(*t, target_of(spec()), {jws(env)}).status, Status::verified) << level;  // control
  }
}

TEST_F(NotationAttackTest, ExpiredCertificateFailsStrictAndIsLoggedWhenPermissive) {
  TestKey key = TestKey::rsa(2048);
  CertSpec expired = leaf_spec("expired");
  expired.not_before = std::chrono::system_clock::now() - hours(48);
  expired.not_after = std::chrono::system_clock::now() - hours(1);
  TestCert cert = TestCert::issue(expired, key, &root_, root_key_);
  EnvelopeSpec s = spec();
  s.chain_der = {cert.der(), root_.der()};
  s.signing_time = std::chrono::system_clock::now() - hours(2);
  const Verdict v = check(*strict(), target_of(s), {jws(make_jws(s, key))});
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_NE(v.detail.find("authenticTimestamp: verification time is after certificate"), std::string::npos) << v.detail;
  const Verdict p = check(*trust(policy_json("permissive", {"ca:test"}, {"*"})), target_of(s), {jws(make_jws(s, key))});
  EXPECT_EQ(p.status, Status::verified) << p.detail;
  ASSERT_EQ(p.logged.size(), 1u);
  EXPECT_NE(p.logged[0].find("authenticTimestamp"), std::string::npos);
  EXPECT_EQ(check(*strict(), target_of(spec()), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
}

TEST_F(NotationAttackTest, WrongStoreFailsAuthenticity) {
  TestKey other_key = TestKey::ec("P-256");
  TestCert other = TestCert::issue(ca_spec("Other Root"), other_key, nullptr, other_key);
  dir_.store("ca", "other", "other.pem", other.pem());
  const Verdict v = check(*trust(policy_json("strict", {"ca:other"}, {"*"})), target_of(spec()), {jws(make_jws(spec(), leaf_key_))});
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_NE(v.detail.find("the signature's certificate chain does not contain any trusted certificate"), std::string::npos) << v.detail;
  // A signingAuthority store does not stand in for a ca store under notary.x509.
  dir_.store("signingAuthority", "test", "root.pem", root_.pem());
  EXPECT_EQ(check(*trust(policy_json("strict", {"signingAuthority:test"}, {"*"})), target_of(spec()), {jws(make_jws(spec(), leaf_key_))}).status,
            Status::failed);
  // Controls: the right store, and the signingAuthority scheme against the signingAuthority store.
  EXPECT_EQ(check(*strict(), target_of(spec()), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
  EnvelopeSpec sa = spec();
  sa.scheme = "notary.x509.signingAuthority";
  const Verdict s = check(*trust(policy_json("strict", {"signingAuthority:test"}, {"*"})), target_of(sa), {jws(make_jws(sa, leaf_key_))});
  EXPECT_EQ(s.status, Status::verified) << s.detail;
}

TEST_F(NotationAttackTest, LeafCertificateInCaStoreIsRejectedAtLoad) {
  dir_.store("ca", "leafy", "leaf.pem", leaf_.pem());
  auto t = load_trust(dir_.write("leafy.json", policy_json("strict", {"ca:leafy"}, {"*"})), dir_.trust_store());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("is not a CA certificate or self-signed signing certificate"), std::string::npos) << t.error().message;
  EXPECT_NE(t.error().message.find("leaf.pem"), std::string::npos) << t.error().message;
  ASSERT_TRUE(strict());  // control: the root alone loads
}

TEST_F(NotationAttackTest, UntrustedIdentityFails) {
  const auto wrong = trust(policy_json("strict", {"ca:test"}, {"x509.subject: C=US, ST=WA, O=imagegate-test, CN=someone-else"}));
  const Verdict v = check(*wrong, target_of(spec()), {jws(make_jws(spec(), leaf_key_))});
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_NE(v.detail.find("does not match the X.509 trusted identities"), std::string::npos) << v.detail;
  const auto right = trust(policy_json("strict", {"ca:test"}, {"x509.subject: C=US, ST=WA, O=imagegate-test, CN=signer"}));
  EXPECT_EQ(check(*right, target_of(spec()), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
  const auto subset = trust(policy_json("strict", {"ca:test"}, {"x509.subject: O=imagegate-test,ST=WA,C=US"}));
  EXPECT_EQ(check(*subset, target_of(spec()), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
}

TEST_F(NotationAttackTest, MalformedTimestampFailsWhenATsaStoreIsConfigured) {
  TestKey tsa_key = TestKey::ec("P-256");
  dir_.store("tsa", "tsa", "tsa.pem", TestCert::issue(ca_spec("TSA Root"), tsa_key, nullptr, tsa_key).pem());
  EnvelopeSpec s = spec();
  s.timestamp_token = std::string("\x30\x03\x02\x01\x01", 5);
  const auto with_tsa = trust(policy_json("strict", {"ca:test", "tsa:tsa"}, {"*"}));
  for (const Envelope& e : {jws(make_jws(s, leaf_key_)), cose(make_cose(s, leaf_key_))}) {
    const Verdict v = check(*with_tsa, target_of(s), {e});
    EXPECT_EQ(v.status, Status::failed) << e.media_type;
    EXPECT_NE(v.detail.find("authenticTimestamp: failed to verify the timestamp countersignature"), std::string::npos) << v.detail;
  }
  // No countersignature at all under a tsa store with verifyTimestamp "always".
  const Verdict none = check(*with_tsa, target_of(spec()), {jws(make_jws(spec(), leaf_key_))});
  EXPECT_NE(none.detail.find("no timestamp countersignature was found"), std::string::npos) << none.detail;
  // Control: afterCertExpiry with an unexpired chain does not need the timestamp.
  const auto after = trust(policy_json("strict", {"ca:test", "tsa:tsa"}, {"*"}, "*", {{"verifyTimestamp", "afterCertExpiry"}}));
  EXPECT_EQ(check(*after, target_of(spec()), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
}

TEST_F(NotationAttackTest, DescriptorMismatchFailsIntegrity) {
  const std::string env = make_jws(spec(), leaf_key_);
  const std::string cose_env = make_cose(spec(), leaf_key_);
  auto t = trust(policy_json("audit", {"ca:test"}, {"*"}));
  TargetArtifact digest = target_of(spec());
  digest.digest = "sha256:" + std::string(64, 'b');
  TargetArtifact size = target_of(spec());
  size.size += 1;
  TargetArtifact media = target_of(spec());
  media.media_type = "application/vnd.docker.distribution.manifest.v2+json";
  for (const auto& [target, what] : {std::pair{digest, "digest"}, std::pair{size, "size"}, std::pair{media, "media type"}}) {
    for (const Envelope& e : {jws(env), cose(cose_env)}) {
      const Verdict v = check(*t, target, {e});
      EXPECT_EQ(v.status, Status::failed) << what;
      EXPECT_NE(v.detail.find(std::string("integrity: the signed ") + what), std::string::npos) << v.detail;
    }
  }
  EXPECT_EQ(check(*t, target_of(spec()), {jws(env)}).status, Status::verified);
  EXPECT_EQ(check(*t, target_of(spec()), {cose(cose_env)}).status, Status::verified);
}

TEST_F(NotationAttackTest, UnknownCriticalHeaderFails) {
  EnvelopeSpec s = spec();
  s.extra_protected = {{"io.example.policy", "x"}};
  s.critical.push_back("io.example.policy");
  const Verdict v = check(*strict(), target_of(s), {jws(make_jws(s, leaf_key_))});
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_NE(v.detail.find("unknown critical header \"io.example.policy\""), std::string::npos) << v.detail;
  EnvelopeSpec missing = spec();
  missing.critical.push_back("io.cncf.notary.expiry");  // listed, absent
  EXPECT_EQ(check(*strict(), target_of(missing), {jws(make_jws(missing, leaf_key_))}).status, Status::failed);
  EnvelopeSpec uncritical = spec();
  uncritical.critical.clear();  // the signing scheme must be critical
  EXPECT_EQ(check(*strict(), target_of(uncritical), {jws(make_jws(uncritical, leaf_key_))}).status, Status::failed);
  // Control: the same extended attribute, not critical.
  EnvelopeSpec control = spec();
  control.extra_protected = {{"io.example.policy", "x"}};
  EXPECT_EQ(check(*strict(), target_of(control), {jws(make_jws(control, leaf_key_))}).status, Status::verified);
}

TEST_F(NotationAttackTest, AlgorithmMustFitTheKeyAndExpiryIsEnforced) {
  EnvelopeSpec wrong = spec();
  wrong.algorithm = "PS384";  // an RSA 2048 key signs PS256 only
  EXPECT_EQ(check(*strict(), target_of(wrong), {jws(make_jws(wrong, leaf_key_))}).status, Status::failed);
  EnvelopeSpec expired = spec();
  expired.signing_time = std::chrono::system_clock::now() - hours(3);
  expired.expiry = std::chrono::system_clock::now() - hours(1);
  const Verdict v = check(*strict(), target_of(expired), {cose(make_cose(expired, leaf_key_))});
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_NE(v.detail.find("expiry: digital signature has expired on"), std::string::npos) << v.detail;
  EnvelopeSpec fresh = spec();
  fresh.expiry = std::chrono::system_clock::now() + hours(1);
  EXPECT_EQ(check(*strict(), target_of(fresh), {cose(make_cose(fresh, leaf_key_))}).status, Status::verified);
}

TEST_F(NotationAttackTest, AThousandSignaturesAreBoundedAndFailClosed) {
  std::string bad = make_jws(spec(), leaf_key_);
  auto doc = nlohmann::json::parse(bad);
  doc["payload"] = base64url(R"({"targetArtifact":{"digest":"sha256:0","size":1,"mediaType":"x"}})");
  std::vector<Envelope> many(999, jws(doc.dump()));
  many.push_back(jws(make_jws(spec(), leaf_key_)));  // the valid one, last
  const Verdict v = check(*strict(), target_of(spec()), many);
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_EQ(v.signatures.size(), kMaxSignatures);
  EXPECT_NE(v.detail.find("no more are tried"), std::string::npos) << v.detail;
  // Control: the valid one within the bound.
  std::rotate(many.begin(), many.end() - 1, many.end());
  const Verdict c = check(*strict(), target_of(spec()), many);
  EXPECT_EQ(c.status, Status::verified) << c.detail;
  EXPECT_EQ(c.signatures.size(), 1u);
}

TEST_F(NotationAttackTest, FiftyMegabyteEnvelopeIsRefusedUnread) {
  auto doc = nlohmann::json::parse(make_jws(spec(), leaf_key_));
  doc["header"]["padding"] = std::string(50 * 1024 * 1024, 'x');
  const Verdict v = check(*strict(), target_of(spec()), {jws(doc.dump()), cose(std::string(50 * 1024 * 1024, '\0'))});
  EXPECT_EQ(v.status, Status::failed);
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_NE(v.signatures[0].failure.find("larger than the 4 MiB limit"), std::string::npos) << v.signatures[0].failure;
  EXPECT_NE(v.signatures[1].failure.find("larger than the 4 MiB limit"), std::string::npos);
  doc["header"]["padding"] = std::string(1024, 'x');  // control: a small unprotected addition is harmless
  EXPECT_EQ(check(*strict(), target_of(spec()), {jws(doc.dump())}).status, Status::verified);
}

TEST_F(NotationAttackTest, ScopesSkipAndInlineAnchor) {
  auto scoped = trust(policy_json("strict", {"ca:test"}, {"*"}, "registry.test/app"));
  EXPECT_EQ(check(*scoped, target_of(spec(), "registry.test/app"), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
  const Verdict other = check(*scoped, target_of(spec(), "registry.test/other"), {jws(make_jws(spec(), leaf_key_))});
  EXPECT_EQ(other.status, Status::failed);
  EXPECT_NE(other.detail.find("no applicable trust policy statement"), std::string::npos);
  auto skip = trust(R"({"version":"1.0","trustPolicies":[{"name":"s","registryScopes":["*"],"signatureVerification":{"level":"skip"}}]})");
  EXPECT_EQ(check(*skip, target_of(spec()), {}).status, Status::skipped);

  verifier::NotationAnchor anchor;
  anchor.trust_store_files = {dir_.write("anchor/root.pem", root_.pem())};
  anchor.trusted_identities = {"x509.subject: C=US, ST=WA, O=imagegate-test"};
  auto inline_trust = load_trust(anchor);
  ASSERT_TRUE(inline_trust.ok()) << inline_trust.error().message;
  EXPECT_EQ(check(**inline_trust, target_of(spec(), "any.registry/any"), {jws(make_jws(spec(), leaf_key_))}).status, Status::verified);
  EXPECT_EQ((*inline_trust)->files().size(), 1u);
  anchor.trust_store_files = {dir_.write("anchor/leaf.pem", leaf_.pem())};
  EXPECT_FALSE(load_trust(anchor).ok());  // a leaf is no CA
  anchor.verification_level = "lenient";
  EXPECT_FALSE(load_trust(anchor).ok());
}

}  // namespace
}  // namespace imagegate::testing::notation
