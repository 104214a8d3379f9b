// Tests for webhook/cli/policy_file.cc: `policy lint`'s trust material check (inline keys always, the files
// a policy names with --check-files), through the verifier's real loaders, and the suggestion of a
// diagnostic.
#include "webhook/cli/policy_file.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

namespace imagegate::webhook {
namespace {

constexpr std::string_view kGoodKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgvT6cG5GLb0zuvJvLtO+L/gR9aNW\n"
    "kDjExebL+OO56XLoBMZstpuQd7MBf4AFOwty20KjURSi1dGF+is6SW+iMA==\n"
    "-----END PUBLIC KEY-----\n";
// The header and footer the loader checks, around base64 that is no key.
constexpr std::string_view kGarbageKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "bm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0\n"
    "-----END PUBLIC KEY-----\n";

std::string indent(std::string_view pem) {
  std::string out;
  std::size_t start = 0;
  while (start < pem.size()) {
    const std::size_t end = pem.find('\n', start);
    out += "          " + std::string(pem.substr(start, end - start)) + "\n";
    start = end + 1;
  }
  return out;
}

std::string policy_with(const std::string& anchors) {
  return "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata:\n  name: t\nspec:\n  trustAnchors:\n" +
         anchors;
}

std::string inline_anchor(const std::string& name, std::string_view pem) {
  return "    - name: " + name + "\n      cosign:\n        key: |\n" + indent(pem);
}

class PolicyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("imagegate-policy-file-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, std::string_view text) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(PolicyFileTest, GarbageInlineKeyFailsWithItsPath) {
  const std::string file =
      write("p.yaml", policy_with(inline_anchor("good", kGoodKey) + inline_anchor("bad", kGarbageKey)));
  PolicyFile loaded = read_policy(file);
  ASSERT_NE(loaded.policy, nullptr) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].to_string());
  const auto diagnostics = check_trust_material(*loaded.policy, file, false);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].path, "spec.trustAnchors[1].cosign.key");
  EXPECT_EQ(diagnostics[0].location.line, 14);
  EXPECT_NE(diagnostics[0].message.find("trust anchor \"bad\" cannot be used"), std::string::npos)
      << diagnostics[0].message;
}

TEST_F(PolicyFileTest, ControlValidInlineKeyPasses) {
  const std::string file = write("p.yaml", policy_with(inline_anchor("good", kGoodKey)));
  PolicyFile loaded = read_policy(file);
  ASSERT_NE(loaded.policy, nullptr);
  EXPECT_TRUE(check_trust_material(*loaded.policy, file, false).empty());
  EXPECT_TRUE(check_trust_material(*loaded.policy, file, true).empty());
}

TEST_F(PolicyFileTest, KeyFilesOnlyWithCheckFiles) {
  const std::string good = write("good.pub", kGoodKey);
  const std::string bad = write("bad.pub", kGarbageKey);
  const std::string file = write(
      "p.yaml", policy_with("    - name: a\n      cosign: {keyFile: " + good + "}\n    - name: b\n      cosign: {keyFile: " +
                            bad + "}\n    - name: c\n      cosign: {keyFile: " + (dir_ / "missing.pub").string() + "}\n"));
  PolicyFile loaded = read_policy(file);
  ASSERT_NE(loaded.policy, nullptr);
  // Without --check-files the files are not read (they may live only where the server runs).
  EXPECT_TRUE(check_trust_material(*loaded.policy, file, false).empty());
  const auto diagnostics = check_trust_material(*loaded.policy, file, true);
  ASSERT_EQ(diagnostics.size(), 2u);
  EXPECT_EQ(diagnostics[0].path, "spec.trustAnchors[1].cosign");
  EXPECT_EQ(diagnostics[1].path, "spec.trustAnchors[2].cosign");
  EXPECT_NE(diagnostics[1].message.find("missing.pub"), std::string::npos) << diagnostics[1].message;
}

TEST_F(PolicyFileTest, UnreadableAndInvalid) {
  PolicyFile missing = read_policy((dir_ / "nope.yaml").string());
  EXPECT_TRUE(missing.unreadable);
  EXPECT_EQ(missing.policy, nullptr);
  ASSERT_EQ(missing.diagnostics.size(), 1u);
  PolicyFile invalid = read_policy(write("bad.yaml", "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\n"
                                                     "metadata: {name: t}\nspec:\n  rulez: []\n"));
  EXPECT_FALSE(invalid.unreadable);
  ASSERT_EQ(invalid.diagnostics.size(), 1u);
  EXPECT_EQ(suggestion_of(invalid.diagnostics[0]), "rules");
  EXPECT_EQ(invalid.diagnostics[0].location.line, 5);
  EXPECT_EQ(suggestion_of(policy::Diagnostic{"f", {}, "", "must be a string"}), "");
}

TEST_F(PolicyFileTest, TabHint) {
  PolicyFile tabbed = read_policy(write("tab.yaml", "apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\n"
                                                     "metadata:\n\tname: t\nspec: {}\n"));
  ASSERT_FALSE(tabbed.diagnostics.empty());
  EXPECT_NE(tabbed.diagnostics[0].message.find("tabs are not allowed for indentation (line 4"), std::string::npos)
      << tabbed.diagnostics[0].message;
}

}  // namespace
}  // namespace imagegate::webhook
