// The notation CLI e2e vectors of ../shared/conformance/notation/notation-cli-e2e (read in place): each of
// the 43 trust policies loaded or rejected naming the problem, and the OCI layouts' signatures verified
// offline from their blobs as cases.json's `notation_cli_e2e` expects (the registry path, with the layouts
// pushed into a docker-registry, is tests/e2e's). Trust stores are laid out in a scratch directory as
// symlinks to the vectors' certificates.
#include <gtest/gtest.h>

#include <map>

#include "tests/test_support.h"
#include "verifier/crypto/crypto.h"
#include "tests/verifier/signature/notation/notation_fixtures.h"

namespace imagegate::testing::notation {
namespace {

using Status = Verdict::Status;

fs::path e2e() { return conformance_dir() / "notation" / "notation-cli-e2e"; }

// Each policy file -> "" (loads) or a text its load error must contain.
const std::map<std::string, std::string>& policy_expectations() {
  static const std::map<std::string, std::string> table = {
      {"any_registry_scope_trust_policy.json", ""},
      {"audit_trustpolicy.json", ""},
      {"blob_trust_policy.json", R"(trust policy statement "wabbit-networks-policy" has zero registry scopes)"},
      {"empty_registry_scope_trustpolicy.json", R"(trust policy statement "e2e" has zero registry scopes)"},
      {"empty_trusted_identity_trustpolicy.json", R"(trust policy statement "e2e" has an empty trusted identity)"},
      {"generate_test_trustpolicy.json", ""},
      {"invalid_format_trustpolicy.json", "malformed trust policy: "},
      {"invalid_registry_scope_trustpolicy.json", ""},
      {"invalid_trust_store_trustpolicy.json", R"(the trust store "invalid_store" of type "ca" does not exist)"},
      {"invalid_trusted_identity_trustpolicy.json", ""},
      {"malformed_registry_scope_trustpolicy.json", R"(registry scope "localhost:5000\test-repo" is not valid)"},
      {"malformed_trust_store_trustpolicy.json", R"(uses an unsupported trust store name "" in trust store value "ca:")"},
      {"malformed_trusted_identity_trustpolicy.json", R"(trust policy statement "e2e" has trusted identity "x509.subject CN=e2e,O=Notary,L=Seattle,ST=WA,C=US" missing separator)"},
      {"missing_country_trusted_identity_trustpolicy.json", R"(has no mandatory RDN attribute for "C")"},
      {"missing_organization_trusted_identity_trustpolicy.json", R"(has no mandatory RDN attribute for "O")"},
      {"missing_state_trusted_identity_trustpolicy.json", R"(has no mandatory RDN attribute for "ST")"},
      {"multi_statements_with_multi_wildcard_registry_scope_trustpolicy.json", R"(registry scope "*" is present in multiple trust policy statements)"},
      {"multi_statements_with_the_same_name_trustpolicy.json", R"(multiple trust policy statements use the same name "e2e")"},
      {"multi_statements_with_the_same_registry_scope_trustpolicy.json", R"(registry scope "localhost:5000/test-repo8" is present in multiple trust policy statements)"},
      {"multi_statements_with_wildcard_registry_scope_trustpolicy.json", ""},
      {"multiple_registry_scope_trustpolicy.json", ""},
      {"multiple_trust_store_trustpolicy.json", ""},
      {"multiple_trusted_identity_trustpolicy.json", ""},
      {"overlapped_registry_scope_trustpolicy.json", R"(registry scope "localhost:5000/test-repo6" is present in multiple trust policy statements)"},
      {"overlapped_trust_store_trustpolicy.json", ""},
      {"overlapped_trusted_identity_trustpolicy.json", R"(trust policy statement "e2e" has overlapping x509 trustedIdentities)"},
      {"override_audit_trustpolicy.json", ""},
      {"override_integrity_for_permissive_trustpolicy.json", R"("integrity" verification can not be overridden in custom signature verification)"},
      {"override_permissive_trustpolicy.json", ""},
      {"override_strict_trustpolicy.json", ""},
      {"permissive_trustpolicy.json", ""},
      {"quickstart_trustpolicy.json", ""},
      {"registry_scope_trustpolicy.json", ""},
      {"skip_trustpolicy.json", ""},
      {"timestamp_after_cert_expiry_trustpolicy.json", ""},
      {"timestamp_trustpolicy.json", ""},
      {"trustpolicy.json", ""},
      {"unset_trust_store_trustpolicy.json", R"(trust policy statement "e2e" is either missing trust stores or trusted identities, both must be specified)"},
      {"unset_trusted_identity_trustpolicy.json", R"(trust policy statement "e2e" is either missing trust stores or trusted identities, both must be specified)"},
      {"valid_trusted_identity_trustpolicy.json", ""},
      {"wildcard_plus_other_registry_scope_trustpolicy.json", R"(trust policy statement "e2e" uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values)"},
      {"wildcard_plus_other_trusted_identity_trustpolicy.json", R"(trust policy statement "e2e" uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values)"},
      {"wildcard_trust_store_trustpolicy.json", R"(has malformed trust store value "*". The required format is <TrustStoreType>:<TrustStoreName>)"},
  };
  return table;
}

// An OCI layout's subject manifest and the Notation signatures attached to it, read from its blobs.
struct Layout {
  TargetArtifact target;
  std::vector<Envelope> envelopes;
};

std::string blob(const fs::path& layout, const std::string& digest) {
  return read_file(layout / "blobs" / "sha256" / digest.substr(std::string("sha256:").size()));
}

Layout read_layout(const fs::path& layout) {
  Layout out;
  const auto index = nlohmann::json::parse(read_file(layout / "index.json"));
  std::vector<nlohmann::json> signatures;
  for (const auto& d : index["manifests"]) {
    if (d["mediaType"] != "application/vnd.oci.image.manifest.v1+json") continue;
    const auto m = nlohmann::json::parse(blob(layout, d["digest"].get<std::string>()));
    if (m.contains("subject")) {
      signatures.push_back(m);
    } else {
      out.target = TargetArtifact{"localhost:5000/e2e", d["digest"].get<std::string>(), d["size"].get<std::int64_t>(),
                                  d["mediaType"].get<std::string>()};
    }
  }
  for (const auto& m : signatures) {
    EXPECT_EQ(m["subject"]["digest"].get<std::string>(), out.target.digest);
    const auto& layer = m["layers"][0];
    out.envelopes.push_back(Envelope{layer["mediaType"].get<std::string>(), blob(layout, layer["digest"].get<std::string>())});
  }
  return out;
}

class NotationCliE2eTest : public ::testing::Test {
 protected:
  NotationCliE2eTest() {
    const fs::path keys = e2e() / "localkeys";
    dir_.link("ca", "e2e-new", keys / "new_e2e.crt");
    dir_.link("ca", "sKey", keys / "e2e.crt");
    dir_.link("ca", "wabbit-networks.io", conformance_dir() / "notation/notation-go/truststore/x509/ca/valid-trust-store/wabbit-networks.io.crt");
    dir_.link("tsa", "e2e", e2e() / "timestamp" / "globalsignTSARoot.cer");
  }
  // The `ca:e2e` store holding one certificate of localkeys.
  void e2e_store(const std::string& cert) {
    std::error_code ec;
    fs::remove_all(dir_.path() / "truststore/x509/ca/e2e", ec);
    dir_.link("ca", "e2e", e2e() / "localkeys" / cert);
  }
  Result<std::shared_ptr<const TrustConfig>> load(const std::string& policy) const {
    return load_trust((e2e() / "trustpolicies" / policy).string(), dir_.trust_store());
  }
  Verdict run(const std::string& policy, const std::string& layout) const {
    auto t = load(policy);
    EXPECT_TRUE(t.ok()) << (t ? "" : t.error().message);
    if (!t) return {};
    const Layout l = read_layout(e2e() / "oci_layout" / layout);
    return verify(**t, l.target, l.envelopes, std::chrono::system_clock::now());
  }

  ScratchDir dir_;
};

TEST_F(NotationCliE2eTest, EachTrustPolicyLoadsOrIsRejectedNamingTheProblem) {
  e2e_store("e2e.crt");
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(e2e() / "trustpolicies")) {
    const std::string name = entry.path().filename().string();
    ++files;
    const auto it = policy_expectations().find(name);
    ASSERT_NE(it, policy_expectations().end()) << "no expectation for " << name;
    auto t = load(name);
    if (it->second.empty()) {
      EXPECT_TRUE(t.ok()) << name << ": " << t.error().message;
    } else {
      ASSERT_FALSE(t.ok()) << name;
      EXPECT_NE(t.error().message.find(it->second), std::string::npos) << name << ": " << t.error().message;
      EXPECT_NE(t.error().message.find(name), std::string::npos) << "the error names the file: " << t.error().message;
    }
  }
  EXPECT_EQ(files, 43u);
  EXPECT_EQ(policy_expectations().size(), 43u);
}

TEST_F(NotationCliE2eTest, ValidSignatureAndTrustedIdentities) {
  e2e_store("e2e.crt");
  for (const char* policy : {"trustpolicy.json", "valid_trusted_identity_trustpolicy.json", "multiple_trusted_identity_trustpolicy.json",
                             "multiple_trust_store_trustpolicy.json", "overlapped_trust_store_trustpolicy.json",
                             "any_registry_scope_trust_policy.json", "multi_statements_with_wildcard_registry_scope_trustpolicy.json"}) {
    const Verdict v = run(policy, "e2e-valid-signature");
    EXPECT_EQ(v.status, Status::verified) << policy << ": " << v.detail;
    ASSERT_FALSE(v.signatures.empty());
    EXPECT_NE(v.signatures[0].signer_subject.find("CN=e2e"), std::string::npos);
  }
  const Verdict id = run("invalid_trusted_identity_trustpolicy.json", "e2e-valid-signature");
  EXPECT_EQ(id.status, Status::failed);
  EXPECT_NE(id.detail.find("signing certificate from the digital signature does not match the X.509 trusted identities"), std::string::npos) << id.detail;
  // Registry scopes: a statement for another repository does not apply.
  const Verdict scoped = run("registry_scope_trustpolicy.json", "e2e-valid-signature");
  EXPECT_EQ(scoped.status, Status::failed);
  EXPECT_NE(scoped.detail.find("no applicable trust policy statement"), std::string::npos);
}

TEST_F(NotationCliE2eTest, UntrustedCertificateFailsUnlessAudit) {
  e2e_store("new_e2e.crt");
  for (const char* policy : {"trustpolicy.json", "permissive_trustpolicy.json"}) {
    const Verdict v = run(policy, "e2e-valid-signature");
    EXPECT_EQ(v.status, Status::failed) << policy;
    EXPECT_NE(v.detail.find("authenticity:"), std::string::npos) << v.detail;
  }
  const Verdict audit = run("audit_trustpolicy.json", "e2e-valid-signature");
  EXPECT_EQ(audit.status, Status::verified) << audit.detail;
  ASSERT_FALSE(audit.logged.empty());
  EXPECT_NE(audit.logged[0].find("the signature's certificate chain does not contain any trusted certificate"), std::string::npos);
}

TEST_F(NotationCliE2eTest, InvalidSignatureFailsIntegrityExceptUnderSkip) {
  e2e_store("e2e.crt");
  for (const char* policy : {"trustpolicy.json", "permissive_trustpolicy.json", "audit_trustpolicy.json"}) {
    const Verdict v = run(policy, "e2e-invalid-signature");
    EXPECT_EQ(v.status, Status::failed) << policy;
    EXPECT_NE(v.detail.find("integrity:"), std::string::npos) << v.detail;
  }
  EXPECT_EQ(run("skip_trustpolicy.json", "e2e-invalid-signature").status, Status::skipped);
}

TEST_F(NotationCliE2eTest, ExpiredSignatureByLevelAndOverride) {
  e2e_store("e2e.crt");
  const Verdict strict = run("trustpolicy.json", "e2e-expired-signature");
  EXPECT_EQ(strict.status, Status::failed);
  EXPECT_NE(strict.detail.find("expiry: digital signature has expired"), std::string::npos) << strict.detail;
  for (const char* policy : {"permissive_trustpolicy.json", "audit_trustpolicy.json", "override_strict_trustpolicy.json"}) {
    const Verdict v = run(policy, "e2e-expired-signature");
    EXPECT_EQ(v.status, Status::verified) << policy << ": " << v.detail;
    ASSERT_FALSE(v.logged.empty()) << policy;
    EXPECT_NE(v.logged[0].find("digital signature has expired"), std::string::npos);
  }
  EXPECT_EQ(run("override_permissive_trustpolicy.json", "e2e-expired-signature").status, Status::failed);
}

TEST_F(NotationCliE2eTest, ExpiredCertificateFailsAuthenticTimestampAtStrict) {
  e2e_store("expired_e2e.crt");
  const Verdict strict = run("trustpolicy.json", "e2e-with-expired-cert");
  EXPECT_EQ(strict.status, Status::failed);
  EXPECT_NE(strict.detail.find("authenticTimestamp:"), std::string::npos) << strict.detail;
  for (const char* policy : {"permissive_trustpolicy.json", "audit_trustpolicy.json"}) {
    const Verdict v = run(policy, "e2e-with-expired-cert");
    EXPECT_EQ(v.status, Status::verified) << policy << ": " << v.detail;
    ASSERT_FALSE(v.logged.empty());
    EXPECT_NE(v.logged[0].find(R"(validity period, it was expired at "Tue, 27 Jun 2023 06:10:00 +0000")"), std::string::npos) << v.logged[0];
  }
}

TEST_F(NotationCliE2eTest, MultipleSignaturesOneTrusted) {
  e2e_store("e2e.crt");
  const Layout l = read_layout(e2e() / "oci_layout" / "e2e-valid-multiple-signatures");
  EXPECT_EQ(l.envelopes.size(), 2u);
  const Verdict v = run("trustpolicy.json", "e2e-valid-multiple-signatures");
  EXPECT_EQ(v.status, Status::verified) << v.detail;
}

TEST_F(NotationCliE2eTest, TimestampedSignaturesAndUnsignedArtifact) {
  e2e_store("e2e.crt");
  // testcert7 is not trusted here: the envelope parses and fails at authenticity, not integrity.
  const Verdict ts = run("trustpolicy.json", "e2e-with-timestamped-signature");
  EXPECT_EQ(ts.status, Status::failed);
  EXPECT_NE(ts.detail.find("authenticity:"), std::string::npos) << ts.detail;
  // The malformed countersignature fails authentic timestamp (logged at audit, after integrity held).
  auto doc = nlohmann::json::parse(read_file(e2e() / "trustpolicies" / "timestamp_trustpolicy.json"));
  doc["trustPolicies"][0]["signatureVerification"] = {{"level", "audit"}, {"override", {{"authenticTimestamp", "enforce"}}}};
  auto t = load_trust(dir_.write("ts-audit.json", doc.dump()), dir_.trust_store());
  ASSERT_TRUE(t.ok()) << t.error().message;
  const Layout bad = read_layout(e2e() / "oci_layout" / "e2e-with-invalid-timestamped-signature");
  const Verdict v = verify(**t, bad.target, bad.envelopes, std::chrono::system_clock::now());
  EXPECT_EQ(v.status, Status::failed);
  EXPECT_NE(v.detail.find("authenticTimestamp: failed to verify the timestamp countersignature"), std::string::npos) << v.detail;
  const Verdict none = run("trustpolicy.json", "e2e");
  EXPECT_EQ(none.status, Status::failed);
  EXPECT_EQ(none.detail, "no Notation signatures found");
}

TEST_F(NotationCliE2eTest, BlobSignaturesHaveIntegrity) {
  e2e_store("e2e.crt");
  auto t = load("audit_trustpolicy.json");
  ASSERT_TRUE(t.ok());
  const std::string artifact = read_file(e2e() / "signatures" / "signed-artifact.LICENSE.txt");
  for (const char* sig : {"blob.jws.sig", "blob.cose.sig"}) {
    std::string bytes = read_file(e2e() / "signatures" / sig);
    const Envelope e{std::string(bytes.front() == '{' ? kMediaTypeJws : kMediaTypeCose), bytes};
    TargetArtifact target{"localhost:5000/blob", "sha256:" + verifier::sha256_hex(artifact), static_cast<std::int64_t>(artifact.size()),
                          "application/octet-stream"};
    Verdict v = verify(**t, target, {e}, std::chrono::system_clock::now());
    if (v.status != Status::verified && v.detail.find("media type") != std::string::npos) {
      ADD_FAILURE() << sig << ": blob media type differs: " << v.detail;
    }
    EXPECT_EQ(v.status, Status::verified) << sig << ": " << v.detail;  // integrity enforced, the rest logged
    target.digest = "sha256:" + std::string(64, '0');
    EXPECT_EQ(verify(**t, target, {e}, std::chrono::system_clock::now()).status, Status::failed) << sig;
  }
  const Envelope malformed{std::string(kMediaTypeJws), read_file(e2e() / "signatures" / "malformed.jws.sig")};
  const Verdict m = verify(**t, TargetArtifact{"localhost:5000/blob", "sha256:0", 0, "x"}, {malformed}, std::chrono::system_clock::now());
  EXPECT_EQ(m.status, Status::failed);
  EXPECT_NE(m.detail.find("integrity: JWS envelope"), std::string::npos) << m.detail;
}

}  // namespace
}  // namespace imagegate::testing::notation
