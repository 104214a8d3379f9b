#include "verifier/signature/anchor/anchor.h"

#include <re2/re2.h>

namespace imagegate::verifier {
namespace {

Result<std::shared_ptr<const re2::RE2>> compile_regexp(const std::string& pattern) {
  if (pattern.empty()) return std::shared_ptr<const re2::RE2>();
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(pattern, options);
  if (!re->ok()) return invalid_argument("invalid regular expression: " + re->error());
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

}  // namespace

Status compile_identity(KeylessAnchor& anchor) {
  auto issuer = compile_regexp(anchor.issuer_regexp);
  if (!issuer.ok()) return issuer.error();
  auto subject = compile_regexp(anchor.subject_regexp);
  if (!subject.ok()) return subject.error();
  anchor.compiled_issuer_regexp = std::move(issuer).value();
  anchor.compiled_subject_regexp = std::move(subject).value();
  return Ok{};
}

}  // namespace imagegate::verifier
