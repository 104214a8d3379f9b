// Attestations as a rule's `attestations:` reads them (verifier/signature/attestation/intoto_statement.h,
// sigstore/image_attestations.h, CosignVerifier::verify_attestations): key-based DSSE bundles made here with
// OpenSSL, each attack beside the control that must still verify: the right statement by the anchor's key
// (control); by another key; about another digest; with two subjects neither the image (and with the image
// among several: control); a predicate type differing in case or version; a message signature (not an
// attestation); a deeply nested statement; and the statement parser's own negatives. Then the DSSE cases of
// sigstore-conformance's bundle-verify suite (read in place from IMAGEGATE_CONFORMANCE_DIR), read as
// attestations of their own predicate type: found exactly when cases.json expects them valid.
#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/text.h"
#include "tests/signature_registry.h"
#include "tests/test_support.h"
#include "verifier/crypto/crypto.h"
#include "verifier/signature/anchor_material.h"
#include "verifier/signature/attestation/intoto_statement.h"
#include "verifier/signature/cosign/cosign_verifier.h"
#include "verifier/signature/sigstore/image_attestations.h"
#include "verifier/signature/sigstore/sigstore_bundle.h"

namespace imagegate::verifier {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kManifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})";
const std::string kDigestHex = sha256_hex(kManifest);
const std::string kDigest = "sha256:" + kDigestHex;
const std::string kOtherHex = std::string(64, 'b');
const std::string kSlsa = "https://slsa.dev/provenance/v1";
const std::string kPayloadType = "application/vnd.in-toto+json";

std::string statement(const std::string& predicate_type, const std::vector<std::string>& subjects,
                      const std::string& predicate = R"({"buildDefinition":{"buildType":"x"}})") {
  json subject = json::array();
  for (const std::string& hex : subjects) subject.push_back({{"name", "registry.example/app"}, {"digest", {{"sha256", hex}}}});
  const std::string head =
      json{{"_type", "https://in-toto.io/Statement/v1"}, {"subject", subject}, {"predicateType", predicate_type}}.dump();
  return head.substr(0, head.size() - 1) + R"(,"predicate":)" + predicate + "}";
}

std::string bundle(const testing::SigningKey& key, const std::string& payload) {
  const std::string sig = key.sign(dsse_pae(kPayloadType, payload));
  return json{{"mediaType", kSigstoreBundleMediaTypeV03},
              {"verificationMaterial", {{"publicKey", {{"hint", "release"}}}}},
              {"dsseEnvelope",
               {{"payload", base64_encode(payload)},
                {"payloadType", kPayloadType},
                {"signatures", json::array({json{{"sig", base64_encode(sig)}}})}}}}
      .dump();
}

LoadedAnchor key_anchor(const testing::SigningKey& key) {
  LoadedAnchor anchor;
  anchor.name = "release";
  anchor.kind = LoadedAnchor::Kind::cosign_key;
  anchor.verifier = CosignVerifier::with_key(PublicKey::from_pem(key.public_pem).value());
  return anchor;
}

AttestationCheck find(const testing::SigningKey& anchor_key, std::vector<std::string> bundles,
                      const std::string& type = kSlsa) {
  FetchedSignatures fetched;
  fetched.digest = kDigest;
  fetched.bundles = std::move(bundles);
  return check_fetched_attestations(key_anchor(anchor_key), fetched, type, std::chrono::system_clock::now());
}

class ImageAttestations : public ::testing::Test {
 protected:
  testing::SigningKey key = testing::SigningKey::generate("ec");
  testing::SigningKey stranger = testing::SigningKey::generate("ec");
};

TEST_F(ImageAttestations, RightStatementByTheAnchorKeyVerifies) {
  const AttestationCheck c = find(key, {bundle(key, statement(kSlsa, {kDigestHex}))});
  ASSERT_EQ(c.statements.size(), 1u) << c.detail;
  EXPECT_THAT(c.statements[0].source, HasSubstr("Sigstore bundle 1 signed by key sha256:"));
  EXPECT_EQ(c.statements[0].predicate_json, R"({"buildDefinition":{"buildType":"x"}})");
}

TEST_F(ImageAttestations, AnotherKeyDoesNot) {
  const AttestationCheck c = find(key, {bundle(stranger, statement(kSlsa, {kDigestHex}))});
  EXPECT_TRUE(c.statements.empty());
  EXPECT_THAT(c.detail, HasSubstr("1 attestation of the type, none verified"));
  EXPECT_THAT(c.detail, HasSubstr("DSSE signature does not verify"));
}

TEST_F(ImageAttestations, AnotherDigestDoesNot) {
  const AttestationCheck c = find(key, {bundle(key, statement(kSlsa, {kOtherHex}))});
  EXPECT_TRUE(c.statements.empty());
  EXPECT_THAT(c.detail, HasSubstr("DSSE subject does not name the artifact digest"));
}

TEST_F(ImageAttestations, SeveralSubjectsCountOnlyWithTheImageAmongThem) {
  const AttestationCheck none = find(key, {bundle(key, statement(kSlsa, {kOtherHex, std::string(64, 'c')}))});
  EXPECT_TRUE(none.statements.empty());
  EXPECT_THAT(none.detail, HasSubstr("DSSE subject does not name the artifact digest"));
  const AttestationCheck among = find(key, {bundle(key, statement(kSlsa, {kOtherHex, kDigestHex}))});
  EXPECT_EQ(among.statements.size(), 1u) << among.detail;
}

TEST_F(ImageAttestations, PredicateTypeIsExact) {
  for (const std::string type : {"https://SLSA.dev/provenance/v1", "https://slsa.dev/provenance/v0.2",
                                 "https://slsa.dev/provenance/v1/", "https://slsa.dev/provenance/v1 "}) {
    const AttestationCheck c = find(key, {bundle(key, statement(type, {kDigestHex}))});
    EXPECT_TRUE(c.statements.empty()) << type;
    EXPECT_THAT(c.detail, HasSubstr("no attestation of predicate type \"https://slsa.dev/provenance/v1\" found"));
    EXPECT_THAT(c.detail, HasSubstr("other predicate types"));
  }
}

TEST_F(ImageAttestations, MessageSignaturesAreNotAttestations) {
  const std::string signature =
      json{{"mediaType", kSigstoreBundleMediaTypeV03},
           {"verificationMaterial", {{"publicKey", {{"hint", "release"}}}}},
           {"messageSignature",
            {{"messageDigest", {{"algorithm", "SHA2_256"}, {"digest", base64_encode(sha256(kManifest))}}},
             {"signature", base64_encode(key.sign(kManifest))}}}}
          .dump();
  const AttestationCheck c = find(key, {signature});
  EXPECT_TRUE(c.statements.empty());
  EXPECT_THAT(c.detail, HasSubstr("no attestation of predicate type"));
}

TEST_F(ImageAttestations, DeeplyNestedStatementIsRefused) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const AttestationCheck c = find(key, {bundle(key, statement(kSlsa, {kDigestHex}, deep))});
  EXPECT_TRUE(c.statements.empty());
  EXPECT_THAT(c.detail, HasSubstr("(unreadable: bundle 1: in-toto statement: JSON nested deeper than 32 levels"));
  // Control: nesting within the bound is read.
  const std::string shallow = std::string(20, '[') + std::string(20, ']');
  EXPECT_EQ(find(key, {bundle(key, statement(kSlsa, {kDigestHex}, shallow))}).statements.size(), 1u);
}

TEST_F(ImageAttestations, UnreadableBundlesAreNamed) {
  FetchedSignatures fetched;
  fetched.digest = kDigest;
  fetched.skipped = {"referrer 1: bundle of 14680064 bytes exceeds 1048576"};
  const AttestationCheck c =
      check_fetched_attestations(key_anchor(key), fetched, kSlsa, std::chrono::system_clock::now());
  EXPECT_THAT(c.detail, HasSubstr("(unreadable: referrer 1: bundle of 14680064 bytes exceeds 1048576)"));
}

TEST(InTotoStatement, ParsesAndRefuses) {
  auto ok = parse_intoto_statement(kPayloadType, statement(kSlsa, {kDigestHex, kOtherHex}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->predicate_type, kSlsa);
  EXPECT_EQ(ok->subjects.size(), 2u);
  EXPECT_TRUE(statement_names_digest(*ok, kDigest));
  EXPECT_TRUE(statement_names_digest(*ok, "sha256:" + ascii_lower(kOtherHex)));
  EXPECT_FALSE(statement_names_digest(*ok, "sha256:" + std::string(64, 'c')));
  EXPECT_FALSE(statement_names_digest(*ok, "sha512:" + kDigestHex));

  auto refused = [](std::string_view type, const std::string& payload) {
    auto r = parse_intoto_statement(type, payload);
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_THAT(refused("text/plain", "{}"), HasSubstr("is not in-toto"));
  EXPECT_THAT(refused(kPayloadType, "[]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(refused(kPayloadType, R"({"_type":"https://in-toto.io/Statement/v2","subject":[{}],"predicateType":"x"})"),
              HasSubstr("not an in-toto statement"));
  EXPECT_THAT(refused(kPayloadType, R"({"_type":"https://in-toto.io/Statement/v1","subject":[{}]})"),
              HasSubstr("no predicateType"));
  EXPECT_THAT(refused(kPayloadType, R"({"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"})"),
              HasSubstr("subject list is missing"));
  EXPECT_THAT(refused(kPayloadType, "{\"pad\":\"" + std::string(kMaxStatementBytes, 'x') + "\"}"),
              HasSubstr("in-toto statement: "));
  EXPECT_THAT(refused(kPayloadType, "{"), HasSubstr("in-toto statement: "));
}

// ---- sigstore-conformance: the DSSE cases, as attestations. ---------------------------------------------

namespace fs = std::filesystem;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(AttestationConformance, DsseCasesDecidedAsCasesJsonExpects) {
  const fs::path sigstore = testing::conformance_dir() / "sigstore";
  const fs::path suite = sigstore / "conformance" / "bundle-verify";
  const json cases = json::parse(testing::read_file(sigstore / "cases.json"));
  std::size_t dsse_cases = 0;
  std::size_t valid_found = 0;
  for (const json& c : cases.at("bundle_verify")) {
    const std::string name = c.at("case").get<std::string>();
    const fs::path dir = suite / name;
    const std::string bundle_text = testing::read_file(dir / "bundle.sigstore.json");
    auto parsed = parse_sigstore_bundle(bundle_text);
    if (!parsed || !parsed->dsse) continue;
    const std::string type = intoto_predicate_type(*parsed->dsse);
    if (type.empty()) continue;
    ++dsse_cases;
    const fs::path artifact = fs::exists(dir / "artifact") ? dir / "artifact" : suite / "a.txt";
    const fs::path root_path =
        fs::exists(dir / "trusted_root.json") ? dir / "trusted_root.json" : sigstore / "trusted_root" / "public-good.json";
    auto root = TrustedRoot::from_json(testing::read_file(root_path));
    ASSERT_TRUE(root.ok()) << name;
    BundleTrust trust;
    trust.now = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
    if (fs::exists(dir / "key.pub")) {
      auto key = PublicKey::from_pem(testing::read_file(dir / "key.pub"));
      if (!key) continue;  // managed-key-wrong-key_fail: not a key at all (sigstore_bundle_test covers it)
      trust.key = *key;
    } else {
      CertificateIdentity identity;
      identity.subject = fs::exists(dir / "identity") ? trimmed(testing::read_file(dir / "identity"))
                                                      : "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
                                                        ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
      identity.issuer = fs::exists(dir / "issuer") ? trimmed(testing::read_file(dir / "issuer"))
                                                   : "https://token.actions.githubusercontent.com";
      trust.identity = identity;
    }
    const std::string digest = "sha256:" + sha256_hex(testing::read_file(artifact));
    const AttestationCheck found = verify_image_attestations({bundle_text}, {}, digest, type, *root, trust);
    const bool valid = c.at("expected").get<std::string>() == "valid";
    EXPECT_EQ(!found.statements.empty(), valid) << name << ": " << found.detail;
    if (valid && !found.statements.empty()) ++valid_found;
    // The same bundle asked for another predicate type is never found.
    EXPECT_TRUE(verify_image_attestations({bundle_text}, {}, digest, type + "x", *root, trust).statements.empty()) << name;
  }
  EXPECT_GE(dsse_cases, 10u);  // the suite's DSSE cases are all there
  EXPECT_GE(valid_found, 2u);
}

}  // namespace
}  // namespace imagegate::verifier
