// The notation-go vectors of ../shared/conformance/notation (read in place), decided as its cases.json
// expects: every entry of `notation_go_mock`, `notation_go_timestamp` and `other`. The tests walk
// cases.json itself, so an entry added there is decided here or fails.
//
// notation-go's timestamp tests call its authentic-timestamp check alone; here the whole verification runs,
// so those cases use level audit with authenticTimestamp overridden to enforce (integrity and the
// timestamp enforced, the rest logged): "authentic timestamp valid" is then a verified verdict that logged
// no authenticTimestamp failure.
#include <gtest/gtest.h>

#include "tests/test_support.h"
#include "tests/verifier/signature/notation/notation_fixtures.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/notation/envelope.h"

namespace imagegate::testing::notation {
namespace {

using Status = Verdict::Status;

fs::path root() { return conformance_dir() / "notation"; }
nlohmann::json cases() { return nlohmann::json::parse(read_file(root() / "cases.json")); }

Envelope envelope_at(const fs::path& path) {
  std::string bytes = read_file(path);
  const bool json = !bytes.empty() && bytes.front() == '{';
  return Envelope{std::string(json ? kMediaTypeJws : kMediaTypeCose), std::move(bytes)};
}

// The descriptor an envelope signed (its payload), for cases about something else than descriptors.
TargetArtifact signed_target(const Envelope& e, std::string reference) {
  auto parsed = parse_envelope(e);
  EXPECT_TRUE(parsed.ok()) << (parsed ? "" : parsed.error().message);
  if (!parsed) return {};
  const auto artifact = nlohmann::json::parse(parsed->payload)["targetArtifact"];
  return TargetArtifact{std::move(reference), artifact["digest"].get<std::string>(), artifact["size"].get<std::int64_t>(),
                        artifact["mediaType"].get<std::string>()};
}

// The case's trust policy with its override applied to the (single) statement, the level set.
std::string policy_for(const nlohmann::json& c, const std::string& default_policy, const std::string& level,
                       const nlohmann::json& verification_extra = nlohmann::json::object()) {
  nlohmann::json doc = nlohmann::json::parse(read_file(root() / c.value("trust_policy", default_policy)));
  nlohmann::json& st = doc["trustPolicies"][0];
  if (c.contains("trust_policy_override")) {
    for (const auto& [k, v] : c["trust_policy_override"].items()) st[k] = v;
  }
  st["signatureVerification"]["level"] = level;
  for (const auto& [k, v] : verification_extra.items()) st["signatureVerification"][k] = v;
  return doc.dump();
}

class NotationConformanceTest : public ::testing::Test {
 protected:
  Result<std::shared_ptr<const TrustConfig>> load(const std::string& policy) {
    return load_trust(dir_.write("policy-" + std::to_string(n_++) + ".json", policy), (root() / "notation-go/truststore").string());
  }
  static Verdict run(const TrustConfig& t, const TargetArtifact& target, const Envelope& e) {
    return verify(t, target, {e}, std::chrono::system_clock::now());
  }
  // The policy-error cases: notation-go words the missing-separator error twice (at load and when the
  // verifier loads stores); the value and the required format are what both say.
  static void expect_policy_error(const Error& error, const std::string& expected) {
    const auto value = expected.find("trust store value ");
    if (value != std::string::npos) {
      const std::string quoted = expected.substr(value, expected.find('.', value) - value);
      EXPECT_NE(error.message.find(quoted), std::string::npos) << error.message;
      EXPECT_NE(error.message.find("<TrustStoreType>:<TrustStoreName>"), std::string::npos) << error.message;
    } else {
      EXPECT_NE(error.message.find(expected), std::string::npos) << error.message << "\nexpected: " << expected;
    }
  }

  ScratchDir dir_;
  int n_ = 0;
};

TEST_F(NotationConformanceTest, NotationGoMockEnvelopes) {
  const std::string reference = "registry.acme-rockets.io/software/net-monitor";
  int decided = 0;
  const nlohmann::json all = cases();  // kept alive for the loop
  for (const auto& c : all["notation_go_mock"]) {
    SCOPED_TRACE(c.dump());
    const Envelope e = envelope_at(root() / c["envelope"].get<std::string>());
    const std::string expected = c.value("expected", "");
    const std::string error = c.value("error", "");
    const std::string base = "notation-go/trustpolicy.oci.transcribed.json";
    if (c.contains("user_metadata_cases")) {
      auto t = load(policy_for(c, base, c["level"].get<std::string>()));
      ASSERT_TRUE(t.ok()) << t.error().message;
      const auto& d = c["target_descriptor"];
      for (const auto& m : c["user_metadata_cases"]) {
        TargetArtifact target{reference, d["digest"].get<std::string>(), d["size"].get<std::int64_t>(), d["mediaType"].get<std::string>()};
        for (const auto& [k, v] : m["metadata"].items()) target.user_metadata[k] = v.get<std::string>();
        const Verdict v = run(**t, target, e);
        EXPECT_EQ(v.status, m["expected"] == "valid" ? Status::verified : Status::failed) << m.dump() << " " << v.detail;
      }
      ++decided;
      continue;
    }
    // Every mock envelope signs the artifact of the first case's reference (a docker v2 manifest of 528 bytes).
    const TargetArtifact target{reference, "sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e", 528,
                                "application/vnd.docker.distribution.manifest.v2+json"};
    for (const std::string level : {"strict", "permissive", "audit"}) {
      SCOPED_TRACE(level);
      auto t = load(policy_for(c, base, level));
      if (expected == "policy error") {
        ASSERT_FALSE(t.ok());
        expect_policy_error(t.error(), error);
        continue;
      }
      ASSERT_TRUE(t.ok()) << t.error().message;
      const Verdict v = run(**t, target, e);
      if (expected == "valid") {
        EXPECT_EQ(v.status, Status::verified) << v.detail;
        EXPECT_TRUE(v.logged.empty());
        ASSERT_FALSE(v.signatures.empty());
        EXPECT_EQ(v.signatures.back().signing_scheme, c["signing_scheme"].get<std::string>());
      } else if (expected == "authenticity failure" || expected.starts_with("expiry failure")) {
        const bool enforced = expected == "authenticity failure" ? level != "audit" : level == "strict";
        EXPECT_EQ(v.status, enforced ? Status::failed : Status::verified) << v.detail;
        const std::string where = enforced ? v.detail : (v.logged.empty() ? "" : v.logged.front());
        EXPECT_NE(where.find(error), std::string::npos) << where;
      } else if (expected == "authenticity failure (trusted identity mismatch)") {
        // The identity check is authenticity: enforced at strict and permissive, logged at audit.
        EXPECT_EQ(v.status, level == "audit" ? Status::verified : Status::failed) << v.detail;
        const std::string where = level == "audit" ? (v.logged.empty() ? "" : v.logged.front()) : v.detail;
        EXPECT_NE(where.find(error), std::string::npos) << where;
      } else if (expected.starts_with("integrity failure")) {
        EXPECT_EQ(v.status, Status::failed);
        EXPECT_NE(v.detail.find("integrity:"), std::string::npos) << v.detail;
      } else if (expected.starts_with("invalid unless verification plugin")) {
        EXPECT_EQ(v.status, Status::failed);
        EXPECT_NE(v.detail.find("verification plugin"), std::string::npos) << v.detail;
      } else {
        ADD_FAILURE() << "undecided expectation " << expected;
      }
    }
    ++decided;
  }
  EXPECT_EQ(decided, 19);
}

TEST_F(NotationConformanceTest, NotationGoTimestampEnvelopes) {
  const nlohmann::json timestamp_enforced = {{"override", {{"authenticTimestamp", "enforce"}}}};
  int decided = 0;
  const nlohmann::json all = cases();  // kept alive for the loop
  for (const auto& c : all["notation_go_timestamp"]) {
    SCOPED_TRACE(c.dump());
    const std::string expected = c["expected"].get<std::string>();
    const std::string error = c.value("error", "");
    Envelope e;
    if (c.contains("countersignature")) {
      nlohmann::json doc = nlohmann::json::parse(read_file(root() / c["spliced_into"].get<std::string>()));
      doc["header"]["io.cncf.notary.timestampSignature"] = base64_encode(read_file(root() / c["countersignature"].get<std::string>()));
      e = Envelope{std::string(kMediaTypeJws), doc.dump()};
    } else {
      e = envelope_at(root() / c["envelope"].get<std::string>());
    }
    const TargetArtifact target = signed_target(e, "registry.test/timestamp");
    std::vector<nlohmann::json> variants = {timestamp_enforced};
    if (expected.find("afterCertExpiry") != std::string::npos) {
      variants.push_back({{"override", {{"authenticTimestamp", "enforce"}}}, {"verifyTimestamp", "afterCertExpiry"}});
    }
    for (const auto& extra : variants) {
      auto t = load(policy_for(c, "notation-go/trustpolicy.timestamp.transcribed.json", "audit", extra));
      if (expected == "policy error" || (!t.ok() && error.find("does not exist") != std::string::npos)) {
        ASSERT_FALSE(t.ok());
        if (expected == "policy error") {
          expect_policy_error(t.error(), error);
        } else {
          EXPECT_NE(t.error().message.find(R"(the trust store "does-not-exist" of type "tsa" does not exist)"), std::string::npos) << t.error().message;
        }
        continue;
      }
      ASSERT_TRUE(t.ok()) << t.error().message;
      const Verdict v = run(**t, target, e);
      if (expected.starts_with("authentic timestamp valid")) {
        EXPECT_EQ(v.status, Status::verified) << v.detail;
        for (const auto& line : v.logged) EXPECT_EQ(line.find("authenticTimestamp"), std::string::npos) << line;
        ASSERT_FALSE(v.signatures.empty());
        EXPECT_TRUE(v.signatures.back().timestamp.has_value());
        EXPECT_NE(v.signatures.back().timestamp_authority.find("GlobalSign"), std::string::npos);
      } else {
        EXPECT_EQ(v.status, Status::failed);
        EXPECT_NE(v.detail.find("authenticTimestamp: "), std::string::npos) << v.detail;
        // notation-go's own wording where imagegate words it the same (not its CMS library's messages).
        if (!error.empty() && !error.starts_with("failed to")) {
          EXPECT_NE(v.detail.find(error), std::string::npos) << v.detail;
        }
      }
    }
    ++decided;
  }
  EXPECT_EQ(decided, 15);
}

TEST_F(NotationConformanceTest, OciLayoutSignaturesHaveIntegrityButNoTrustedCertificate) {
  int decided = 0;
  const nlohmann::json all = cases();  // kept alive for the loop
  for (const auto& c : all["other"]) {
    SCOPED_TRACE(c.dump());
    const Envelope e = envelope_at(root() / c["envelope"].get<std::string>());
    const fs::path manifest = root() / c["signed_manifest"].get<std::string>();
    const std::string bytes = read_file(manifest);
    const TargetArtifact target{"registry.test/alpine", "sha256:" + verifier::sha256_hex(bytes),
                                static_cast<std::int64_t>(bytes.size()), nlohmann::json::parse(bytes)["mediaType"].get<std::string>()};
    const std::string policy = policy_json("strict", {"ca:valid-trust-store"}, {"*"});
    auto strict = load(policy);
    ASSERT_TRUE(strict.ok()) << strict.error().message;
    const Verdict v = run(**strict, target, e);
    EXPECT_EQ(v.status, Status::failed);
    EXPECT_NE(v.detail.find("authenticity: the signature's certificate chain does not contain any trusted certificate"), std::string::npos) << v.detail;
    auto audit = load(policy_json("audit", {"ca:valid-trust-store"}, {"*"}));
    ASSERT_TRUE(audit.ok());
    const Verdict a = run(**audit, target, e);  // integrity (enforced at audit) holds
    EXPECT_EQ(a.status, Status::verified) << a.detail;
    EXPECT_NE(a.signatures.back().signer_subject.find("CN=alpine"), std::string::npos);
    TargetArtifact other = target;
    other.size += 1;
    EXPECT_EQ(run(**audit, other, e).status, Status::failed);
    ++decided;
  }
  EXPECT_EQ(decided, 2);
}

}  // namespace
}  // namespace imagegate::testing::notation
