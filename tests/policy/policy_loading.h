// Loading a policy in a policy test: the compiled policy, or a test failure listing the loader's
// diagnostics (and nullptr, which the test then ASSERTs on).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/compiled_policy.h"
#include "policy/policy.h"

namespace imagegate::testing {

inline std::shared_ptr<const policy::CompiledPolicy> load_or_fail(const std::string& text) {
  policy::PolicyResult result = policy::load_policy(text, "test.yaml");
  if (auto* errors = std::get_if<std::vector<policy::Diagnostic>>(&result)) {
    std::string all;
    for (const policy::Diagnostic& d : *errors) all += d.to_string() + "\n";
    ADD_FAILURE() << "policy does not load:\n" << all << text;
    return nullptr;
  }
  return std::get<std::shared_ptr<const policy::CompiledPolicy>>(result);
}

// An ImagePolicy named "test" whose spec is `spec_yaml` (indented by two spaces).
inline std::shared_ptr<const policy::CompiledPolicy> load_spec(const std::string& spec_yaml) {
  return load_or_fail("apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: test}\nspec:\n" +
                      spec_yaml);
}

}  // namespace imagegate::testing
