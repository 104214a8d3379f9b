// Policy files for the CLI (`imagegate test`, `test --suite`, `policy lint`): reading and compiling one
// with every diagnostic kept, and lint's trust material check: the inline keys of a policy's trust anchors
// parsed (a garbage base64 key fails lint, not admission), and with `check_files` the key, certificate,
// trusted-root and Notation files it names loaded, each by the verifier's own loaders
// (verifier/signature/anchor_material.h). Blocking file reads; no network.
//
// Plain functions; thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace imagegate::webhook {

struct PolicyFile {
  std::shared_ptr<const policy::CompiledPolicy> policy;  // null when the file does not load
  std::vector<policy::Diagnostic> diagnostics;           // why not (sorted by position)
  bool unreadable = false;                               // the file could not be read at all
};

PolicyFile read_policy(const std::string& path);

// The trust anchors of `compiled` (loaded from `file`) that cannot be used: inline keys always, the files
// they name with `check_files`. Each diagnostic is at the anchor, with its key path
// (`spec.trustAnchors[0].cosign.key`) and the loader's error.
std::vector<policy::Diagnostic> check_trust_material(const policy::CompiledPolicy& compiled, const std::string& file,
                                                     bool check_files);

// The key a diagnostic suggests (`unknown key "colour" (did you mean "color"?)` -> "color"), or "".
std::string suggestion_of(const policy::Diagnostic& diagnostic);

}  // namespace imagegate::webhook
