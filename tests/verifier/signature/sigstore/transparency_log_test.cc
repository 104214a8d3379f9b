// Tests for verifier/signature/sigstore/transparency_log.cc: inclusion proofs against an independent RFC 6962 tree (the
// recursive MTH/PATH definitions of §2.1, not the iterative verifier), and checkpoints signed at test time
// with fresh Ed25519 and ECDSA keys (OpenSSL), including witness cosignatures that must be ignored.
#include "verifier/signature/sigstore/transparency_log.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "verifier/crypto/crypto.h"

namespace imagegate::verifier {
namespace {

// RFC 6962 §2.1 Merkle Tree Hash and audit PATH, recursively.
std::string mth(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
  const std::size_t n = end - begin;
  if (n == 0) return sha256("");
  if (n == 1) return rfc6962_leaf_hash(leaves[begin]);
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return rfc6962_node_hash(mth(leaves, begin, begin + k), mth(leaves, begin + k, end));
}

void audit_path(const std::vector<std::string>& leaves, std::size_t m, std::size_t begin, std::size_t end,
                std::vector<std::string>& out) {
  const std::size_t n = end - begin;
  if (n <= 1) return;
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  if (m < k) {
    audit_path(leaves, m, begin, begin + k, out);
    out.push_back(mth(leaves, begin + k, end));
  } else {
    audit_path(leaves, m - k, begin + k, end, out);
    out.push_back(mth(leaves, begin, begin + k));
  }
}

std::vector<std::string> make_leaves(std::size_t n) {
  std::vector<std::string> leaves;
  for (std::size_t i = 0; i < n; ++i) leaves.push_back("entry-" + std::to_string(i));
  return leaves;
}

InclusionProof proof_for(const std::vector<std::string>& leaves, std::size_t index) {
  InclusionProof p;
  p.log_index = index;
  p.tree_size = leaves.size();
  p.root_hash = mth(leaves, 0, leaves.size());
  audit_path(leaves, index, 0, leaves.size(), p.hashes);
  return p;
}

TEST(InclusionProof, EveryLeafOfTreesUpTo40Verifies) {
  for (std::size_t n = 1; n <= 40; ++n) {
    const auto leaves = make_leaves(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto p = proof_for(leaves, i);
      EXPECT_TRUE(verify_inclusion_proof(p, rfc6962_leaf_hash(leaves[i])).ok()) << "n=" << n << " i=" << i;
    }
  }
}

TEST(InclusionProof, WrongLeafIndexHashOrSizeFails) {
  const auto leaves = make_leaves(13);
  const auto good = proof_for(leaves, 6);
  const std::string leaf = rfc6962_leaf_hash(leaves[6]);
  ASSERT_TRUE(verify_inclusion_proof(good, leaf).ok());

  EXPECT_EQ(verify_inclusion_proof(good, rfc6962_leaf_hash(leaves[5])).error().code, ErrorCode::permission_denied);
  auto p = good;
  p.log_index = 7;
  EXPECT_FALSE(verify_inclusion_proof(p, leaf).ok());
  p = good;
  p.hashes[1][0] ^= 1;  // a bit flip in the path
  EXPECT_FALSE(verify_inclusion_proof(p, leaf).ok());
  p = good;
  p.tree_size = 7;  // leaf 6 is the last of 7: the path would bind differently
  EXPECT_FALSE(verify_inclusion_proof(p, leaf).ok());
  p = good;
  p.hashes.pop_back();
  EXPECT_FALSE(verify_inclusion_proof(p, leaf).ok());
  p = good;
  p.hashes.push_back(std::string(32, 'x'));
  EXPECT_FALSE(verify_inclusion_proof(p, leaf).ok());
  p = good;
  p.log_index = 13;  // outside the tree
  EXPECT_EQ(root_from_inclusion_proof(p, leaf).error().code, ErrorCode::invalid_argument);
  p = good;
  p.hashes[0] = "short";
  EXPECT_FALSE(verify_inclusion_proof(p, leaf).ok());
  // A leaf hash is not a leaf: the 0x00/0x01 prefixes keep an interior node from passing as a leaf.
  EXPECT_NE(rfc6962_leaf_hash("ab"), rfc6962_node_hash("a", "b"));
}

TEST(InclusionProof, SingleLeafTreeHasAnEmptyPath) {
  const auto leaves = make_leaves(1);
  const auto p = proof_for(leaves, 0);
  EXPECT_TRUE(p.hashes.empty());
  EXPECT_TRUE(verify_inclusion_proof(p, rfc6962_leaf_hash(leaves[0])).ok());
  InclusionProof empty;
  EXPECT_FALSE(verify_inclusion_proof(empty, rfc6962_leaf_hash(leaves[0])).ok());
}

// ---- Checkpoints signed at test time ----

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey generate(bool ed25519) {
  EVP_PKEY* key = ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519") : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  return Pkey(key);
}

std::string spki(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string sign(EVP_PKEY* key, const std::string& message, bool ed25519) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, ed25519 ? nullptr : EVP_sha256(), nullptr, key);
  std::size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(message.data()), message.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

struct TestLog {
  bool ed25519;
  Pkey key;
  LogKey log_key;

  explicit TestLog(bool use_ed25519) : ed25519(use_ed25519), key(generate(use_ed25519)) {
    auto pub = PublicKey::from_der(spki(key.get()));
    EXPECT_TRUE(pub.ok());
    log_key = LogKey{"https://log.example", sha256(spki(key.get())), *pub, {}};
  }
  std::string signature_line(const std::string& name, const std::string& text, std::string hint = {}) const {
    if (hint.empty()) hint = log_key.log_id.substr(0, 4);
    return "\xE2\x80\x94 " + name + " " + base64_encode(hint + sign(key.get(), text, ed25519)) + "\n";
  }
};

std::string checkpoint_text(const std::string& origin, const InclusionProof& p) {
  return origin + "\n" + std::to_string(p.tree_size) + "\n" + base64_encode(p.root_hash) + "\n";
}

class CheckpointTest : public ::testing::TestWithParam<bool> {};

TEST_P(CheckpointTest, SignedByTheLogVerifiesWithTheProof) {
  const TestLog log(GetParam());
  const auto leaves = make_leaves(21);
  const auto p = proof_for(leaves, 17);
  const std::string leaf = rfc6962_leaf_hash(leaves[17]);
  const std::string text = checkpoint_text("log.example", p);
  const std::string envelope = text + "\n" + log.signature_line("log.example", text);
  EXPECT_TRUE(verify_inclusion_with_checkpoint(p, leaf, envelope, log.log_key).ok());

  // Rekor v1 style: origin "<name> - <tree id>", signed as "<name>", with a Timestamp extension line.
  const std::string v1_text = "log.example - 123456\n" + std::to_string(p.tree_size) + "\n" + base64_encode(p.root_hash) +
                              "\nTimestamp: 1689177396617352539\n";
  EXPECT_TRUE(verify_inclusion_with_checkpoint(p, leaf, v1_text + "\n" + log.signature_line("log.example", v1_text),
                                               log.log_key).ok());

  // Witness cosignatures before and after the log's line are ignored.
  const TestLog witness(true);
  const std::string cosigned = text + "\n" + witness.signature_line("witness.example", text) +
                               log.signature_line("log.example", text) + witness.signature_line("other.example", text);
  EXPECT_TRUE(verify_inclusion_with_checkpoint(p, leaf, cosigned, log.log_key).ok());
}

TEST_P(CheckpointTest, RejectsWhatTheLogDidNotSign) {
  const TestLog log(GetParam());
  const TestLog other(GetParam());
  const auto leaves = make_leaves(9);
  const auto p = proof_for(leaves, 3);
  const std::string leaf = rfc6962_leaf_hash(leaves[3]);
  const std::string text = checkpoint_text("log.example", p);

  // Another key, even under the log's name and key hint.
  EXPECT_FALSE(verify_inclusion_with_checkpoint(
                   p, leaf, text + "\n" + other.signature_line("log.example", text, log.log_key.log_id.substr(0, 4)),
                   log.log_key).ok());
  // The log's signature under a wrong key hint, or another name.
  EXPECT_FALSE(verify_inclusion_with_checkpoint(p, leaf, text + "\n" + log.signature_line("log.example", text, "abcd"),
                                                log.log_key).ok());
  EXPECT_FALSE(verify_inclusion_with_checkpoint(p, leaf, text + "\n" + log.signature_line("evil.example", text),
                                                log.log_key).ok());
  // A signed checkpoint for another root hash or size.
  auto q = p;
  q.root_hash = mth(make_leaves(8), 0, 8);
  const std::string wrong_root = checkpoint_text("log.example", q);
  EXPECT_FALSE(verify_inclusion_with_checkpoint(p, leaf, wrong_root + "\n" + log.signature_line("log.example", wrong_root),
                                                log.log_key).ok());
  q = p;
  q.tree_size = 10;
  const std::string wrong_size = checkpoint_text("log.example", q);
  EXPECT_FALSE(verify_inclusion_with_checkpoint(p, leaf, wrong_size + "\n" + log.signature_line("log.example", wrong_size),
                                                log.log_key).ok());
  // Text altered after signing.
  std::string tampered = text + "\n" + log.signature_line("log.example", text);
  tampered.replace(tampered.find("log.example"), 11, "log.exbmple");
  EXPECT_FALSE(verify_inclusion_with_checkpoint(p, leaf, tampered, log.log_key).ok());
  // Only a witness signed.
  EXPECT_FALSE(verify_inclusion_with_checkpoint(p, leaf, text + "\n" + other.signature_line("witness", text),
                                                log.log_key).ok());
}

INSTANTIATE_TEST_SUITE_P(Keys, CheckpointTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param_info) { return param_info.param ? "Ed25519" : "EcdsaP256"; });

TEST(SignedNote, ParsesAndRejectsMalformedNotes) {
  const std::string sig = "\xE2\x80\x94 name " + base64_encode("hint-and-signature") + "\n";
  auto note = parse_signed_note("origin\n5\n" + base64_encode(std::string(32, 'r')) + "\n\n" + sig);
  ASSERT_TRUE(note.ok()) << note.error().message;
  ASSERT_EQ(note->signatures.size(), 1U);
  EXPECT_EQ(note->signatures[0].name, "name");
  EXPECT_EQ(note->signatures[0].key_hint, "hint");
  auto cp = parse_checkpoint(note->text);
  ASSERT_TRUE(cp.ok()) << cp.error().message;
  EXPECT_EQ(cp->origin, "origin");
  EXPECT_EQ(cp->tree_size, 5U);

  EXPECT_FALSE(parse_signed_note("origin\n5\nroot\n").ok());                      // no signature block
  EXPECT_FALSE(parse_signed_note("origin\n5\nroot\n\n").ok());                    // no signatures
  EXPECT_FALSE(parse_signed_note("origin\n5\nroot\n\n- name AAAAAAAA\n").ok());    // ASCII dash
  EXPECT_FALSE(parse_signed_note("origin\n5\nroot\n\n\xE2\x80\x94 name !!!\n").ok());  // not base64
  EXPECT_FALSE(parse_signed_note("origin\n\n" + sig.substr(0, sig.size() - 1)).ok());  // no final newline
  EXPECT_EQ(parse_signed_note(std::string(kMaxCheckpointBytes + 1, 'a')).error().code, ErrorCode::resource_exhausted);

  const std::string root = base64_encode(std::string(32, 'r'));
  EXPECT_FALSE(parse_checkpoint("5\n" + root + "\n").ok());             // origin missing
  EXPECT_FALSE(parse_checkpoint("origin\n" + root + "\n").ok());        // size missing
  EXPECT_FALSE(parse_checkpoint("origin\n5\n").ok());                   // root missing
  EXPECT_FALSE(parse_checkpoint("origin\n-5\n" + root + "\n").ok());
  EXPECT_FALSE(parse_checkpoint("origin\n05\n" + root + "\n").ok());
  EXPECT_FALSE(parse_checkpoint("origin\n5\n" + base64_encode("short") + "\n").ok());
  EXPECT_FALSE(parse_checkpoint("origin\n99999999999999999999999\n" + root + "\n").ok());
}

}  // namespace
}  // namespace imagegate::verifier
