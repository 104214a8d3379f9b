// The inventory in the server: what PolicyAdmissionService reports to its AdmissionObserver (admitted,
// non-dry-run, digest known, allowed or warned containers only), the InventoryRecorder writing it to a real
// SQLite store off the caller's thread, and the verdict API's inventory routes (list, rescan, violations)
// over a real SQLite store, plus reevaluate(). Fakes only for faults a real store cannot be made to produce
// on demand: a store whose writes fail, and one that blocks until released (a full queue).
#include "common/asio_warnings.h"  // before any Asio header
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/rfc3339.h"
#include "policy/policy.h"
#include "tests/run_awaitable.h"
#include "webhook/observe/decision_log.h"
#include "webhook/api/inventory_recorder.h"
#include "webhook/observe/metrics.h"
#include "webhook/admission/policy_admission_service.h"
#include "webhook/api/verdict_api.h"
#include "webhook/evidence/verdict_lookup.h"

namespace imagegate::webhook {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::system_clock;

constexpr const char* kPolicy = R"(apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: inventory}
spec:
  noMatch: allow
  failurePolicy: closed
  rules:
    - name: scanned
      match: {images: ["registry.example.com/**"]}
      vulnerabilities: {maxSeverity: HIGH, onMissing: deny}
    - name: warned
      match: {images: ["warn.example.com/**"]}
      mode: warn
      vulnerabilities: {maxSeverity: HIGH, onMissing: deny}
)";

std::string digest(char c) { return "sha256:" + std::string(64, c); }

std::shared_ptr<const policy::CompiledPolicy> compile(const std::string& yaml) {
  auto loaded = policy::load_policy(yaml, "policy.yaml");
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    ADD_FAILURE() << (*diagnostics)[0].to_string();
    return nullptr;
  }
  return std::get<std::shared_ptr<const policy::CompiledPolicy>>(std::move(loaded));
}

verifier::ScanVerdict verdict(char c, verifier::Severity worst, system_clock::time_point scanned_at) {
  verifier::ScanVerdict v;
  v.digest = digest(c);
  v.image = "registry.example.com/app:1";
  v.scanner = "trivy";
  v.scanned_at = std::chrono::floor<std::chrono::seconds>(scanned_at);
  v.vulnerabilities.push_back({"CVE-2024-0001", worst, std::nullopt, "openssl", "1.0", "1.1"});
  return v;
}

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("imagegate-inv-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::shared_ptr<verifier::VerdictStore> sqlite_store(const TempDir& dir) {
  auto store = verifier::open_verdict_store("sqlite:" + (dir.path / "verdicts.db").string());
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return nullptr;
  }
  return std::shared_ptr<verifier::VerdictStore>(std::move(store).value());
}

using testing::run_awaitable;

// ---- reevaluate ---------------------------------------------------------------------------------------

TEST(Reevaluate, VerdictGatesWithTheStoredVerdict) {
  auto policy = compile(kPolicy);
  ASSERT_TRUE(policy);
  const auto now = system_clock::now();
  const verifier::InventoryEntry e{"prod", "Deployment", "web", "registry.example.com/app:1", digest('a'), now, now};
  struct Case {
    const char* name;
    std::optional<verifier::ScanVerdict> verdict;
    policy::Action expected;
    const char* reason;
  };
  const Case cases[] = {
      {"clean", verdict('a', verifier::Severity::medium, now), policy::Action::allow, ""},
      {"critical", verdict('a', verifier::Severity::critical, now), policy::Action::deny, "CVE-2024-0001"},
      {"missing", std::nullopt, policy::Action::deny, "no scan verdict"},
  };
  for (const Case& c : cases) {
    const policy::Decision d = reevaluate(*policy, e, c.verdict, now);
    EXPECT_EQ(d.action, c.expected) << c.name;
    std::string reasons;
    for (const auto& r : d.reasons) reasons += r + "; ";
    EXPECT_NE(reasons.find(c.reason), std::string::npos) << c.name << ": " << reasons;
  }
  // An image no rule checks is allowed by noMatch whatever its verdict.
  const verifier::InventoryEntry other{"prod", "Pod", "p", "docker.io/library/nginx:1", digest('b'), now, now};
  EXPECT_EQ(reevaluate(*policy, other, std::nullopt, now).action, policy::Action::allow);
}

// ---- the observer -------------------------------------------------------------------------------------

struct RecordingObserver final : AdmissionObserver {
  std::vector<Admission> seen;
  std::vector<Deletion> deleted;
  void admitted(Admission a) noexcept override { seen.push_back(std::move(a)); }
  void forgotten(Deletion d) noexcept override { deleted.push_back(std::move(d)); }
};

// A Deployment "web" in prod running `images`, with `volume_images` as image volumes v0, v1, ...
std::string review(const nlohmann::json& images, bool dry_run, const std::string& operation = "CREATE",
                   const nlohmann::json& volume_images = nlohmann::json::array()) {
  nlohmann::json containers = nlohmann::json::array();
  for (std::size_t i = 0; i < images.size(); ++i) containers.push_back({{"name", "c" + std::to_string(i)}, {"image", images[i]}});
  nlohmann::json object = {{"apiVersion", "apps/v1"},
                           {"kind", "Deployment"},
                           {"metadata", {{"name", "web"}}},
                           {"spec", {{"template", {{"spec", {{"containers", containers}}}}}}}};
  for (std::size_t i = 0; i < volume_images.size(); ++i) {
    object["spec"]["template"]["spec"]["volumes"].push_back(
        {{"name", "v" + std::to_string(i)}, {"image", {{"reference", volume_images[i]}}}});
  }
  return nlohmann::json{{"apiVersion", "admission.k8s.io/v1"},
                        {"kind", "AdmissionReview"},
                        {"request",
                         {{"uid", "u1"},
                          {"kind", {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}}},
                          {"resource", {{"group", "apps"}, {"version", "v1"}, {"resource", "deployments"}}},
                          {"operation", operation},
                          {"namespace", "prod"},
                          {"dryRun", dry_run},
                          {"object", object}}}}
      .dump();
}

// A DELETE review as the API server sends it: request.name set, object null, oldObject the object.
std::string delete_review(const std::string& kind, const std::string& name, bool dry_run,
                          const std::string& namespace_name = "prod") {
  return nlohmann::json{{"apiVersion", "admission.k8s.io/v1"},
                        {"kind", "AdmissionReview"},
                        {"request",
                         {{"uid", "u2"},
                          {"kind", {{"group", "apps"}, {"version", "v1"}, {"kind", kind}}},
                          {"resource", {{"group", "apps"}, {"version", "v1"}, {"resource", "deployments"}}},
                          {"operation", "DELETE"},
                          {"name", name},
                          {"namespace", namespace_name},
                          {"dryRun", dry_run},
                          {"object", nullptr},
                          {"oldObject", {{"apiVersion", "apps/v1"}, {"kind", kind}, {"metadata", {{"name", name}}}}}}}}
      .dump();
}

struct AdmissionFixture {
  TempDir dir;
  std::shared_ptr<verifier::VerdictStore> store = sqlite_store(dir);
  VerdictLookup lookup{store, std::chrono::milliseconds(0)};
  NoVerifierEvidenceSource inner;
  VerdictEvidenceSource evidence{inner, lookup};
  Metrics metrics;
  std::ostringstream log_text;
  DecisionLog log{log_text};
  PolicyAdmissionService service{AdmissionOptions{}, evidence, metrics, log};
  RecordingObserver observer;
  AdmissionFixture() {
    service.set_policy(compile(kPolicy));
    service.set_observer(&observer);
  }
  bool allowed(const std::string& body) {
    const HttpAnswer answer = run_awaitable(service.validate(body, "/validate?timeout=10s"));
    const auto response = nlohmann::json::parse(answer.body)["response"];
    if (!response["allowed"].get<bool>()) std::cerr << "(denied) " << response.dump() << "\n";
    return response["allowed"].get<bool>();
  }
};

TEST(AdmissionObserver, ReportsAdmittedContainersWithKnownDigests) {
  AdmissionFixture f;
  ASSERT_TRUE(f.store->put(verdict('a', verifier::Severity::medium, system_clock::now())).ok());
  const std::string clean = "registry.example.com/app@" + digest('a');
  // Allowed: a clean verdict; a warned image (no verdict, mode warn); an image without a digest (not recorded).
  ASSERT_TRUE(f.allowed(review({clean, "warn.example.com/tool@" + digest('e'), "docker.io/library/busybox:1"}, false)));
  ASSERT_EQ(f.observer.seen.size(), 1U);
  const Admission& a = f.observer.seen[0];
  EXPECT_EQ(a.namespace_name, "prod");
  EXPECT_EQ(a.kind, "Deployment");
  EXPECT_EQ(a.name, "web");
  ASSERT_EQ(a.images.size(), 2U);
  EXPECT_EQ(a.images[0].image, clean);
  EXPECT_EQ(a.images[0].digest, digest('a'));
  EXPECT_EQ(a.images[1].digest, digest('e'));

  // A dry run changes nothing.
  ASSERT_TRUE(f.allowed(review({clean}, true)));
  EXPECT_EQ(f.observer.seen.size(), 1U);
  // A denied workload (no verdict for digest b) runs nothing: not reported, not even its allowed container.
  ASSERT_FALSE(f.allowed(review({clean, "registry.example.com/app@" + digest('b')}, false)));
  EXPECT_EQ(f.observer.seen.size(), 1U);
  // DELETE is allowed unlooked and reports no admission, but a deletion (not for a dry run).
  EXPECT_TRUE(f.observer.seen[0].replaces == false);  // a CREATE adds
  ASSERT_TRUE(f.allowed(delete_review("Deployment", "web", true)));
  EXPECT_TRUE(f.observer.deleted.empty());
  ASSERT_TRUE(f.allowed(delete_review("Deployment", "web", false)));
  EXPECT_EQ(f.observer.seen.size(), 1U);
  ASSERT_EQ(f.observer.deleted.size(), 1U);
  EXPECT_EQ(f.observer.deleted[0].namespace_name, "prod");
  EXPECT_EQ(f.observer.deleted[0].kind, "Deployment");
  EXPECT_EQ(f.observer.deleted[0].name, "web");
  // Allowed even with no policy loaded; a cluster-scoped or unnamed object is not reported.
  f.service.set_policy(nullptr);
  ASSERT_TRUE(f.allowed(delete_review("Deployment", "api", false)));
  ASSERT_TRUE(f.allowed(delete_review("Deployment", "", false)));
  ASSERT_TRUE(f.allowed(delete_review("Namespace", "prod", false, "")));
  ASSERT_EQ(f.observer.deleted.size(), 2U);
  EXPECT_EQ(f.observer.deleted[1].name, "api");
}

TEST(AdmissionObserver, AnUpdateReplacesOnlyWhenEveryDigestIsKnown) {
  AdmissionFixture f;
  ASSERT_TRUE(f.store->put(verdict('a', verifier::Severity::medium, system_clock::now())).ok());
  const std::string clean = "registry.example.com/app@" + digest('a');
  ASSERT_TRUE(f.allowed(review({clean, "warn.example.com/tool@" + digest('e')}, false, "UPDATE")));
  ASSERT_EQ(f.observer.seen.size(), 1U);
  EXPECT_TRUE(f.observer.seen[0].replaces);
  EXPECT_EQ(f.observer.seen[0].images.size(), 2U);
  // busybox:1 has no digest here (no registry): what the UPDATE replaced cannot be told, so it only adds.
  ASSERT_TRUE(f.allowed(review({clean, "docker.io/library/busybox:1"}, false, "UPDATE")));
  ASSERT_EQ(f.observer.seen.size(), 2U);
  EXPECT_FALSE(f.observer.seen[1].replaces);
  EXPECT_EQ(f.observer.seen[1].images.size(), 1U);
  // A dry-run UPDATE reports nothing.
  ASSERT_TRUE(f.allowed(review({clean}, true, "UPDATE")));
  EXPECT_EQ(f.observer.seen.size(), 2U);
}

// Image volumes run in the workload like its containers: their digests are recorded, a volume whose
// verdict is missing denies the workload, and one without a known digest keeps an UPDATE from replacing.
TEST(AdmissionObserver, ImageVolumesAreRecordedAndGated) {
  AdmissionFixture f;
  ASSERT_TRUE(f.store->put(verdict('a', verifier::Severity::medium, system_clock::now())).ok());
  ASSERT_TRUE(f.store->put(verdict('c', verifier::Severity::low, system_clock::now())).ok());
  const std::string clean = "registry.example.com/app@" + digest('a');
  const std::string data = "registry.example.com/data@" + digest('c');
  ASSERT_TRUE(f.allowed(review({clean}, false, "UPDATE", {data})));
  ASSERT_EQ(f.observer.seen.size(), 1U);
  EXPECT_TRUE(f.observer.seen[0].replaces);
  ASSERT_EQ(f.observer.seen[0].images.size(), 2U);
  EXPECT_EQ(f.observer.seen[0].images[1].image, data);
  EXPECT_EQ(f.observer.seen[0].images[1].digest, digest('c'));
  // No verdict for the volume's digest b: the workload is denied (onMissing: deny) and not recorded.
  ASSERT_FALSE(f.allowed(review({clean}, false, "CREATE", {"registry.example.com/data@" + digest('b')})));
  EXPECT_EQ(f.observer.seen.size(), 1U);
  // A volume whose digest is unknown: the UPDATE only adds.
  ASSERT_TRUE(f.allowed(review({clean}, false, "UPDATE", {"docker.io/library/busybox:1"})));
  ASSERT_EQ(f.observer.seen.size(), 2U);
  EXPECT_FALSE(f.observer.seen[1].replaces);
}

// ---- the recorder -------------------------------------------------------------------------------------

Admission admission(const std::string& name, char d, system_clock::time_point at) {
  return {"prod", "Deployment", name, {{"registry.example.com/app:1", digest(d)}}, at};
}

std::string metrics_line(const Metrics& m, const std::string& prefix) {
  std::istringstream in(m.render());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

TEST(InventoryRecorder, WritesToTheStoreAndCoalesces) {
  TempDir dir;
  auto store = sqlite_store(dir);
  Metrics metrics;
  InventoryRecorder recorder(store, &metrics);
  const auto t0 = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  recorder.admitted(admission("web", 'a', t0));
  recorder.admitted(admission("web", 'a', t0 + std::chrono::seconds(5)));
  recorder.admitted(admission("api", 'b', t0));
  recorder.flush();
  auto listed = store->list_inventory({});
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[0].name, "web");
  EXPECT_EQ((*listed)[0].first_seen, t0);
  EXPECT_EQ((*listed)[0].last_seen, t0 + std::chrono::seconds(5));
  EXPECT_NE(metrics_line(metrics, "imagegate_inventory_records_total{result=\"written\"}"), "");
  EXPECT_EQ(metrics_line(metrics, "imagegate_inventory_records_total{result=\"failed\"}"),
            "imagegate_inventory_records_total{result=\"failed\"} 0");
}

// A store whose inventory writes fail, or block until released.
class FaultyStore final : public verifier::VerdictStore {
 public:
  explicit FaultyStore(bool block) : block_(block) {}
  Status put(const verifier::ScanVerdict&) override { return Ok{}; }
  Result<std::optional<verifier::ScanVerdict>> get(const std::string&) override { return std::optional<verifier::ScanVerdict>(); }
  Result<std::vector<verifier::ScanVerdict>> find_by_image(const std::string&, std::size_t) override {
    return std::vector<verifier::ScanVerdict>();
  }
  Status update_inventory(const std::vector<verifier::InventoryUpdate>& updates) override {
    std::unique_lock lock(mutex_);
    ++calls_;
    entered_.notify_all();
    if (block_) released_.wait(lock, [this] { return released; });
    for (const auto& u : updates) written_ += u.entries.size();
    batches_.push_back(updates);
    if (!block_) return Error{ErrorCode::unavailable, "disk on fire"};
    return Ok{};
  }
  void wait_for_call() {
    std::unique_lock lock(mutex_);
    entered_.wait(lock, [this] { return calls_ > 0; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released = true;
    released_.notify_all();
  }
  std::size_t written() {
    std::lock_guard lock(mutex_);
    return written_;
  }
  std::vector<std::vector<verifier::InventoryUpdate>> batches() {
    std::lock_guard lock(mutex_);
    return batches_;
  }

 private:
  bool block_;
  bool released = false;
  int calls_ = 0;
  std::size_t written_ = 0;
  std::vector<std::vector<verifier::InventoryUpdate>> batches_;
  std::mutex mutex_;
  std::condition_variable entered_, released_;
};

TEST(InventoryRecorder, StoreFailuresAreCountedNotThrown) {
  auto store = std::make_shared<FaultyStore>(false);
  Metrics metrics;
  {
    InventoryRecorder recorder(store, &metrics);
    recorder.admitted(admission("web", 'a', system_clock::now()));
    recorder.flush();
  }
  EXPECT_EQ(metrics_line(metrics, "imagegate_inventory_records_total{result=\"failed\"}"),
            "imagegate_inventory_records_total{result=\"failed\"} 1");
}

TEST(InventoryRecorder, AFullQueueDropsWithoutBlockingTheCaller) {
  auto store = std::make_shared<FaultyStore>(true);
  Metrics metrics;
  {
    InventoryRecorder recorder(store, &metrics, {2, 10});
    recorder.admitted(admission("first", 'a', system_clock::now()));
    store->wait_for_call();  // the worker is stuck in the store with "first"
    const auto start = std::chrono::steady_clock::now();
    for (char d : {'b', 'c', 'd', 'e'}) recorder.admitted(admission("more", d, system_clock::now()));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
    store->release();
    recorder.flush();
  }
  EXPECT_EQ(store->written(), 3U);  // first, then two queued; two dropped
  EXPECT_EQ(metrics_line(metrics, "imagegate_inventory_records_total{result=\"dropped\"}"),
            "imagegate_inventory_records_total{result=\"dropped\"} 2");
}

// "Kind/name=digest-char" for every entry of the store, sorted.
std::string listing(verifier::VerdictStore& store) {
  auto all = store.list_inventory({});
  if (!all) return "error: " + all.error().message;
  std::vector<std::string> items;
  for (const auto& e : *all) items.push_back(e.kind + "/" + e.name + "=" + e.digest.substr(7, 1));
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : " ") + i;
  return out;
}

Admission of(const std::string& kind, const std::string& name, std::vector<char> digests, system_clock::time_point at,
             bool replaces = false) {
  Admission a{"prod", kind, name, {}, at, replaces};
  for (char d : digests) a.images.push_back({"registry.example.com/app:" + std::string(1, d), digest(d)});
  return a;
}

TEST(InventoryRecorder, FollowsUpdatesAndDeletions) {
  TempDir dir;
  auto store = sqlite_store(dir);
  Metrics metrics;
  InventoryRecorder recorder(store, &metrics);
  const auto t0 = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  const auto later = [t0](int s) { return t0 + std::chrono::seconds(s); };

  recorder.admitted(of("Deployment", "web", {'a', 'b'}, t0));
  recorder.admitted(of("Deployment", "api", {'c'}, t0));
  recorder.flush();
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=b");
  // An UPDATE naming every digest replaces: b is gone, a stays with its first_seen, d is new.
  recorder.admitted(of("Deployment", "web", {'a', 'd'}, later(10), true));
  recorder.flush();
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=d");
  auto a = store->list_inventory({"prod", "registry.example.com/app:a", "", 10, "", "", 0});
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 1U);
  EXPECT_EQ((*a)[0].first_seen, t0);
  EXPECT_EQ((*a)[0].last_seen, later(10));
  // An UPDATE that could not name every digest only adds.
  recorder.admitted(of("Deployment", "web", {'e'}, later(11), false));
  recorder.flush();
  EXPECT_EQ(listing(*store), "Deployment/api=c Deployment/web=a Deployment/web=d Deployment/web=e");
  // DELETE forgets the workload, only it.
  recorder.forgotten({"prod", "Deployment", "web", later(20)});
  recorder.flush();
  EXPECT_EQ(listing(*store), "Deployment/api=c");

  // Pods made by a controller are recorded under its generateName; deleting the controller forgets them.
  recorder.admitted(of("ReplicaSet", "api-7d9f8", {'c'}, later(30)));
  recorder.admitted(of("Pod", "api-7d9f8-", {'c'}, later(30)));
  recorder.admitted(of("Pod", "api-7d9f8x-", {'c'}, later(30)));  // another owner's pods: not a match
  recorder.admitted(of("Pod", "solo", {'f'}, later(30)));
  recorder.flush();
  recorder.forgotten({"prod", "Pod", "api-7d9f8-abcde", later(40)});  // one pod of several goes: entry stays
  recorder.flush();
  EXPECT_EQ(listing(*store),
            "Deployment/api=c Pod/api-7d9f8-=c Pod/api-7d9f8x-=c Pod/solo=f ReplicaSet/api-7d9f8=c");
  recorder.forgotten({"prod", "ReplicaSet", "api-7d9f8", later(41)});
  recorder.forgotten({"prod", "Pod", "solo", later(41)});
  recorder.forgotten({"staging", "Deployment", "api", later(41)});  // same name, other namespace
  recorder.flush();
  EXPECT_EQ(listing(*store), "Deployment/api=c Pod/api-7d9f8x-=c");
  EXPECT_EQ(metrics_line(metrics, "imagegate_inventory_records_total{result=\"failed\"}"),
            "imagegate_inventory_records_total{result=\"failed\"} 0");
}

TEST(InventoryRecorder, MergesQueuedChangesPerWorkloadInOrder) {
  auto store = std::make_shared<FaultyStore>(true);
  Metrics metrics;
  const auto t0 = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  const auto later = [t0](int s) { return t0 + std::chrono::seconds(s); };
  {
    InventoryRecorder recorder(store, &metrics);
    recorder.admitted(of("Deployment", "first", {'a'}, t0));
    store->wait_for_call();  // the worker is stuck in the store: what follows queues up
    recorder.admitted(of("Deployment", "web", {'a'}, later(1)));
    recorder.forgotten({"prod", "Deployment", "web", later(2)});
    recorder.admitted(of("Deployment", "web", {'b'}, later(3)));  // re-created under the same name
    recorder.admitted(of("Deployment", "api", {'c'}, later(1)));
    recorder.admitted(of("Deployment", "api", {'c'}, later(5)));
    recorder.forgotten({"prod", "Deployment", "gone", later(6)});
    recorder.admitted(of("Deployment", "gone", {'d'}, later(4)));  // re-created: still a replacement
    store->release();
    recorder.flush();
  }
  const auto batches = store->batches();
  ASSERT_EQ(batches.size(), 2U);
  ASSERT_EQ(batches[1].size(), 3U);  // web, api, gone: in the order first queued
  const auto& web = batches[1][0];
  EXPECT_EQ(web.name, "web");
  EXPECT_TRUE(web.replace);  // forget, then create: the workload runs exactly b
  EXPECT_EQ(web.at, later(2));
  ASSERT_EQ(web.entries.size(), 1U);
  EXPECT_EQ(web.entries[0].digest, digest('b'));
  const auto& api = batches[1][1];
  EXPECT_EQ(api.name, "api");
  EXPECT_FALSE(api.replace);
  ASSERT_EQ(api.entries.size(), 1U);
  EXPECT_EQ(api.entries[0].first_seen, later(1));
  EXPECT_EQ(api.entries[0].last_seen, later(5));
  const auto& gone = batches[1][2];
  EXPECT_EQ(gone.name, "gone");
  EXPECT_TRUE(gone.replace);
  EXPECT_EQ(gone.at, later(6));  // the latest of the two removals
  EXPECT_EQ(gone.entries.size(), 1U);
}

// ---- the API routes -----------------------------------------------------------------------------------

struct ApiFixture {
  TempDir dir;
  std::shared_ptr<verifier::VerdictStore> store = sqlite_store(dir);
  VerdictLookup lookup{store, std::chrono::milliseconds(0)};
  Metrics metrics;
  std::shared_ptr<const policy::CompiledPolicy> policy = compile(kPolicy);
  RequestHandler handler;
  ApiFixture() {
    const fs::path tokens = dir.path / "tokens";
    std::ofstream(tokens) << "ro:read-token-0123456789abcdef\nrw:write-token-0123456789abcdef\n";
    auto loaded = ApiTokens::load(tokens);
    EXPECT_TRUE(loaded.ok());
    VerdictApiOptions options;
    options.metrics = &metrics;
    options.policy = [this] { return policy; };
    handler = make_verdict_api(lookup, std::move(loaded).value(), std::move(options));
  }
  std::pair<unsigned, nlohmann::json> get(const std::string& target, const std::string& token = "read-token-0123456789abcdef") {
    HttpRequest r{"GET", target, "", token.empty() ? "" : "Bearer " + token, ""};
    const HttpAnswer answer = run_awaitable(handler(std::move(r)));
    return {answer.status, nlohmann::json::parse(answer.body, nullptr, false)};
  }
  std::pair<unsigned, nlohmann::json> del(const std::string& target, const std::string& token = "write-token-0123456789abcdef") {
    HttpRequest r{"DELETE", target, "", token.empty() ? "" : "Bearer " + token, ""};
    const HttpAnswer answer = run_awaitable(handler(std::move(r)));
    return {answer.status, nlohmann::json::parse(answer.body, nullptr, false)};
  }
};

TEST(InventoryApi, ListRescanAndViolations) {
  ApiFixture f;
  const auto now = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  ASSERT_TRUE(f.store
                  ->record_seen({{"prod", "Deployment", "web", "registry.example.com/app:1", digest('a'), now, now},
                                 {"prod", "Deployment", "api", "registry.example.com/api:2", digest('b'), now, now},
                                 {"dev", "Pod", "tool-", "registry.example.com/tool:3", digest('c'), now, now}})
                  .ok());
  ASSERT_TRUE(f.store->put(verdict('a', verifier::Severity::medium, now)).ok());                          // fresh
  ASSERT_TRUE(f.store->put(verdict('b', verifier::Severity::low, now - std::chrono::hours(48))).ok());   // stale

  auto [status, body] = f.get("/api/v1/inventory");
  ASSERT_EQ(status, 200U) << body.dump();
  EXPECT_EQ(body["items"].size(), 3U);
  EXPECT_FALSE(body["truncated"].get<bool>());
  std::tie(status, body) = f.get("/api/v1/inventory?namespace=prod&image=registry.example.com%2Fapp%3A1");
  ASSERT_EQ(status, 200U);
  ASSERT_EQ(body["items"].size(), 1U);
  EXPECT_EQ(body["items"][0]["name"], "web");
  std::tie(status, body) = f.get("/api/v1/inventory?limit=2");
  EXPECT_EQ(body["items"].size(), 2U);
  EXPECT_TRUE(body["truncated"].get<bool>());

  std::tie(status, body) = f.get("/api/v1/inventory/rescan?olderThan=24h");
  ASSERT_EQ(status, 200U) << body.dump();
  ASSERT_EQ(body["digests"].size(), 2U) << body.dump();
  EXPECT_EQ(body["digests"][0]["digest"], digest('b'));
  EXPECT_EQ(body["digests"][0]["reason"], "stale");
  EXPECT_EQ(body["digests"][1]["digest"], digest('c'));
  EXPECT_EQ(body["digests"][1]["reason"], "missing");
  std::tie(status, body) = f.get("/api/v1/inventory/rescan?olderThan=72h");
  EXPECT_EQ(body["digests"].size(), 1U);

  // Violations: c has no verdict (onMissing: deny); b and a are fine. Then a CRITICAL verdict for a.
  std::tie(status, body) = f.get("/api/v1/inventory/violations");
  ASSERT_EQ(status, 200U) << body.dump();
  ASSERT_EQ(body["violations"].size(), 1U) << body.dump();
  EXPECT_EQ(body["violations"][0]["name"], "tool-");
  ASSERT_TRUE(f.store->put(verdict('a', verifier::Severity::critical, now)).ok());
  std::tie(status, body) = f.get("/api/v1/inventory/violations?namespace=prod");
  ASSERT_EQ(body["violations"].size(), 1U) << body.dump();
  EXPECT_EQ(body["violations"][0]["name"], "web");
  EXPECT_EQ(body["violations"][0]["rule"], "scanned");
  EXPECT_NE(body["violations"][0]["reasons"].dump().find("CVE-2024-0001"), std::string::npos);

  struct Refusal {
    const char* target;
    const char* token;
    unsigned status;
  };
  const Refusal refusals[] = {
      {"/api/v1/inventory", "", 401},
      {"/api/v1/inventory", "wrong-token-0123456789abcdef", 401},
      {"/api/v1/inventory?limit=0", "read-token-0123456789abcdef", 400},
      {"/api/v1/inventory?limit=x", "read-token-0123456789abcdef", 400},
      {"/api/v1/inventory?digest=sha256:zz", "read-token-0123456789abcdef", 400},
      {"/api/v1/inventory/rescan?olderThan=soon", "read-token-0123456789abcdef", 400},
      {"/api/v1/inventory/other", "read-token-0123456789abcdef", 404},
  };
  for (const Refusal& r : refusals) EXPECT_EQ(f.get(r.target, r.token).first, r.status) << r.target;
  HttpRequest put{"PUT", "/api/v1/inventory", "", "Bearer read-token-0123456789abcdef", ""};
  EXPECT_EQ(run_awaitable(f.handler(std::move(put))).status, 405U);

  f.policy = nullptr;
  EXPECT_EQ(f.get("/api/v1/inventory/violations").first, 503U);

  const std::string rendered = f.metrics.render();
  EXPECT_NE(rendered.find("imagegate_verdict_api_requests_total{route=\"inventory\",code=\"200\"} 3"), std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("imagegate_verdict_api_requests_total{route=\"inventory_violations\",code=\"503\"} 1"),
            std::string::npos);
  EXPECT_NE(rendered.find("imagegate_verdict_api_requests_total{route=\"inventory\",code=\"401\"} 2"), std::string::npos);
}

TEST(InventoryApi, PruneNeedsAWriteTokenAndADuration) {
  ApiFixture f;
  const auto now = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  const auto old = now - std::chrono::hours(24 * 40);
  ASSERT_TRUE(f.store
                  ->record_seen({{"prod", "Deployment", "web", "registry.example.com/app:1", digest('a'), old, old},
                                 {"prod", "Deployment", "api", "registry.example.com/api:2", digest('b'), old, now}})
                  .ok());
  struct Refusal {
    const char* target;
    const char* token;
    unsigned status;
  };
  const Refusal refusals[] = {
      {"/api/v1/inventory?olderThan=30d", "", 401},
      {"/api/v1/inventory?olderThan=30d", "read-token-0123456789abcdef", 403},
      {"/api/v1/inventory", "write-token-0123456789abcdef", 400},
      {"/api/v1/inventory?olderThan=soon", "write-token-0123456789abcdef", 400},
      {"/api/v1/inventory?olderThan=0d", "write-token-0123456789abcdef", 400},
      {"/api/v1/inventory?olderThan=-5d", "write-token-0123456789abcdef", 400},
      {"/api/v1/inventory/rescan?olderThan=30d", "write-token-0123456789abcdef", 405},
      {"/api/v1/inventory/violations?olderThan=30d", "write-token-0123456789abcdef", 405},
  };
  for (const Refusal& r : refusals) EXPECT_EQ(f.del(r.target, r.token).first, r.status) << r.target << " " << r.token;
  // Nothing refused removed anything.
  EXPECT_EQ(f.get("/api/v1/inventory").second["items"].size(), 2U);

  auto [status, body] = f.del("/api/v1/inventory?olderThan=30d");
  ASSERT_EQ(status, 200U) << body.dump();
  EXPECT_EQ(body["removed"], 1);
  EXPECT_EQ(body["olderThan"], "30d");
  const auto cutoff = now - std::chrono::hours(24 * 30);  // the server's clock may have ticked on since
  EXPECT_TRUE(body["cutoff"] == format_rfc3339(cutoff) ||
              body["cutoff"] == format_rfc3339(cutoff + std::chrono::seconds(1)))
      << body.dump();
  std::tie(status, body) = f.get("/api/v1/inventory");
  ASSERT_EQ(body["items"].size(), 1U);
  EXPECT_EQ(body["items"][0]["name"], "api");
  std::tie(status, body) = f.del("/api/v1/inventory?olderThan=30d");
  EXPECT_EQ(body["removed"], 0);
  // Prunes have their own route label (two answered 200, one refused 403).
  const std::string rendered = f.metrics.render();
  EXPECT_NE(rendered.find("imagegate_verdict_api_requests_total{route=\"inventory_prune\",code=\"200\"} 2"),
            std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("imagegate_verdict_api_requests_total{route=\"inventory_prune\",code=\"403\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace imagegate::webhook
