// PolicyWatcher (webhook/admission/policy_watcher.cc): reloads on a ConfigMap-style `..data` symlink swap, keeps the
// old policy when the new one is invalid, and reviews keep being answered throughout.
#include "common/asio_warnings.h"  // before any Asio header
#include "webhook/admission/policy_watcher.h"

#include <chrono>
#include <mutex>
#include <thread>
#include <set>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "tests/test_support.h"
#include "webhook/observe/decision_log.h"
#include "webhook/observe/logger.h"
#include "webhook/observe/metrics.h"
#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using imagegate::testing::read_file;
using imagegate::testing::source_dir;
using namespace std::chrono_literals;

// The last log line containing `word`, parsed (keys in the order written); null when there is none.
nlohmann::ordered_json last_line_with(const std::string& log, std::string_view word) {
  nlohmann::ordered_json found;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(word) != std::string::npos) found = nlohmann::ordered_json::parse(line);
  }
  return found;
}

std::string policy_text(const std::string& name) {
  return read_file(source_dir() / "tests" / "testdata" / "policies" / "admission" / name);
}

void write(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

// A directory laid out the way the kubelet mounts a ConfigMap:
//   policy.yaml -> ..data/policy.yaml, ..data -> ..<version>/, ..<version>/policy.yaml
// An update writes a new ..<version> directory and renames a new symlink over ..data (atomic).
class ConfigMapDir {
 public:
  ConfigMapDir() {
    root_ = fs::temp_directory_path() / ("imagegate-watcher-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(root_);
  }
  ~ConfigMapDir() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path file() const { return root_ / "policy.yaml"; }

  void publish(const std::string& text) {
    const std::string version = "..v" + std::to_string(++generation_);
    fs::create_directories(root_ / version);
    write(root_ / version / "policy.yaml", text);
    fs::create_symlink(version, root_ / "..data_tmp");
    fs::rename(root_ / "..data_tmp", root_ / "..data");  // rename(2): atomic replacement of the symlink
    if (!fs::is_symlink(file())) fs::create_symlink("..data/policy.yaml", file());
  }

 private:
  fs::path root_;
  int generation_ = 0;
};

std::string pod_review(const std::string& uid, const std::string& image) {
  return nlohmann::json{
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", uid},
        {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
        {"operation", "CREATE"},
        {"namespace", "default"},
        {"object",
         {{"apiVersion", "v1"}, {"kind", "Pod"}, {"spec", {{"containers", {{{"name", "c"}, {"image", image}}}}}}}}}}}
      .dump();
}

// Answers a review on `io` (which the watcher shares) and returns allowed.
bool allowed(asio::io_context& io, PolicyAdmissionService& service, const std::string& uid, const std::string& image) {
  auto future = asio::co_spawn(io, service.validate(pod_review(uid, image), "/validate?timeout=10s"), asio::use_future);
  while (future.wait_for(0s) != std::future_status::ready) io.run_one_for(1s);
  const HttpAnswer answer = future.get();
  EXPECT_EQ(answer.status, 200u) << answer.body;
  return nlohmann::json::parse(answer.body)["response"]["allowed"].get<bool>();
}

double sample(const Metrics& metrics, const std::string& series) {
  const std::string text = metrics.render();
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(PolicyWatcher, ReloadsOnSymlinkSwapAndKeepsTheOldPolicyWhenTheNewOneIsInvalid) {
  ConfigMapDir dir;
  // v1: modes.yaml, where busybox:latest is denied and alpine (no rule) allowed.
  dir.publish(policy_text("modes.yaml"));

  asio::io_context io;
  NoVerifierEvidenceSource evidence;
  Metrics metrics;
  std::ostringstream decisions;
  DecisionLog decision_log(decisions);
  PolicyAdmissionService service(AdmissionOptions{}, evidence, metrics, decision_log);
  std::ostringstream log;
  Logger logger(log);
  {
    PolicyWatcher watcher(io.get_executor(), dir.file(), service, metrics, logger, 20ms);
    ASSERT_TRUE(watcher.load_now()) << log.str();
    ASSERT_TRUE(service.ready());
    const auto v1 = service.policy();
    EXPECT_NE(log.str().find("admission-modes"), std::string::npos) << log.str();
    EXPECT_EQ(sample(metrics, "imagegate_policy_loaded"), 1);
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="success"})"), 1);
    watcher.start();

    EXPECT_FALSE(allowed(io, service, "r1", "busybox:latest"));
    EXPECT_TRUE(allowed(io, service, "r2", "alpine:3"));
    io.run_for(100ms);
    EXPECT_EQ(service.policy(), v1);  // nothing changed, nothing reloaded
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="success"})"), 1);

    // v2: invalid YAML policy (an unknown mode). Rejected, diagnostics logged, v1 stays in force.
    std::string bad = policy_text("modes.yaml");
    bad.replace(bad.find("mode: enforce"), 13, "mode: sometimes");
    dir.publish(bad);
    io.run_for(200ms);
    EXPECT_EQ(service.policy(), v1);
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="failure"})"), 1);
    EXPECT_EQ(sample(metrics, "imagegate_policy_loaded"), 1);
    EXPECT_NE(log.str().find("rejected"), std::string::npos) << log.str();
    EXPECT_NE(log.str().find("sometimes"), std::string::npos) << log.str();
    // One JSON line: time, level, msg first; the loader's errors as an array; the version kept.
    const nlohmann::ordered_json rejected = last_line_with(log.str(), "rejected");
    ASSERT_TRUE(rejected.is_object()) << log.str();
    EXPECT_EQ(rejected.begin().key(), "time");
    EXPECT_EQ(rejected["level"], "error");
    EXPECT_EQ(rejected["msg"], "policy file rejected; keeping the current policy");
    ASSERT_TRUE(rejected["errors"].is_array());
    EXPECT_NE(rejected["errors"][0].get<std::string>().find("sometimes"), std::string::npos);
    EXPECT_EQ(rejected["keptVersion"], policy::version_of(*v1));
    EXPECT_FALSE(allowed(io, service, "r3", "busybox:latest"));  // still answered by v1

    // v3: valid again, and different: busybox is now allowed (noMatch allow, rule dropped).
    std::string good = policy_text("modes.yaml");
    good.replace(good.find("images: [docker.io/library/busybox]"), 35, "images: [docker.io/library/ubuntu]");
    dir.publish(good);
    io.run_for(200ms);
    EXPECT_NE(service.policy(), v1);
    EXPECT_NE(policy::version_of(*service.policy()), policy::version_of(*v1));
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="success"})"), 2);
    EXPECT_TRUE(allowed(io, service, "r4", "busybox:latest"));
    EXPECT_FALSE(allowed(io, service, "r5", "ubuntu"));

    // The same content published again under a new directory is a new identity: reloaded, same version.
    const auto v3 = service.policy();
    dir.publish(good);
    io.run_for(200ms);
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="success"})"), 3);
    EXPECT_EQ(policy::version_of(*service.policy()), policy::version_of(*v3));

    watcher.stop();
    dir.publish(policy_text("modes.yaml"));
    io.run_for(200ms);
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="success"})"), 3);  // stopped: no reload
  }
  io.run_for(50ms);  // the cancelled wait completes after the watcher is gone
}

TEST(PolicyWatcher, InvalidOrMissingFileAtStartIsNotReady) {
  ConfigMapDir dir;
  NoVerifierEvidenceSource evidence;
  Metrics metrics;
  std::ostringstream decisions;
  DecisionLog decision_log(decisions);
  PolicyAdmissionService service(AdmissionOptions{}, evidence, metrics, decision_log);
  asio::io_context io;
  std::ostringstream log;
  Logger logger(log);
  {
    PolicyWatcher missing(io.get_executor(), dir.file(), service, metrics, logger, 20ms);
    EXPECT_FALSE(missing.load_now());
    EXPECT_NE(log.str().find("missing"), std::string::npos) << log.str();
  }
  dir.publish("apiVersion: imagegate.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: x}\nspec: {rules: 3}\n");
  {
    PolicyWatcher invalid(io.get_executor(), dir.file(), service, metrics, logger, 20ms);
    EXPECT_FALSE(invalid.load_now());
    EXPECT_FALSE(service.ready());
    // At start-up there is no policy to keep: the line says so, and never "keeping the current policy".
    EXPECT_EQ(log.str().find("keeping"), std::string::npos) << log.str();
    const nlohmann::ordered_json rejected = last_line_with(log.str(), "rejected");
    EXPECT_EQ(rejected["msg"], "policy file rejected; no policy in force") << log.str();
    EXPECT_FALSE(rejected.contains("keptVersion"));
    EXPECT_EQ(sample(metrics, "imagegate_policy_loaded"), 0);
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="failure"})"), 2);
    // Polling picks up a fixed file.
    invalid.start();
    dir.publish(policy_text("modes.yaml"));
    io.run_for(200ms);
    EXPECT_TRUE(service.ready());
    EXPECT_EQ(sample(metrics, "imagegate_policy_loaded"), 1);
  }
  io.run_for(50ms);
}

// A stream buffer that remembers which threads wrote to it: the watcher's log lines are written where the
// file is read and compiled.
class ThreadRecordingBuf : public std::stringbuf {
 public:
  std::set<std::thread::id> writers() {
    std::lock_guard lock(mutex_);
    return writers_;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    record();
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    record();
    return std::stringbuf::overflow(c);
  }

 private:
  void record() {
    std::lock_guard lock(mutex_);
    writers_.insert(std::this_thread::get_id());
  }
  std::mutex mutex_;
  std::set<std::thread::id> writers_;
};

// Reloads read and compile off the io threads (issue 14): the io_context here runs on this test's thread
// only, and every line the watcher writes about a reload comes from another thread. Before, the poll
// read and compiled on a strand of the io executor, so this thread wrote them.
TEST(PolicyWatcher, ReloadsReadAndCompileOffTheIoThreads) {
  ConfigMapDir dir;
  dir.publish(policy_text("modes.yaml"));
  NoVerifierEvidenceSource evidence;
  Metrics metrics;
  std::ostringstream decisions;
  DecisionLog decision_log(decisions);
  PolicyAdmissionService service(AdmissionOptions{}, evidence, metrics, decision_log);
  asio::io_context io;
  ThreadRecordingBuf buffer;
  std::ostream log(&buffer);
  Logger logger(log);
  {
    PolicyWatcher watcher(io.get_executor(), dir.file(), service, metrics, logger, 20ms);
    ASSERT_TRUE(watcher.load_now());
    const auto v1 = service.policy();
    watcher.start();
    ThreadRecordingBuf* recorded = &buffer;
    std::string changed = policy_text("modes.yaml");
    changed += "# a comment makes it a new version\n";
    dir.publish(changed);
    for (int i = 0; i < 50 && service.policy() == v1; ++i) io.run_for(20ms);
    ASSERT_NE(service.policy(), v1) << "the new policy was never loaded";
    EXPECT_EQ(sample(metrics, R"(imagegate_policy_reloads_total{result="success"})"), 2);
    // load_now() wrote from this thread (start-up); the reload from another.
    const auto writers = recorded->writers();
    EXPECT_EQ(writers.size(), 2u);
    EXPECT_TRUE(writers.count(std::this_thread::get_id()));
  }
  io.run_for(50ms);
}

TEST(PolicyWatcher, PlainFileRewriteIsNoticed) {
  const fs::path file = fs::temp_directory_path() / ("imagegate-plain-" + std::to_string(::getpid()) + ".yaml");
  write(file, policy_text("modes.yaml"));
  NoVerifierEvidenceSource evidence;
  Metrics metrics;
  std::ostringstream decisions;
  DecisionLog decision_log(decisions);
  PolicyAdmissionService service(AdmissionOptions{}, evidence, metrics, decision_log);
  asio::io_context io;
  std::ostringstream log;
  Logger logger(log);
  {
    PolicyWatcher watcher(io.get_executor(), file, service, metrics, logger, 20ms);
    ASSERT_TRUE(watcher.load_now());
    const auto v1 = service.policy();
    watcher.start();
    io.run_for(60ms);
    std::string changed = policy_text("modes.yaml");
    changed += "# a comment makes it longer\n";
    write(file, changed);
    io.run_for(200ms);
    EXPECT_NE(service.policy(), v1);
  }
  io.run_for(50ms);
  fs::remove(file);
}

}  // namespace
}  // namespace imagegate::webhook
