#include "verifier/signature/sigstore/transparency_log.h"

#include <charconv>
#include <utility>

#include "verifier/crypto/crypto.h"

namespace imagegate::verifier {
namespace {

Error denied(std::string message) { return {ErrorCode::permission_denied, std::move(message)}; }

constexpr std::size_t kHashBytes = 32;
// The em dash that starts a signature line, in UTF-8.
constexpr std::string_view kSignatureLinePrefix = "\xE2\x80\x94 ";

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  // Decimal digits only: from_chars would also accept nothing else, but say so for readers.
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  if (text.size() > 1 && text[0] == '0') return false;  // no leading zeros: one spelling per size
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string rfc6962_leaf_hash(std::string_view leaf_data) {
  std::string buf;
  buf.reserve(leaf_data.size() + 1);
  buf.push_back('\x00');
  buf.append(leaf_data);
  return sha256(buf);
}

std::string rfc6962_node_hash(std::string_view left, std::string_view right) {
  std::string buf;
  buf.reserve(left.size() + right.size() + 1);
  buf.push_back('\x01');
  buf.append(left);
  buf.append(right);
  return sha256(buf);
}

// RFC 9162 §2.1.3.2, step by step: fn walks the leaf's index up the tree, sn the last index; a proof hash
// is a left sibling when fn is odd or fn is the last node of its level (then levels where fn is a left child
// without a right sibling are skipped), else a right sibling. The proof is complete when sn reaches 0.
Result<std::string> root_from_inclusion_proof(const InclusionProof& proof, std::string_view leaf_hash) {
  if (proof.tree_size == 0 || proof.log_index >= proof.tree_size) {
    return invalid_argument("inclusion proof: leaf index " + std::to_string(proof.log_index) +
                            " is outside a tree of size " + std::to_string(proof.tree_size));
  }
  if (proof.hashes.size() > kMaxProofHashes) return invalid_argument("inclusion proof: too many hashes");
  if (leaf_hash.size() != kHashBytes) return invalid_argument("inclusion proof: leaf hash is not 32 bytes");
  std::uint64_t fn = proof.log_index;
  std::uint64_t sn = proof.tree_size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof.hashes) {
    if (p.size() != kHashBytes) return invalid_argument("inclusion proof: a hash is not 32 bytes");
    if (sn == 0) return invalid_argument("inclusion proof: more hashes than the tree has levels");
    if ((fn & 1U) == 1U || fn == sn) {
      r = rfc6962_node_hash(p, r);
      while ((fn & 1U) == 0U && fn != 0) {
        fn >>= 1U;
        sn >>= 1U;
      }
    } else {
      r = rfc6962_node_hash(r, p);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  if (sn != 0) return invalid_argument("inclusion proof: fewer hashes than the tree has levels");
  return r;
}

Status verify_inclusion_proof(const InclusionProof& proof, std::string_view leaf_hash) {
  auto root = root_from_inclusion_proof(proof, leaf_hash);
  if (!root) return denied("inclusion proof does not verify: " + root.error().message);
  if (*root != proof.root_hash) return denied("inclusion proof does not verify: it leads to another root hash");
  return Ok{};
}

Result<SignedNote> parse_signed_note(std::string_view envelope) {
  if (envelope.size() > kMaxCheckpointBytes) return resource_exhausted("signed note larger than 16 KiB");
  // The text ends at the first blank line; the signature block follows it and ends with a newline.
  const std::size_t blank = envelope.find("\n\n");
  if (blank == std::string_view::npos) return invalid_argument("signed note has no signature block");
  SignedNote note;
  note.text = std::string(envelope.substr(0, blank + 1));
  std::string_view sigs = envelope.substr(blank + 2);
  if (sigs.empty() || sigs.back() != '\n') return invalid_argument("signed note does not end with a newline");
  sigs.remove_suffix(1);
  for (std::string_view line : split_lines(sigs)) {
    if (line.substr(0, kSignatureLinePrefix.size()) != kSignatureLinePrefix) {
      return invalid_argument("signed note: a signature line does not start with an em dash");
    }
    line.remove_prefix(kSignatureLinePrefix.size());
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0) return invalid_argument("signed note: malformed signature line");
    if (note.signatures.size() == kMaxNoteSignatures) return resource_exhausted("signed note: too many signatures");
    auto raw = base64_decode(line.substr(space + 1));
    if (!raw) return invalid_argument("signed note: signature is not base64");
    if (raw->size() < 5) return invalid_argument("signed note: signature too short");
    NoteSignature sig;
    sig.name = std::string(line.substr(0, space));
    sig.key_hint = raw->substr(0, 4);
    sig.signature = raw->substr(4);
    note.signatures.push_back(std::move(sig));
  }
  if (note.signatures.empty()) return invalid_argument("signed note has no signatures");
  return note;
}

Result<Checkpoint> parse_checkpoint(std::string_view note_text) {
  if (note_text.empty() || note_text.back() != '\n') return invalid_argument("checkpoint text does not end with a newline");
  note_text.remove_suffix(1);
  const auto lines = split_lines(note_text);
  if (lines.size() < 3) return invalid_argument("checkpoint needs an origin, a tree size and a root hash");
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (cp.origin.empty()) return invalid_argument("checkpoint origin is empty");
  if (!parse_u64(lines[1], cp.tree_size)) return invalid_argument("checkpoint tree size is not a decimal number");
  auto root = base64_decode(lines[2]);
  if (!root || root->size() != kHashBytes) return invalid_argument("checkpoint root hash is not 32 bytes of base64");
  cp.root_hash = std::move(*root);
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return invalid_argument("checkpoint has an empty extension line");
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

Status verify_checkpoint_signature(const SignedNote& note, const Checkpoint& checkpoint, const LogKey& log) {
  // Rekor v1 names its checkpoints "<host> - <tree id>" but signs as "<host>"; Rekor v2 uses one name.
  std::string_view log_name = checkpoint.origin;
  if (const std::size_t dash = log_name.find(" - "); dash != std::string_view::npos) log_name = log_name.substr(0, dash);
  if (log.log_id.size() < 4) return denied("checkpoint: the log id is too short for a key hint");
  const std::string_view hint = std::string_view(log.log_id).substr(0, 4);
  bool any_from_log = false;
  for (const NoteSignature& sig : note.signatures) {
    if (sig.name != log_name || sig.key_hint != hint) continue;  // a witness, or a key we do not know
    any_from_log = true;
    if (log.key.verify(note.text, sig.signature)) return Ok{};
  }
  return denied(any_from_log ? "checkpoint signature does not verify with the log key"
                             : "checkpoint carries no signature from the log (name or key hint differ)");
}

Status verify_inclusion_with_checkpoint(const InclusionProof& proof, std::string_view leaf_hash,
                                        std::string_view checkpoint_envelope, const LogKey& log) {
  auto note = parse_signed_note(checkpoint_envelope);
  if (!note) return denied("checkpoint does not parse: " + note.error().message);
  auto cp = parse_checkpoint(note->text);
  if (!cp) return denied("checkpoint does not parse: " + cp.error().message);
  if (auto s = verify_checkpoint_signature(*note, *cp, log); !s) return s;
  if (cp->tree_size != proof.tree_size) return denied("checkpoint tree size differs from the inclusion proof's");
  if (cp->root_hash != proof.root_hash) return denied("checkpoint root hash differs from the inclusion proof's");
  return verify_inclusion_proof(proof, leaf_hash);
}

}  // namespace imagegate::verifier
