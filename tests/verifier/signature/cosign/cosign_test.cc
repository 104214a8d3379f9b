// verifier/signature/cosign/cosign.h and verifier/signature/sigstore/rekor.h: connaisseur's real cosign signatures read in place (the full
// signature x key matrix, the digest-binding negative, the keyless signature with the public-good root),
// the mutations cases.json describes, and keyless signatures made at test time (own Fulcio CA and Rekor
// key) for what the real data cannot show: a foreign root, an expired certificate, a forged SET.
#include "verifier/signature/cosign/cosign.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"
#include "tests/verifier/signature/signing_fixtures.h"
#include "verifier/signature/sigstore/rekor.h"

namespace imagegate::verifier {
namespace {

using imagegate::testing::CertSpec;
using imagegate::testing::conformance_dir;
using imagegate::testing::read_file;
using imagegate::testing::TestCert;
using imagegate::testing::TestKey;
using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::system_clock;

constexpr std::size_t kMaxLayers = 50;
const std::string kAliceImage = "sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81";
const std::string kTrioImage = "sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533";
const std::string kKeylessImage = "sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee";

std::filesystem::path connaisseur() { return conformance_dir() / "cosign/connaisseur"; }
std::filesystem::path repo() { return connaisseur() / "securesystemsengineering/testimage"; }

std::vector<CosignSignature> signatures_for(const std::string& digest) {
  auto manifest = parse_manifest(read_file(repo() / "manifests" / (cosign_signature_tag(digest) + ".json")), kMaxLayers);
  if (!manifest) ADD_FAILURE() << manifest.error().message;
  std::vector<CosignSignature> out;
  for (const auto& layer : manifest->layers) {
    auto sig = cosign_signature_from_layer(layer, read_file(repo() / "blobs" / (layer.digest + ".json")));
    if (!sig) ADD_FAILURE() << sig.error().message;
    out.push_back(*sig);
  }
  return out;
}

PublicKey key(const std::string& name) {
  auto k = PublicKey::from_pem(read_file(connaisseur() / "keys" / (name + ".key")));
  if (!k) ADD_FAILURE() << k.error().message;
  return *k;
}

TrustedRoot public_good() {
  auto root = TrustedRoot::from_json(read_file(conformance_dir() / "sigstore/trusted_root/public-good.json"));
  if (!root) ADD_FAILURE() << root.error().message;
  return *root;
}

std::shared_ptr<const re2::RE2> re(const std::string& pattern) { return std::make_shared<const re2::RE2>(pattern); }

TEST(CosignFormat, SignatureTagAndManifest) {
  EXPECT_EQ(cosign_signature_tag("sha256:abc"), "sha256-abc.sig");
  auto m = parse_manifest(read_file(repo() / "manifests" / (cosign_signature_tag(kTrioImage) + ".json")), kMaxLayers);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m->artifact_type, "application/vnd.oci.image.config.v1+json");
  ASSERT_EQ(m->layers.size(), 3U);
  EXPECT_EQ(m->layers[0].media_type, "application/vnd.dev.cosign.simplesigning.v1+json");
  EXPECT_TRUE(m->layers[0].annotations.count(kCosignSignatureAnnotation));
  // Too many layers for the bound.
  auto bounded = parse_manifest(read_file(repo() / "manifests" / (cosign_signature_tag(kTrioImage) + ".json")), 2);
  ASSERT_FALSE(bounded.ok());
  EXPECT_EQ(bounded.error().code, ErrorCode::resource_exhausted);
  // An index (and referrers answers) lists manifests with artifactType.
  auto index = parse_manifest(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":10,
       "artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","annotations":{"k":"v"}}]})",
                              kMaxLayers);
  ASSERT_TRUE(index.ok()) << index.error().message;
  ASSERT_EQ(index->manifests.size(), 1U);
  EXPECT_EQ(index->manifests[0].artifact_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
  EXPECT_EQ(index->manifests[0].size, 10U);
  EXPECT_EQ(index->manifests[0].annotations.at("k"), "v");
}

TEST(CosignFormat, ManifestNegatives) {
  for (const char* bad :
       {"", "[]", "{}", "{\"schemaVersion\":1,\"layers\":[]}", "{\"layers\":{}}", "{\"layers\":[1]}",
        "{\"layers\":[{\"mediaType\":\"x\"}]}", "{\"layers\":[{\"digest\":\"sha256:a\",\"size\":-1}]}",
        "{\"layers\":[{\"digest\":\"sha256:a\",\"annotations\":{\"k\":1}}]}", "{\"layers\":[],\"manifests\":[]}",
        "{\"layers\":[{\"digest\":7}]}", "{\"layers\":[],\"config\":5}", "{\"layers\":[] trailing"}) {
    EXPECT_FALSE(parse_manifest(bad, kMaxLayers).ok()) << bad;
  }
  std::string many = "{\"layers\":[";
  for (int i = 0; i < 51; ++i) many += std::string(i ? "," : "") + "{\"digest\":\"sha256:a\"}";
  many += "]}";
  EXPECT_EQ(parse_manifest(many, kMaxLayers).error().code, ErrorCode::resource_exhausted);
  EXPECT_EQ(parse_manifest(std::string(5 * 1024 * 1024, ' '), kMaxLayers).error().code, ErrorCode::resource_exhausted);
}

TEST(CosignFormat, LayerToSignature) {
  LayerDescriptor layer;
  const std::string payload = R"({"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"},"optional":null})";
  layer.digest = "sha256:" + sha256_hex(payload);
  EXPECT_EQ(cosign_signature_from_layer(layer, payload).error().code, ErrorCode::invalid_argument);  // no signature
  layer.annotations[kCosignSignatureAnnotation] = "not base64!";
  EXPECT_EQ(cosign_signature_from_layer(layer, payload).error().code, ErrorCode::invalid_argument);
  layer.annotations[kCosignSignatureAnnotation] = base64_encode("sig");
  layer.annotations[kCosignBundleAnnotation] = "{}";
  auto sig = cosign_signature_from_layer(layer, payload);
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->signature, "sig");
  EXPECT_EQ(sig->rekor_bundle_json, "{}");
  EXPECT_EQ(sig->certificate_pem, "");
  // A payload that is not the blob the layer names.
  EXPECT_EQ(cosign_signature_from_layer(layer, payload + " ").error().code, ErrorCode::invalid_argument);
  layer.digest = "sha512:" + hex_encode(sha_digest(HashAlgorithm::sha512, payload));
  EXPECT_TRUE(cosign_signature_from_layer(layer, payload).ok());
  layer.digest = "md5:0123";
  EXPECT_EQ(cosign_signature_from_layer(layer, payload).error().code, ErrorCode::invalid_argument);
  // Oversized payload.
  layer.digest = "";
  EXPECT_EQ(cosign_signature_from_layer(layer, std::string(kMaxSignaturePayloadBytes + 1, 'x')).error().code,
            ErrorCode::resource_exhausted);
}

TEST(CosignFormat, SimpleSigning) {
  auto p = parse_simple_signing(read_file(repo() / "blobs/sha256:d8ee807d96efe7441b132967ad94eaffbc0172a763e69f2cd8df8f583f0ba0d4.json"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->manifest_digest, kAliceImage);
  EXPECT_EQ(p->type, "cosign container image signature");
  EXPECT_EQ(p->docker_reference, "index.docker.io/securesystemsengineering/testimage");
  auto opt = parse_simple_signing(R"({"critical":{"image":{"docker-manifest-digest":"sha256:x"},"type":"t"},"optional":{"a":"b","n":1}})");
  ASSERT_TRUE(opt.ok());
  EXPECT_EQ(opt->optional, (std::map<std::string, std::string>{{"a", "b"}}));
  for (const char* bad : {"", "[]", "{}", "{\"critical\":1}", "{\"critical\":{\"type\":\"t\"}}",
                          "{\"critical\":{\"image\":{\"docker-manifest-digest\":1},\"type\":\"t\"}}",
                          "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"d\"}}}",
                          "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"d\"},\"type\":\"t\"},\"optional\":[]}"}) {
    EXPECT_FALSE(parse_simple_signing(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_simple_signing(std::string(kMaxSignaturePayloadBytes + 1, ' ')).error().code,
            ErrorCode::resource_exhausted);
}

// cases.json signature_vs_key: 16 pairs, 4 valid, 12 wrong-key.
TEST(CosignKey, ConnaisseurMatrix) {
  const json cases = json::parse(read_file(connaisseur() / "cases.json"));
  std::map<std::string, std::string> digest_of_sigs;
  for (const auto& [name, image] : cases["images"].items()) {
    if (image["signatures"].is_string()) digest_of_sigs[image["signatures"]] = image["digest"];
  }
  int valid = 0;
  int invalid = 0;
  for (const auto& c : cases["signature_vs_key"]) {
    SCOPED_TRACE(c["id"].get<std::string>());
    auto manifest = parse_manifest(read_file(connaisseur() / c["signature_manifest"].get<std::string>()), kMaxLayers);
    ASSERT_TRUE(manifest.ok());
    const auto& layer = manifest->layers.at(c["layer_index"].get<std::size_t>());
    auto sig = cosign_signature_from_layer(layer, read_file(connaisseur() / c["payload_file"].get<std::string>()));
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    EXPECT_EQ(base64_encode(sig->signature), c["signature_b64"]);
    auto pub = PublicKey::from_pem(read_file(connaisseur() / c["public_key"].get<std::string>()));
    ASSERT_TRUE(pub.ok());
    auto r = verify_cosign_key(*sig, *pub, digest_of_sigs.at(c["signature_manifest"]), {});
    if (c["expected"] == "valid") {
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(r->signer, "key sha256:" + sha256_hex(pub->spki_der()).substr(0, 12));
      EXPECT_FALSE(r->integrated_time.has_value());
      ++valid;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, ErrorCode::permission_denied);
      EXPECT_EQ(r.error().message, "signature does not verify with the key");
      ++invalid;
    }
  }
  EXPECT_EQ(valid, 4);
  EXPECT_EQ(invalid, 12);
}

TEST(CosignKey, DigestBindingAndMutations) {
  const auto alice_sigs = signatures_for(kAliceImage);
  ASSERT_EQ(alice_sigs.size(), 1U);
  const PublicKey alice = key("alice");
  ASSERT_TRUE(verify_cosign_key(alice_sigs[0], alice, kAliceImage, {}).ok());
  // A genuine alice signature replayed onto another image.
  auto replay = verify_cosign_key(alice_sigs[0], alice, kTrioImage, {});
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().message, "signature is for digest " + kAliceImage + ", not " + kTrioImage);
  // Tampered payload byte (cases.json recipe).
  CosignSignature tampered = alice_sigs[0];
  const auto pos = tampered.payload.find("image signature");
  ASSERT_NE(pos, std::string::npos);
  tampered.payload[pos + 14] = 'E';
  EXPECT_EQ(verify_cosign_key(tampered, alice, kAliceImage, {}).error().message,
            "signature does not verify with the key");
  // Tampered signature: last bit of the last byte.
  CosignSignature flipped = alice_sigs[0];
  flipped.signature.back() = static_cast<char>(flipped.signature.back() ^ 0x01);
  EXPECT_EQ(verify_cosign_key(flipped, alice, kAliceImage, {}).error().code, ErrorCode::permission_denied);
  // Constraints on the payload.
  PayloadConstraints ref;
  ref.docker_reference = "index.docker.io/securesystemsengineering/testimage";
  EXPECT_TRUE(verify_cosign_key(alice_sigs[0], alice, kAliceImage, ref).ok());
  ref.docker_reference = "index.docker.io/other/image";
  EXPECT_FALSE(verify_cosign_key(alice_sigs[0], alice, kAliceImage, ref).ok());
  PayloadConstraints ann;
  ann.annotations["env"] = "prod";
  EXPECT_EQ(verify_cosign_key(alice_sigs[0], alice, kAliceImage, ann).error().message, "annotation env=prod required");
  // Three signatures on the trio image: alice's, bob's and charlie's, each only with its own key.
  const auto trio = signatures_for(kTrioImage);
  ASSERT_EQ(trio.size(), 3U);
  for (const char* name : {"alice", "bob", "charlie"}) {
    int matched = 0;
    for (const auto& s : trio) matched += verify_cosign_key(s, key(name), kTrioImage, {}).ok() ? 1 : 0;
    EXPECT_EQ(matched, 1) << name;
  }
  int by_default = 0;
  for (const auto& s : trio) by_default += verify_cosign_key(s, key("default"), kTrioImage, {}).ok() ? 1 : 0;
  EXPECT_EQ(by_default, 0);
}

TEST(CosignKeyless, ConnaisseurPublicGood) {
  const auto sigs = signatures_for(kKeylessImage);
  ASSERT_EQ(sigs.size(), 1U);
  const TrustedRoot root = public_good();
  CertificateIdentity philipp{"", re(".*github.*"), "", re(".*philipp.*")};
  auto ok = verify_cosign_keyless(sigs[0], root, philipp, kKeylessImage, {});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->signer, "philipp.belitz@securesystems.de (https://github.com/login/oauth)");
  ASSERT_TRUE(ok->integrated_time.has_value());
  EXPECT_EQ(system_clock::to_time_t(*ok->integrated_time), 1717082297);

  CertificateIdentity bob{"", re(".*google.*"), "bob@gmail.com", nullptr};
  auto denied = verify_cosign_keyless(sigs[0], root, bob, kKeylessImage, {});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::permission_denied);
  EXPECT_EQ(denied.error().message.rfind("identity mismatch: ", 0), 0U) << denied.error().message;
  CertificateIdentity issuer_only{"https://accounts.google.com", nullptr, "philipp.belitz@securesystems.de", nullptr};
  EXPECT_FALSE(verify_cosign_keyless(sigs[0], root, issuer_only, kKeylessImage, {}).ok());

  // Another image's digest.
  EXPECT_EQ(verify_cosign_keyless(sigs[0], root, philipp, kAliceImage, {}).error().message.rfind("signature is for digest", 0), 0U);
  // Forged SET: one bit of SignedEntryTimestamp.
  {
    CosignSignature forged = sigs[0];
    json bundle = json::parse(forged.rekor_bundle_json);
    std::string set = base64_decode(bundle["SignedEntryTimestamp"].get<std::string>()).value();
    set.back() = static_cast<char>(set.back() ^ 0x01);
    bundle["SignedEntryTimestamp"] = base64_encode(set);
    forged.rekor_bundle_json = bundle.dump();
    EXPECT_EQ(verify_cosign_keyless(forged, root, philipp, kKeylessImage, {}).error().message, "Rekor SET does not verify");
  }
  // A later integratedTime (the certificate would look valid longer): the SET no longer covers it.
  {
    CosignSignature forged = sigs[0];
    json bundle = json::parse(forged.rekor_bundle_json);
    bundle["Payload"]["integratedTime"] = 1717082298;
    forged.rekor_bundle_json = bundle.dump();
    EXPECT_EQ(verify_cosign_keyless(forged, root, philipp, kKeylessImage, {}).error().message, "Rekor SET does not verify");
  }
  // Unknown log.
  {
    CosignSignature forged = sigs[0];
    json bundle = json::parse(forged.rekor_bundle_json);
    bundle["Payload"]["logID"] = std::string(64, 'a');
    forged.rekor_bundle_json = bundle.dump();
    EXPECT_EQ(verify_cosign_keyless(forged, root, philipp, kKeylessImage, {}).error().message.rfind("unknown Rekor log", 0), 0U);
  }
  // Tampered payload: the Rekor entry's hash no longer matches, nor does the signature.
  {
    CosignSignature forged = sigs[0];
    forged.payload[forged.payload.find("signature\"") + 8] = 'E';
    EXPECT_FALSE(verify_cosign_keyless(forged, root, philipp, kKeylessImage, {}).ok());
  }
  // Tampered signature.
  {
    CosignSignature forged = sigs[0];
    forged.signature.back() = static_cast<char>(forged.signature.back() ^ 0x01);
    EXPECT_EQ(verify_cosign_keyless(forged, root, philipp, kKeylessImage, {}).error().message,
              "Rekor entry records another signature");
  }
  // No Rekor bundle; no certificate.
  {
    CosignSignature bare = sigs[0];
    bare.rekor_bundle_json.clear();
    EXPECT_EQ(verify_cosign_keyless(bare, root, philipp, kKeylessImage, {}).error().message,
              "no Rekor bundle: cannot establish signing time offline");
    bare = sigs[0];
    bare.certificate_pem.clear();
    EXPECT_FALSE(verify_cosign_keyless(bare, root, philipp, kKeylessImage, {}).ok());
  }
  // The connaisseur config's own PEM trust (Fulcio root + Rekor key) verifies the same signature.
  auto pem_root = TrustedRoot::from_pem(root.certificate_authorities[1].chain[1].pem(),
                                        "-----BEGIN PUBLIC KEY-----\n" + base64_encode(root.tlogs[0].key.spki_der()) +
                                            "\n-----END PUBLIC KEY-----\n");
  ASSERT_TRUE(pem_root.ok());
  EXPECT_TRUE(verify_cosign_keyless(sigs[0], *pem_root, philipp, kKeylessImage, {}).ok());
  // The Rekor bundle of a keyless signature does not make a key signature verify with an unrelated key.
  EXPECT_FALSE(verify_cosign_key(sigs[0], key("alice"), kKeylessImage, {}, &root).ok());
}

// A Fulcio CA, a Rekor key and a signer, all made now, producing cosign's exact annotation shapes.
struct Sigstore {
  TestKey fulcio_key = TestKey::ec("P-384");
  TestKey rekor_key = TestKey::ec("P-256");
  TestKey signer_key = TestKey::ec("P-256");
  system_clock::time_point t0 = system_clock::from_time_t(system_clock::to_time_t(system_clock::now() - hours(24)));
  TestCert fulcio = make_fulcio();
  TestCert make_fulcio() {
    CertSpec s;
    s.common_name = "test-fulcio";
    s.ca = true;
    s.not_before = t0 - hours(24);
    s.not_after = t0 + hours(24 * 365);
    return TestCert::issue(s, fulcio_key, nullptr, fulcio_key);
  }
  TestCert leaf(const std::string& email, const std::string& issuer) {
    CertSpec s;
    s.common_name = "";
    s.not_before = t0;
    s.not_after = t0 + minutes(10);
    s.san_emails = {email};
    s.fulcio_extensions = {{"1.3.6.1.4.1.57264.1.8", issuer}};
    return TestCert::issue(s, signer_key, &fulcio, fulcio_key);
  }
  static std::string payload(const std::string& digest) {
    return R"({"critical":{"identity":{"docker-reference":"registry.local/app"},"image":{"docker-manifest-digest":")" +
           digest + R"("},"type":"cosign container image signature"},"optional":{"env":"prod"}})";
  }
  // cosign's dev.sigstore.cosign/bundle for a hashedrekord of (payload, signature, signer PEM).
  std::string bundle(const std::string& payload_bytes, const std::string& signature, const std::string& signer_pem,
                     std::int64_t integrated) const {
    json body = {{"apiVersion", "0.0.1"},
                 {"kind", "hashedrekord"},
                 {"spec",
                  {{"data", {{"hash", {{"algorithm", "sha256"}, {"value", sha256_hex(payload_bytes)}}}}},
                   {"signature", {{"content", base64_encode(signature)}, {"publicKey", {{"content", base64_encode(signer_pem)}}}}}}}};
    const std::string body_b64 = base64_encode(body.dump());
    const std::string log_id = sha256_hex(rekor_key.public_der());
    json canonical = {{"body", body_b64}, {"integratedTime", integrated}, {"logID", log_id}, {"logIndex", 7}};
    json out = {{"SignedEntryTimestamp", base64_encode(rekor_key.sign(canonical.dump()))},
                {"Payload", {{"body", body_b64}, {"integratedTime", integrated}, {"logIndex", 7}, {"logID", log_id}}}};
    return out.dump();
  }
  TrustedRoot root() const {
    auto r = TrustedRoot::from_pem(fulcio.pem(), rekor_key.public_pem());
    if (!r) ADD_FAILURE() << r.error().message;
    return *r;
  }
  CosignSignature keyless(const std::string& digest, const TestCert& cert, std::int64_t integrated) const {
    CosignSignature s;
    s.payload = payload(digest);
    s.signature = signer_key.sign(s.payload);
    s.certificate_pem = cert.pem();
    s.rekor_bundle_json = bundle(s.payload, s.signature, s.certificate_pem, integrated);
    return s;
  }
};

const std::string kDigest = "sha256:" + std::string(64, 'd');

TEST(CosignKeyless, MadeAtTestTime) {
  Sigstore ss;
  TestCert cert = ss.leaf("dev@example.com", "https://issuer.example");
  const std::int64_t during = system_clock::to_time_t(ss.t0) + 60;
  CertificateIdentity id{"https://issuer.example", nullptr, "dev@example.com", nullptr};
  const TrustedRoot root = ss.root();
  auto ok = verify_cosign_keyless(ss.keyless(kDigest, cert, during), root, id, kDigest, {});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->signer, "dev@example.com (https://issuer.example)");
  PayloadConstraints constraints;
  constraints.docker_reference = "registry.local/app";
  constraints.annotations["env"] = "prod";
  EXPECT_TRUE(verify_cosign_keyless(ss.keyless(kDigest, cert, during), root, id, kDigest, constraints).ok());
  constraints.annotations["env"] = "dev";
  EXPECT_EQ(verify_cosign_keyless(ss.keyless(kDigest, cert, during), root, id, kDigest, constraints).error().message,
            "annotation env=dev required");

  // Expired certificate at the integrated time (logged 11 minutes after issuance).
  auto expired = verify_cosign_keyless(ss.keyless(kDigest, cert, during + 600), root, id, kDigest, {});
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().message.rfind("certificate expired at integrated time", 0), 0U) << expired.error().message;

  // Certificate from another root: same identity, issued by a different CA; our Rekor still logged it.
  Sigstore other;
  TestCert foreign = other.leaf("dev@example.com", "https://issuer.example");
  CosignSignature s;
  s.payload = Sigstore::payload(kDigest);
  s.signature = other.signer_key.sign(s.payload);
  s.certificate_pem = foreign.pem();
  s.rekor_bundle_json = ss.bundle(s.payload, s.signature, s.certificate_pem, system_clock::to_time_t(other.t0) + 60);
  auto untrusted = verify_cosign_keyless(s, root, id, kDigest, {});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().message.rfind("certificate does not chain to a trusted Fulcio root", 0), 0U)
      << untrusted.error().message;

  // A SET by a key that is not the configured Rekor's.
  CosignSignature wrong_log = ss.keyless(kDigest, cert, during);
  wrong_log.rekor_bundle_json = other.bundle(wrong_log.payload, wrong_log.signature, wrong_log.certificate_pem, during);
  EXPECT_EQ(verify_cosign_keyless(wrong_log, root, id, kDigest, {}).error().message.rfind("unknown Rekor log", 0), 0U);

  // A Rekor entry for another certificate (same key, different certificate) is refused.
  TestCert twin = ss.leaf("dev@example.com", "https://issuer.example");
  CosignSignature swapped = ss.keyless(kDigest, cert, during);
  swapped.certificate_pem = twin.pem();
  EXPECT_EQ(verify_cosign_keyless(swapped, root, id, kDigest, {}).error().message,
            "Rekor entry records another signing certificate or key");

  // Identity and issuer mismatches.
  CertificateIdentity wrong_subject{"https://issuer.example", nullptr, "eve@example.com", nullptr};
  CertificateIdentity wrong_issuer{"", re("https://other\\..*"), "", re(".*@example\\.com")};
  EXPECT_FALSE(verify_cosign_keyless(ss.keyless(kDigest, cert, during), root, wrong_subject, kDigest, {}).ok());
  EXPECT_FALSE(verify_cosign_keyless(ss.keyless(kDigest, cert, during), root, wrong_issuer, kDigest, {}).ok());
  CertificateIdentity regex_ok{"", re("https://issuer\\..*"), "", re(".*@example\\.com")};
  EXPECT_TRUE(verify_cosign_keyless(ss.keyless(kDigest, cert, during), root, regex_ok, kDigest, {}).ok());
}

TEST(CosignKey, OtherKeyTypesAndRekorBundle) {
  Sigstore ss;
  const TrustedRoot root = ss.root();
  for (auto k : {TestKey::rsa(2048), TestKey::ed25519(), TestKey::ec("P-384")}) {
    CosignSignature s;
    s.payload = Sigstore::payload(kDigest);
    s.signature = k.sign(s.payload, EVP_sha256());
    auto pub = PublicKey::from_pem(k.public_pem());
    ASSERT_TRUE(pub.ok());
    auto r = verify_cosign_key(s, *pub, kDigest, {});
    ASSERT_TRUE(r.ok()) << to_string(pub->type()) << ": " << r.error().message;
    // With a Rekor bundle for this signature and key: the SET is checked and its time reported.
    s.rekor_bundle_json = ss.bundle(s.payload, s.signature, k.public_pem(), 1700000000);
    auto logged = verify_cosign_key(s, *pub, kDigest, {}, &root);
    ASSERT_TRUE(logged.ok()) << logged.error().message;
    ASSERT_TRUE(logged->integrated_time.has_value());
    EXPECT_EQ(system_clock::to_time_t(*logged->integrated_time), 1700000000);
    // A bundle recording another key.
    s.rekor_bundle_json = ss.bundle(s.payload, s.signature, TestKey::ec().public_pem(), 1700000000);
    EXPECT_EQ(verify_cosign_key(s, *pub, kDigest, {}, &root).error().message,
              "Rekor entry records another signing certificate or key");
  }
  // Wrong type in the payload.
  TestKey k = TestKey::ec();
  CosignSignature s;
  s.payload = R"({"critical":{"image":{"docker-manifest-digest":")" + kDigest + R"("},"type":"atomic container signature"}})";
  s.signature = k.sign(s.payload);
  EXPECT_EQ(verify_cosign_key(s, PublicKey::from_pem(k.public_pem()).value(), kDigest, {}).error().message,
            "payload type atomic container signature is not a cosign container image signature");
}

TEST(Rekor, BundleAndBodyParsing) {
  for (const char* bad : {"", "{}", "[]", R"({"SignedEntryTimestamp":"!!","Payload":{}})",
                          R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1,"logIndex":1}})",
                          R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1,"logIndex":-1,"logID":"aa"}})",
                          R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":"1","logIndex":1,"logID":"aa"}})",
                          R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1e30,"logIndex":1,"logID":"aa"}})",
                          R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":99999999999,"logIndex":1,"logID":"aa"}})",
                          R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"zz"}})"}) {
    EXPECT_FALSE(parse_cosign_rekor_bundle(bad).ok()) << bad;
  }
  auto good = parse_cosign_rekor_bundle(R"({"SignedEntryTimestamp":"AAAA","Payload":{"body":"e30=","integratedTime":5,"logIndex":6,"logID":"abcd"}})");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->entry.body, "{}");
  EXPECT_EQ(good->entry.integrated_time, 5);
  EXPECT_EQ(good->entry.log_index, 6);
  EXPECT_EQ(good->entry.log_id, "\xab\xcd");
  EXPECT_EQ(good->set_signature, std::string(3, '\0'));

  EXPECT_EQ(check_hashedrekord_body(R"({"apiVersion":"0.0.1","kind":"intoto","spec":{}})", "s", "", "").error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(check_hashedrekord_body("not json", "s", "", "").error().code, ErrorCode::invalid_argument);
  TestKey k = TestKey::ec();
  json body = {{"apiVersion", "0.0.1"},
               {"kind", "hashedrekord"},
               {"spec",
                {{"data", {{"hash", {{"algorithm", "sha256"}, {"value", sha256_hex("artifact")}}}}},
                 {"signature", {{"content", base64_encode("sig")}, {"publicKey", {{"content", base64_encode(k.public_pem())}}}}}}}};
  EXPECT_TRUE(check_hashedrekord_body(body.dump(), "sig", k.public_pem(), sha256("artifact")).ok());
  EXPECT_EQ(check_hashedrekord_body(body.dump(), "sig", k.public_pem(), sha256("other")).error().code,
            ErrorCode::permission_denied);
  EXPECT_EQ(check_hashedrekord_body(body.dump(), "sig2", k.public_pem(), sha256("artifact")).error().code,
            ErrorCode::permission_denied);
  EXPECT_EQ(check_hashedrekord_body(body.dump(), "sig", TestKey::ec().public_pem(), sha256("artifact")).error().code,
            ErrorCode::permission_denied);
}

}  // namespace
}  // namespace imagegate::verifier

namespace imagegate::verifier {
namespace {

// The SETs of the sigstore-conformance bundles that use the public-good root, re-checked through the same
// verify_rekor_set cosign uses (protobuf JSON: int64 as strings, logId base64). The collector's list says
// which SETs do not verify; every other one must.
TEST(Rekor, ConformanceBundleSets) {
  const TrustedRoot root = public_good();
  const std::set<std::string> bad_set = {"set-invalid-signature_fail",         "incorrect-public-key_fail",
                                         "bundle-invalid-base64-signature_fail", "bundle-negative-log-index_fail",
                                         "bundle-unknown-version_fail",        "bundle-empty-certificate-chain_fail"};
  const std::string artifact_sha = sha256(read_file(conformance_dir() / "sigstore/conformance/bundle-verify/a.txt"));
  int verified = 0;
  int refused = 0;
  for (const auto& dir : std::filesystem::directory_iterator(conformance_dir() / "sigstore/conformance/bundle-verify")) {
    const auto bundle_path = dir.path() / "bundle.sigstore.json";
    if (!std::filesystem::exists(bundle_path) || std::filesystem::exists(dir.path() / "trusted_root.json")) continue;
    const std::string name = dir.path().filename().string();
    json bundle;
    try {
      bundle = json::parse(read_file(bundle_path));
    } catch (const json::exception&) {
      continue;  // bundle-malformed-json_fail
    }
    const auto& material = bundle["verificationMaterial"];
    if (!material.contains("tlogEntries") || material["tlogEntries"].empty()) continue;
    const auto& e = material["tlogEntries"][0];
    if (!e.contains("inclusionPromise") || e["kindVersion"]["kind"] != "hashedrekord") continue;
    SCOPED_TRACE(name);
    RekorEntry entry;
    entry.body = base64_decode(e["canonicalizedBody"].get<std::string>()).value();
    entry.integrated_time = std::stoll(e["integratedTime"].get<std::string>());
    entry.log_index = std::stoll(e["logIndex"].get<std::string>());
    entry.log_id = base64_decode(e["logId"]["keyId"].get<std::string>()).value();
    auto set = base64_decode(e["inclusionPromise"]["signedEntryTimestamp"].get<std::string>());
    const bool set_ok = set.ok() && verify_rekor_set(entry, *set, root).ok();
    if (name == "bundle-from-wrong-instance_fail") {
      EXPECT_EQ(verify_rekor_set(entry, *set, root).error().message.rfind("unknown Rekor log", 0), 0U);
    }
    const bool expect_ok = !bad_set.count(name) && name != "bundle-from-wrong-instance_fail";
    EXPECT_EQ(set_ok, expect_ok);
    (set_ok ? verified : refused)++;
    // The body names this bundle's signature, certificate and artifact in the happy paths.
    const bool happy = name.rfind("happy-path-v0.", 0) == 0;
    if (happy || name.rfind("wrong-hashedrekord-", 0) == 0) {
      const std::string cert_b64 = material.contains("certificate")
                                       ? material["certificate"]["rawBytes"].get<std::string>()
                                       : material["x509CertificateChain"]["certificates"][0]["rawBytes"].get<std::string>();
      const std::string pem = Certificate::from_der(base64_decode(cert_b64).value()).value().pem();
      const std::string sig = base64_decode(bundle["messageSignature"]["signature"].get<std::string>()).value();
      auto body = check_hashedrekord_body(entry.body, sig, pem, artifact_sha);
      EXPECT_EQ(body.ok(), happy) << (body.ok() ? std::string("accepted") : body.error().message);
      EXPECT_FALSE(check_hashedrekord_body(entry.body, sig, pem, sha256("another artifact")).ok());
    }
  }
  EXPECT_GE(verified, 15);
  EXPECT_EQ(refused, 7);
}

}  // namespace
}  // namespace imagegate::verifier
