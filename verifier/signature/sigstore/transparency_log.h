// Transparency-log evidence that does not depend on who runs the log: RFC 6962 / RFC 9162 Merkle inclusion
// proofs, and checkpoints (signed tree heads in the C2SP signed-note format) as Rekor v1 and v2 write them.
//
// A Sigstore bundle's tlog entry carries an inclusion proof (leaf index, tree size, root hash, the audit
// path) and a checkpoint that commits to that tree size and root hash under the log's key. Verifying both
// offline proves the entry is in the log without asking the log.
//
// Parsing is bounded (kMaxProofHashes, kMaxCheckpointBytes). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "verifier/signature/sigstore/trusted_root.h"

namespace imagegate::verifier {

inline constexpr std::size_t kMaxProofHashes = 64;  // a tree of 2^64 leaves has at most 64 levels
inline constexpr std::size_t kMaxCheckpointBytes = 16 * 1024;
inline constexpr std::size_t kMaxNoteSignatures = 32;

// RFC 6962 §2.1 hashes: leaf = SHA-256(0x00 || data), interior node = SHA-256(0x01 || left || right).
std::string rfc6962_leaf_hash(std::string_view leaf_data);
std::string rfc6962_node_hash(std::string_view left, std::string_view right);

struct InclusionProof {
  std::uint64_t log_index = 0;  // the leaf's index in the tree the proof is for (a Rekor shard's own index)
  std::uint64_t tree_size = 0;
  std::string root_hash;             // raw 32 bytes
  std::vector<std::string> hashes;   // raw 32 bytes each, from the leaf up
};

// The root hash the audit path leads to from `leaf_hash` (RFC 9162 §2.1.3.2). invalid_argument when the
// proof is malformed (index outside the tree, wrong number of hashes, hashes not 32 bytes).
Result<std::string> root_from_inclusion_proof(const InclusionProof& proof, std::string_view leaf_hash);
// ok when the audit path leads to proof.root_hash; permission_denied "inclusion proof does not verify".
Status verify_inclusion_proof(const InclusionProof& proof, std::string_view leaf_hash);

// A signed note (https://github.com/C2SP/C2SP/blob/main/signed-note.md): text, a blank line, then lines
// "— NAME BASE64(key hint || signature)".
struct NoteSignature {
  std::string name;
  std::string key_hint;   // first 4 bytes of the decoded value
  std::string signature;  // the rest
};
struct SignedNote {
  std::string text;  // everything the signatures cover: the text up to and including its final newline
  std::vector<NoteSignature> signatures;
};
// invalid_argument for a note that does not follow the format; resource_exhausted over the bounds.
Result<SignedNote> parse_signed_note(std::string_view envelope);

// A checkpoint (https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md): origin, tree size, root hash,
// then optional extension lines (Rekor v1 writes "Timestamp: N").
struct Checkpoint {
  std::string origin;
  std::uint64_t tree_size = 0;
  std::string root_hash;  // raw bytes
  std::vector<std::string> extensions;
};
Result<Checkpoint> parse_checkpoint(std::string_view note_text);

// ok when at least one signature line is from `log`: its name is the checkpoint's log name (the origin, or
// the origin's part before " - " for Rekor v1's "rekor.sigstore.dev - <tree id>"), its key hint is the first
// 4 bytes of the log id, and it verifies over the note text with the log key. Other lines (witness
// cosignatures, keys we do not know) are ignored. permission_denied otherwise.
Status verify_checkpoint_signature(const SignedNote& note, const Checkpoint& checkpoint, const LogKey& log);

// Everything together: parses the checkpoint envelope, checks its signature by `log`, that it commits to
// the proof's tree size and root hash, and that the proof leads from `leaf_hash` to that root.
Status verify_inclusion_with_checkpoint(const InclusionProof& proof, std::string_view leaf_hash,
                                        std::string_view checkpoint_envelope, const LogKey& log);

}  // namespace imagegate::verifier
