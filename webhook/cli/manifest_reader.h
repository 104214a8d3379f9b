// Reading Kubernetes manifests for the offline CLI (`imagegate test`): files, directories and stdin
// holding multi-document YAML, JSON, `kind: List` objects and AdmissionReview bodies (full reviews, or
// bare AdmissionRequest objects as kwctl reads them). Each object comes back as the typed review model
// (policy::Workload) with where it was found, decoded through the server's one path: a plain object by
// webhook/admission/workload_decoder.h, an AdmissionReview by the server's own codec (admission_review.h,
// which calls the same decoder), so the CLI and the server decide byte for byte the same.
//
// YAML is converted to JSON by one bounded converter (yaml_json.h). Input must be UTF-8 and at most
// kMaxManifestBytes per file. Errors are invalid_argument / resource_exhausted with a message naming the
// source, the document and the line.
//
// Plain functions, no shared state: safe from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_bounded.h"
#include "common/result.h"
#include "policy/workload.h"
#include "webhook/cli/yaml_json.h"

namespace imagegate::webhook {

inline constexpr std::size_t kMaxManifestBytes = 16 * 1024 * 1024;
// A JSON file: the same nodes, as JSON values (common/json_bounded.h): `kubectl get pods -A -o json` of
// ~4,000 Pods. A local file of the CLI's user, so the bound is generous: 200 B * 2,000,000 + 2 * 16 MiB.
inline constexpr JsonLimits kManifestFileJsonLimits{kMaxManifestBytes, kMaxManifestDepth, kMaxManifestNodes};
inline constexpr std::size_t kMaxListItems = 10'000;         // items of one `kind: List`

// One Kubernetes object found in the input.
struct ManifestObject {
  std::string source;            // "deploy.yaml#2" (1-based document), "deploy.yaml#1.items[3]", "-#1"
  int line = 0;                  // 1-based line where the document starts; 0 when unknown
  // Where each `image:` (and image volume `reference:`) key of the object is written, by its path in the
  // object as the workload decoder names it ("spec.template.spec.containers[0].image"). YAML only: a JSON
  // input has none, and its images are reported at `line`.
  std::map<std::string, TextPosition, std::less<>> image_positions;
  // The object's workload (for a review: request.object's), or why its images cannot be read (reported
  // by evaluate_offline, naming the source, after every input was read).
  Result<policy::Workload> workload = policy::Workload{};
  std::string request_kind;      // review: request.kind.kind; typed List: the item kind. Used when the
                                 // object has no kind
  std::string request_namespace; // review: request.namespace
  std::string operation;         // review: CREATE, UPDATE, ...; "" for plain manifests
};

// Parses a YAML stream (or JSON, which it detects by a leading `{` or `[`) into documents. Empty
// documents (a lone `---`, comments only) are dropped. `source` names the input in error messages;
// `positions` says which positions of a YAML input to record.
Result<std::vector<Document>> parse_documents(std::string_view text, std::string_view source,
                                              const PositionOptions& positions = {});

// parse_documents, then flattens `kind: List` items and unwraps AdmissionReview bodies (a bare request
// is wrapped first), and decodes each object's Workload. A review without an object (DELETE, broken
// request) is an error: it has nothing to evaluate and saying "allowed" would hide that.
Result<std::vector<ManifestObject>> read_manifests(std::string_view text, std::string_view source);

// Reads a file (bounded by kMaxManifestBytes), a directory (every .yaml/.yml/.json in it, sorted by
// name; with `recursive` in its subdirectories too, as kubectl's -R) or "-" (stdin), then read_manifests.
Result<std::vector<ManifestObject>> read_manifest_path(const std::string& path, bool recursive = false);

// The regular files under `dir` whose names end in one of `extensions` (".yaml"), sorted by path; with
// `recursive` the whole tree (symbolic links to directories are not followed), else one level.
// not_found when the directory cannot be listed.
Result<std::vector<std::string>> list_files(const std::string& dir, bool recursive,
                                            const std::vector<std::string_view>& extensions);

// Whether a file's text declares `kind: KIND` at its top level (a line `kind: KIND` at column 0, the value
// optionally quoted): how `test --suite DIR` and `policy lint DIR` pick their files, so that one with a
// syntax error is still found and reported.
bool declares_kind(std::string_view text, std::string_view kind);

// The position of the first byte that is not valid UTF-8 (or a NUL), or npos when the text is valid.
std::size_t find_invalid_utf8(std::string_view text) noexcept;

}  // namespace imagegate::webhook
