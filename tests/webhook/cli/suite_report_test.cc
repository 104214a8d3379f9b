// Tests for webhook/cli/suite_report.cc: the suite results as a kyverno-shaped table, JSON, JUnit XML
// (escaped) and GitHub workflow commands, including a suite that could not run.
#include "webhook/cli/suite_report.h"

#include <string>

#include <gtest/gtest.h>

namespace imagegate::webhook {
namespace {

std::vector<SuiteRun> sample_runs() {
  SuiteRun ok;
  ok.file = "suites/a.yaml";
  ok.suite.name = "a & b";
  ok.suite.policy = "p.yaml";
  ok.policy_name = "example";
  CaseResult pass;
  pass.test = SuiteCase{6, "", "Deployment/dev/web", "app", "", policy::Action::deny, std::nullopt, ""};
  pass.passed = true;
  pass.rule = "local";
  pass.actual = pass.reason = "deny (rule local: tag)";
  CaseResult fail;
  fail.test = SuiteCase{7, "needs <quotes>", "Deployment/dev/web", "", "data", policy::Action::allow, std::nullopt, ""};
  fail.rule = "local";
  fail.actual = "deny (rule local: x)";
  fail.reason = "expected allow, got deny (rule local: tag \"latest\" & <more>)\x01";
  ok.results = {pass, fail};
  SuiteRun broken;
  broken.file = "suites/b.yaml";
  broken.diagnostics.push_back({"suites/b.yaml", {3, 1}, "polcy", "unknown key \"polcy\" (did you mean \"policy\"?)"});
  return {ok, broken};
}

TEST(SuiteReport, Table) {
  const std::string table = render_suite_table(sample_runs());
  EXPECT_EQ(table.rfind("ID  FILE             POLICY   RULE   RESOURCE", 0), 0u) << table;
  EXPECT_NE(table.find("1   suites/a.yaml:6  example  local  Deployment/dev/web app"), std::string::npos) << table;
  EXPECT_NE(table.find("Deployment/dev/web volume data [needs <quotes>]  fail    expected allow"), std::string::npos)
      << table;
  EXPECT_NE(table.find("a & b: 1 passed, 1 failed\n"), std::string::npos) << table;
  EXPECT_NE(table.find("suites/b.yaml: not run (1 error, above)\n"), std::string::npos) << table;
  EXPECT_NE(table.find("total: 1 passed, 1 failed, 1 suite not run\n"), std::string::npos) << table;
}

TEST(SuiteReport, Json) {
  const nlohmann::json j = suites_to_json(sample_runs());
  EXPECT_EQ(j["summary"], (nlohmann::json{{"suites", 2}, {"cases", 2}, {"passed", 1}, {"failed", 1}, {"errors", 1}}));
  const nlohmann::json& r = j["suites"][0]["results"][1];
  EXPECT_EQ(r["id"], 2);
  EXPECT_EQ(r["line"], 7);
  EXPECT_EQ(r["policy"], "example");
  EXPECT_EQ(r["rule"], "local");
  EXPECT_EQ(r["resource"], "Deployment/dev/web volume data [needs <quotes>]");
  EXPECT_EQ(r["result"], "fail");
  EXPECT_EQ(r["expected"]["decision"], "allow");
  EXPECT_TRUE(r["expected"]["rule"].is_null());
  EXPECT_EQ(j["suites"][1]["errors"][0]["path"], "polcy");
  EXPECT_EQ(j["suites"][1]["errors"][0]["line"], 3);
}

TEST(SuiteReport, JUnit) {
  const std::string xml = render_junit(sample_runs());
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"imagegate\" tests=\"3\" "
                      "failures=\"1\" errors=\"1\">\n",
                      0),
            0u)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"a &amp; b\" file=\"suites/a.yaml\" tests=\"2\" failures=\"1\" errors=\"0\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase name=\"Deployment/dev/web app\" classname=\"imagegate.a &amp; b\" "
                     "file=\"suites/a.yaml\" line=\"6\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"expected allow, got deny (rule local: tag &quot;latest&quot; &amp; "
                     "&lt;more&gt;)\xEF\xBF\xBD\" type=\"mismatch\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<error message=\"suites/b.yaml:3:1: polcy: unknown key &quot;polcy&quot;"), std::string::npos)
      << xml;
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml_escape("a\tb\nc'"), "a&#9;b&#10;c&apos;");
}

TEST(SuiteReport, Github) {
  const std::string out = render_suite_github(sample_runs());
  EXPECT_NE(out.find("::error file=suites/a.yaml,line=7,title=imagegate%3A Deployment/dev/web volume data [needs "
                     "<quotes>]::expected allow, got deny"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("::error file=suites/b.yaml,line=3,col=1,title=imagegate%3A suites/b.yaml not run::polcy: "
                     "unknown key"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("line=6"), std::string::npos) << out;  // passing cases are silent
  EXPECT_NE(out.find("::notice title=imagegate::1 passed, 1 failed, 1 suite not run\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace imagegate::webhook
