// Tests that docs/policy.schema.json and the loader describe the same format. Not a JSON Schema
// validator: a structural walk that follows `properties`, `items` and `$ref`, and checks that every key
// of a policy is one the schema knows (every object in the schema has additionalProperties: false). The
// reverse holds too: every schema property appears in the valid fixtures, which the loader accepts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "policy/policy.h"
#include "tests/test_support.h"

namespace imagegate::policy {
namespace {

namespace fs = std::filesystem;

fs::path project_dir() { return imagegate::testing::source_dir(); }
fs::path policies_dir() { return project_dir() / "tests" / "testdata" / "policies"; }

class SchemaWalker {
 public:
  explicit SchemaWalker(nlohmann::json schema) : schema_(std::move(schema)) {}

  // Returns the unknown keys' paths; records the schema properties visited.
  std::vector<std::string> walk(const YAML::Node& node) {
    std::vector<std::string> unknown;
    walk(node, schema_, "", "#", unknown);
    return unknown;
  }

  // Every "<schema pointer>/properties/<key>" the schema defines.
  std::set<std::string> all_properties() const {
    std::set<std::string> out;
    collect(schema_, "#", out);
    return out;
  }
  const std::set<std::string>& visited() const { return visited_; }

 private:
  const nlohmann::json& resolve(const nlohmann::json& s, std::string& pointer) const {
    if (s.contains("$ref")) {
      const std::string ref = s["$ref"].get<std::string>();
      EXPECT_EQ(ref.rfind("#/$defs/", 0), 0u) << ref;
      pointer = ref;
      return schema_["$defs"].at(ref.substr(8));
    }
    return s;
  }

  void walk(const YAML::Node& node, const nlohmann::json& s_in, const std::string& path, std::string pointer,
            std::vector<std::string>& unknown) {
    const nlohmann::json& s = resolve(s_in, pointer);
    if (node.IsMap()) {
      if (!s.contains("properties")) {
        unknown.push_back(path + " (schema has no object here)");
        return;
      }
      EXPECT_EQ(s.value("additionalProperties", true), false) << pointer;
      for (const auto& kv : node) {
        const std::string key = kv.first.as<std::string>();
        const std::string key_path = path.empty() ? key : path + "." + key;
        if (!s["properties"].contains(key)) {
          unknown.push_back(key_path);
          continue;
        }
        visited_.insert(pointer + "/properties/" + key);
        walk(kv.second, s["properties"][key], key_path, pointer + "/properties/" + key, unknown);
      }
    } else if (node.IsSequence()) {
      if (!s.contains("items")) {
        unknown.push_back(path + " (schema has no list here)");
        return;
      }
      std::size_t i = 0;
      for (const YAML::Node& element : node) {
        walk(element, s["items"], path + "[" + std::to_string(i++) + "]", pointer + "/items", unknown);
      }
    }
  }

  void collect(const nlohmann::json& s, const std::string& pointer, std::set<std::string>& out) const {
    if (!s.is_object()) return;
    if (s.contains("properties")) {
      for (const auto& [key, sub] : s["properties"].items()) {
        out.insert(pointer + "/properties/" + key);
        collect(sub, pointer + "/properties/" + key, out);
      }
    }
    if (s.contains("items")) collect(s["items"], pointer + "/items", out);
    if (pointer == "#" && s.contains("$defs")) {
      for (const auto& [key, sub] : s["$defs"].items()) collect(sub, "#/$defs/" + key, out);
    }
  }

  nlohmann::json schema_;
  std::set<std::string> visited_;
};

nlohmann::json load_schema() {
  return nlohmann::json::parse(imagegate::testing::read_file(project_dir() / "docs" / "policy.schema.json"));
}

std::vector<fs::path> valid_policies() {
  std::vector<fs::path> out = {project_dir() / "manifests" / "examples" / "policy.yaml"};
  for (const auto& entry : fs::directory_iterator(policies_dir() / "valid")) out.push_back(entry.path());
  return out;
}

TEST(Schema, IsDraft2020With_AdditionalPropertiesFalseEverywhere) {
  const nlohmann::json schema = load_schema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  // Every object schema closes its keys.
  std::function<void(const nlohmann::json&, const std::string&)> check = [&](const nlohmann::json& s,
                                                                             const std::string& where) {
    if (!s.is_object()) return;
    if (s.contains("properties")) {
      EXPECT_EQ(s.value("additionalProperties", true), false) << where;
    }
    for (const auto& [key, sub] : s.items()) {
      if (sub.is_object()) check(sub, where + "/" + key);
      if (sub.is_array()) {
        for (const auto& element : sub) check(element, where + "/" + key);
      }
    }
  };
  check(schema, "#");
}

TEST(Schema, KnowsEveryKeyOfTheValidPoliciesAndTheExample) {
  SchemaWalker walker(load_schema());
  for (const fs::path& path : valid_policies()) {
    const std::string text = imagegate::testing::read_file(path);
    ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const CompiledPolicy>>(load_policy(text, path.string())))
        << path;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      FAIL() << path << ": " << e.what();
    }
    EXPECT_THAT(walker.walk(root), ::testing::IsEmpty()) << path;
  }
  // And every key the schema defines is used by a valid fixture, so the schema has no key the loader
  // would reject.
  std::vector<std::string> unused;
  for (const std::string& property : walker.all_properties()) {
    if (!walker.visited().contains(property)) {
      unused.push_back(property);
    }
  }
  EXPECT_THAT(unused, ::testing::IsEmpty());
}

TEST(Schema, TheWalkFindsUnknownKeys) {
  SchemaWalker walker(load_schema());
  const YAML::Node root = YAML::Load(
      "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: x, labels: {}}\n"
      "spec:\n  rules:\n    - name: r\n      match: {images: [a]}\n      requireDigests: true\n");
  EXPECT_THAT(walker.walk(root), ::testing::ElementsAre("metadata.labels", "spec.rules[0].requireDigests"));
}

}  // namespace
}  // namespace imagegate::policy
