// The admission flow (webhook/admission/policy_admission_service.cc) end to end below HTTP: real AdmissionReview
// samples, real policies from tests/testdata/policies/admission/, the real policy engine and workload
// extraction. Only the EvidenceSource is faked in the deadline and concurrency tests: no registry or
// signature verifier exists yet, and a source that never answers is a fault a real component cannot be
// made to produce on demand.
#include "common/asio_warnings.h"  // before any Asio header
#include "webhook/admission/policy_admission_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/policy.h"
#include "tests/test_support.h"
#include "webhook/admission/admission_review.h"
#include "webhook/observe/decision_log.h"
#include "webhook/observe/decision_ring.h"
#include "webhook/observe/metrics.h"

namespace imagegate::webhook {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using imagegate::testing::conformance_dir;
using imagegate::testing::read_file;
using imagegate::testing::source_dir;
using std::chrono::milliseconds;

std::shared_ptr<const policy::CompiledPolicy> load(const std::string& name) {
  const fs::path file = source_dir() / "tests" / "testdata" / "policies" / "admission" / name;
  auto loaded = policy::load_policy(read_file(file), file.string());
  if (auto* diagnostics = std::get_if<std::vector<policy::Diagnostic>>(&loaded)) {
    std::string all;
    for (const auto& d : *diagnostics) all += d.to_string() + "\n";
    ADD_FAILURE() << "policy " << name << " does not load:\n" << all;
    return nullptr;
  }
  return std::get<std::shared_ptr<const policy::CompiledPolicy>>(std::move(loaded));
}

// Runs one review on a local io_context until its answer is ready (stragglers are not waited for).
struct Answered {
  HttpAnswer http;
  nlohmann::json review;  // parsed body when status is 200
  milliseconds elapsed{0};
};

Answered run(AdmissionService& service, std::string body, std::string target = "/validate?timeout=10s") {
  asio::io_context io;
  const auto start = std::chrono::steady_clock::now();
  auto future = asio::co_spawn(io, service.validate(std::move(body), std::move(target)), asio::use_future);
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one_for(std::chrono::seconds(30)) == 0 && io.stopped()) break;
  }
  Answered out;
  out.elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  out.http = future.get();
  io.poll();  // let stragglers observe their cancellation (nothing here waits for them)
  if (out.http.status == 200) out.review = nlohmann::json::parse(out.http.body);
  return out;
}

nlohmann::json review(const std::string& api_version, const std::string& uid, const std::string& operation,
                      nlohmann::json object, const std::string& namespace_name = "default", bool dry_run = false) {
  nlohmann::json request = {{"uid", uid},
                            {"kind", {{"group", ""}, {"version", "v1"}, {"kind", object.is_object() ? object.value("kind", "Pod") : "Pod"}}},
                            {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                            {"operation", operation},
                            {"namespace", namespace_name},
                            {"userInfo", {{"username", "alice"}}},
                            {"dryRun", dry_run},
                            {"object", std::move(object)}};
  return {{"apiVersion", api_version}, {"kind", "AdmissionReview"}, {"request", std::move(request)}};
}

nlohmann::json pod(const std::vector<std::string>& images) {
  nlohmann::json containers = nlohmann::json::array();
  for (std::size_t i = 0; i < images.size(); ++i) {
    containers.push_back({{"name", "c" + std::to_string(i)}, {"image", images[i]}});
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}}, {"spec", {{"containers", containers}}}};
}

std::vector<nlohmann::json> log_lines(const std::ostringstream& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out.str());
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// A service with the real NoVerifierEvidenceSource, its metrics and log.
struct Fixture {
  NoVerifierEvidenceSource evidence;
  Metrics metrics;
  std::ostringstream log_text;
  DecisionLog log{log_text};
  PolicyAdmissionService service{AdmissionOptions{}, evidence, metrics, log};
};

// ---- The connaisseur samples through conformance.yaml. -------------------------------------------------

enum class Expect { allowed, denied, bad_request };

// Expected answers under tests/testdata/policies/admission/conformance.yaml with no verifier: images that
// need a signature ("signed" rule) fail closed; my.reg/allow-me and test-image pass (static allow);
// charlie-image by digest passes; kube-system is exempt. Where connaisseur's own answer differs, it says so.
const std::map<std::string, Expect> kConnaisseurExpectations = {
    {"01_deployment.json", Expect::denied},         // alice-image: signature not evaluated (upstream: mock verifier)
    {"02_pod.json", Expect::allowed},               // charlie-image@sha256
    {"03_replicaset.json", Expect::denied},
    {"04_cronjob.json", Expect::denied},            // busybox (upstream: denied too)
    {"05_replication_controller.json", Expect::denied},
    {"06_daemonset.json", Expect::allowed},         // namespace kube-system is exempt
    {"07_statefulset.json", Expect::denied},
    {"08_job.json", Expect::denied},
    {"09_dply_multi_image.json", Expect::denied},
    {"10_update.json", Expect::denied},             // UPDATE: the new object's redis@sha256 needs a signature
    {"11_role.json", Expect::allowed},              // not a workload
    {"12_err_pod.json", Expect::denied},            // kind Pod without a pod spec: well-formed review -> fail closed
    {"13_unknown_parent.json", Expect::allowed},
    {"14_deny_me_job.json", Expect::denied},        // upstream: static deny
    {"15_allow_me_job.json", Expect::allowed},
    {"16_mismatch_uid.json", Expect::allowed},
    {"17_deny_me_pod.json", Expect::denied},
    {"18_allow_me_pod.json", Expect::allowed},
    {"19_pod_initcontainer.json", Expect::denied},  // only the initContainer (nginx) fails
    {"20_pod_ephemeralcontainer.json", Expect::denied},  // only the ephemeral container (nginx) fails
    {"21_broken_admission_request.json", Expect::bad_request},  // no uid to answer to
    {"22_allow_me_with_index_docker_io.json", Expect::allowed},
    {"23_alice_digest_dpl.json", Expect::denied},
    {"24_alice_tag_digest_dpl.json", Expect::denied},
    {"25_null_request.json", Expect::bad_request},  // body `null`
    {"26_broken_update_admission_request.json", Expect::bad_request},
    {"27_deleted_deployment.json", Expect::denied},  // deletionTimestamp never skips (upstream: denied)
    // Upstream admits this UPDATE unchecked because the OLD object carries a deletionTimestamp; that is a
    // requester-controlled bypass. imagegate checks the new object: busybox fails closed.
    {"28_deleted_deployment_updated.json", Expect::denied},
    {"29_deleted_deployment_update_for_delete.json", Expect::denied},  // upstream: denied too
};

TEST(PolicyAdmissionService, ConnaisseurSamples) {
  Fixture f;
  f.service.set_policy(load("conformance.yaml"));
  ASSERT_TRUE(f.service.ready());
  const nlohmann::json cases = nlohmann::json::parse(read_file(conformance_dir() / "admission" / "cases.json"));
  std::size_t reviewed = 0;
  for (const auto& c : cases["connaisseur"]) {
    const std::string file = c["file"];
    const std::string base = fs::path(file).filename().string();
    SCOPED_TRACE(file);
    ASSERT_TRUE(kConnaisseurExpectations.count(base)) << "no expectation for " << base;
    const Expect expect = kConnaisseurExpectations.at(base);
    const std::size_t log_before = log_lines(f.log_text).size();
    const auto answer = run(f.service, read_file(conformance_dir() / "admission" / file));
    if (expect == Expect::bad_request) {
      EXPECT_EQ(answer.http.status, 400u);
      const auto error = nlohmann::json::parse(answer.http.body);
      EXPECT_TRUE(error["error"].is_string() && !error["error"].get<std::string>().empty()) << answer.http.body;
      EXPECT_EQ(log_lines(f.log_text).size(), log_before);  // not a review: no decision
      continue;
    }
    ASSERT_EQ(answer.http.status, 200u) << answer.http.body;
    EXPECT_EQ(answer.http.content_type, "application/json");
    const auto& r = answer.review;
    EXPECT_EQ(r["apiVersion"], c["apiVersion"]);
    EXPECT_EQ(r["kind"], "AdmissionReview");
    EXPECT_EQ(r["response"]["uid"], c["uid"]);
    EXPECT_EQ(r["response"]["allowed"], expect == Expect::allowed) << answer.http.body;
    if (expect == Expect::denied) {
      EXPECT_EQ(r["response"]["status"]["code"], 403);
      EXPECT_FALSE(r["response"]["status"]["message"].get<std::string>().empty());
    } else {
      EXPECT_FALSE(r["response"].contains("status"));
    }
    // The decision log saw exactly the images cases.json lists for the new object (never oldObject's).
    const auto lines = log_lines(f.log_text);
    ASSERT_EQ(lines.size(), log_before + 1);
    const auto& line = lines.back();
    EXPECT_EQ(line["uid"], c["uid"]);
    EXPECT_EQ(line["decision"], expect == Expect::allowed ? "allowed" : "denied");
    std::multiset<std::string> logged;
    for (const auto& image : line["images"]) logged.insert(image["image"].get<std::string>());
    std::multiset<std::string> listed;
    if (base != "12_err_pod.json") {
      for (const auto& [kind, images] : c["images"].items()) {
        for (const auto& image : images) listed.insert(image.get<std::string>());
      }
    }
    EXPECT_EQ(logged, listed);
    ++reviewed;
  }
  EXPECT_EQ(reviewed, 26u);
  const std::string metrics = f.metrics.render();
  EXPECT_NE(metrics.find(R"(imagegate_admission_reviews_total{operation="CREATE",decision="denied"} )"),
            std::string::npos);
}

TEST(PolicyAdmissionService, DenialNamesTheInitAndEphemeralContainers) {
  Fixture f;
  f.service.set_policy(load("conformance.yaml"));
  for (const std::string file : {"19_pod_initcontainer.json", "20_pod_ephemeralcontainer.json"}) {
    SCOPED_TRACE(file);
    const auto answer = run(f.service, read_file(conformance_dir() / "admission/connaisseur/admission_requests" / file));
    const std::string message = answer.review["response"]["status"]["message"];
    EXPECT_NE(message.find("docker.io/library/nginx"), std::string::npos) << message;
    EXPECT_EQ(message.find("charlie-image"), std::string::npos) << message;  // the pinned container passed
    EXPECT_NE(message.find("1 of 2 containers"), std::string::npos) << message;
  }
}

// Image volumes (spec.volumes[].image.reference) are pulled by the kubelet like container images: a Pod
// whose containers pass but whose volume image fails any check is denied, naming the volume.
TEST(PolicyAdmissionService, ImageVolumesAreCheckedLikeContainers) {
  Fixture f;
  auto loaded = policy::load_policy(R"(apiVersion: imagegate.dev/v1alpha1
kind: ImagePolicy
metadata: {name: volumes}
spec:
  mode: enforce
  failurePolicy: closed
  noMatch: deny
  registries: {allow: [my.reg, docker.io]}
  trustAnchors: [{name: release-key, cosign: {keyFile: /etc/imagegate/keys/release.pub}}]
  rules:
    - {name: static-allow, match: {images: ["my.reg/allow-me/**"]}}
    - {name: pinned, match: {images: ["my.reg/pinned/**"]}, requireDigest: true}
    - {name: signed, match: {images: ["my.reg/signed/**"]}, signatures: {anchors: [release-key]}}
    - {name: hub, match: {images: ["docker.io/**"]}, deniedTags: [latest]}
)", "volumes.yaml");
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const policy::CompiledPolicy>>(loaded));
  f.service.set_policy(std::get<std::shared_ptr<const policy::CompiledPolicy>>(std::move(loaded)));
  const std::string digest = "sha256:" + std::string(64, 'b');
  struct Case {
    std::string volume_image;
    bool allowed;
    std::string reason;  // in the denial message
  };
  const std::vector<Case> cases = {
      {"evil.example/data:1", false, "registry \"evil.example\" is not in the allowed registries"},
      {"my.reg/pinned/data:1", false, "rule \"pinned\" requires a digest"},
      {"my.reg/signed/data:1", false, "signatures: 0 of 1"},  // no verifier here: not evaluated, fail closed
      {"busybox:latest", false, "tag \"latest\" is denied by rule \"hub\""},
      {"my.reg/unmatched/data:1", false, "no rule matches"},
      {"my.reg/allow-me/data:1", true, ""},
      {"my.reg/pinned/data@" + digest, true, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.volume_image);
    nlohmann::json object = pod({"my.reg/allow-me/app:1"});
    const nlohmann::json source = {{"reference", c.volume_image}, {"pullPolicy", "Always"}};
    object["spec"]["volumes"] = {{{"name", "cache"}, {"emptyDir", nlohmann::json::object()}},
                                 {{"name", "data"}, {"image", source}}};
    const auto answer = run(f.service, review("admission.k8s.io/v1", "vol", "CREATE", object).dump());
    ASSERT_EQ(answer.http.status, 200u) << answer.http.body;
    EXPECT_EQ(answer.review["response"]["allowed"], c.allowed) << answer.http.body;
    const auto line = log_lines(f.log_text).back();
    ASSERT_EQ(line["images"].size(), 2u) << line.dump();
    EXPECT_EQ(line["images"][1]["container"], "data");
    EXPECT_EQ(line["images"][1]["containerKind"], "volumes");
    EXPECT_EQ(line["images"][1]["image"], c.volume_image);
    EXPECT_EQ(line["images"][1]["decision"], c.allowed ? "allowed" : "denied");
    if (c.allowed) continue;
    const std::string message = answer.review["response"]["status"]["message"];
    EXPECT_EQ(message.rfind("imagegate denied 1 of 2 images: volume \"data\" (", 0), 0u) << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << message;
    EXPECT_EQ(message.find("container"), std::string::npos) << message;
    EXPECT_EQ(line["message"], message);
  }
}

TEST(PolicyAdmissionService, EphemeralContainersSubresourceChecksEveryContainer) {
  Fixture f;
  f.service.set_policy(load("conformance.yaml"));
  nlohmann::json object = pod({"my.reg/allow-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"});
  object["spec"]["ephemeralContainers"] = {{{"name", "debugger"}, {"image", "busybox"}}};
  nlohmann::json body = review("admission.k8s.io/v1", "eph-1", "UPDATE", object);
  body["request"]["subResource"] = "ephemeralcontainers";
  body["request"]["oldObject"] = pod({"my.reg/allow-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff"});
  const auto answer = run(f.service, body.dump());
  EXPECT_EQ(answer.review["response"]["allowed"], false);
  EXPECT_NE(answer.review["response"]["status"]["message"].get<std::string>().find("debugger"), std::string::npos);
  EXPECT_EQ(log_lines(f.log_text).back()["subResource"], "ephemeralcontainers");
}

TEST(PolicyAdmissionService, UpdateChecksOnlyTheNewObject) {
  Fixture f;
  f.service.set_policy(load("conformance.yaml"));
  const std::string ok = "my.reg/allow-me@sha256:91ac9b26df583762234c1cdb2fc930364754ccc59bc752a2bfe298d2ea68f9ff";
  // Old object bad, new object good -> allowed.
  nlohmann::json body = review("admission.k8s.io/v1", "upd-1", "UPDATE", pod({ok}));
  body["request"]["oldObject"] = pod({"busybox"});
  EXPECT_EQ(run(f.service, body.dump()).review["response"]["allowed"], true);
  // Old object good, new object bad -> denied, even with a deletionTimestamp on the new object.
  nlohmann::json bad = pod({"busybox"});
  bad["metadata"]["deletionTimestamp"] = "2026-03-06T12:34:56Z";
  body = review("admission.k8s.io/v1", "upd-2", "UPDATE", bad);
  body["request"]["oldObject"] = pod({ok});
  EXPECT_EQ(run(f.service, body.dump()).review["response"]["allowed"], false);
}

TEST(PolicyAdmissionService, DeleteAndConnectAreAllowedUnlooked) {
  Fixture f;  // no policy at all: DELETE and CONNECT still pass
  for (const std::string operation : {"DELETE", "CONNECT"}) {
    nlohmann::json body = review("admission.k8s.io/v1beta1", "op-" + operation, operation, nullptr);
    body["request"]["oldObject"] = pod({"busybox"});
    const auto answer = run(f.service, body.dump());
    ASSERT_EQ(answer.http.status, 200u) << answer.http.body;
    EXPECT_EQ(answer.review["apiVersion"], "admission.k8s.io/v1beta1");
    EXPECT_EQ(answer.review["response"]["allowed"], true);
    EXPECT_EQ(log_lines(f.log_text).back()["operation"], operation);
  }
}

TEST(PolicyAdmissionService, NoPolicyDeniesFailClosed) {
  Fixture f;
  EXPECT_FALSE(f.service.ready());
  const auto answer = run(f.service, review("admission.k8s.io/v1", "np", "CREATE", pod({"nginx"})).dump());
  EXPECT_EQ(answer.review["response"]["allowed"], false);
  EXPECT_NE(answer.review["response"]["status"]["message"].get<std::string>().find("no valid policy"),
            std::string::npos);
  EXPECT_NE(f.metrics.render().find(R"(imagegate_admission_reviews_total{operation="CREATE",decision="error"} 1)"),
            std::string::npos);
}

TEST(PolicyAdmissionService, KubewardenRequestsWrappedInBothVersions) {
  Fixture f;
  f.service.set_policy(load("conformance.yaml"));
  const nlohmann::json cases = nlohmann::json::parse(read_file(conformance_dir() / "admission" / "cases.json"));
  for (const auto& c : cases["kubewarden"]) {
    for (const std::string version : {"admission.k8s.io/v1", "admission.k8s.io/v1beta1"}) {
      SCOPED_TRACE(c["file"].get<std::string>() + " " + version);
      const nlohmann::json request = nlohmann::json::parse(read_file(conformance_dir() / "admission" / c["file"].get<std::string>()));
      const nlohmann::json body = {{"apiVersion", version}, {"kind", "AdmissionReview"}, {"request", request}};
      const auto answer = run(f.service, body.dump());
      ASSERT_EQ(answer.http.status, 200u) << answer.http.body;
      EXPECT_EQ(answer.review["apiVersion"], version);
      EXPECT_EQ(answer.review["response"]["uid"], request["uid"]);
      // Every kubewarden image needs a signature under conformance.yaml; none is verifiable offline.
      EXPECT_EQ(answer.review["response"]["allowed"], false);
      const auto lines = log_lines(f.log_text);
      std::multiset<std::string> logged;
      for (const auto& image : lines.back()["images"]) logged.insert(image["image"].get<std::string>());
      std::multiset<std::string> listed;
      for (const auto& [kind, images] : c["images"].items()) {
        for (const auto& image : images) listed.insert(image.get<std::string>());
      }
      EXPECT_EQ(logged, listed);
    }
  }
}

// ---- Modes, warnings, audit annotations, dry-run. ------------------------------------------------------

TEST(PolicyAdmissionService, EnforceWarnAuditAndDryRun) {
  Fixture f;
  f.service.set_policy(load("modes.yaml"));

  // enforce: busybox:latest denied
  auto a = run(f.service, review("admission.k8s.io/v1", "m1", "CREATE", pod({"busybox:latest"})).dump());
  EXPECT_EQ(a.review["response"]["allowed"], false);
  EXPECT_EQ(a.review["response"]["status"]["code"], 403);
  EXPECT_NE(a.review["response"]["status"]["message"].get<std::string>().find("enforce-latest"), std::string::npos);
  EXPECT_EQ(a.review["response"]["auditAnnotations"]["decision"], "denied");
  EXPECT_EQ(a.review["response"]["auditAnnotations"]["rule"], "enforce-latest");

  // warn: nginx (latest) allowed with a warning of at most 120 characters
  a = run(f.service, review("admission.k8s.io/v1", "m2", "CREATE", pod({"nginx"})).dump());
  EXPECT_EQ(a.review["response"]["allowed"], true);
  ASSERT_EQ(a.review["response"]["warnings"].size(), 1u) << a.http.body;
  const std::string warning = a.review["response"]["warnings"][0];
  EXPECT_LE(warning.size(), 120u);
  EXPECT_NE(warning.find("latest"), std::string::npos) << warning;
  EXPECT_EQ(a.review["response"]["auditAnnotations"]["decision"], "warned");

  // audit: redis:latest allowed silently, the failure recorded in the audit annotations and the log
  a = run(f.service, review("admission.k8s.io/v1", "m3", "CREATE", pod({"redis:latest"})).dump());
  EXPECT_EQ(a.review["response"]["allowed"], true);
  EXPECT_FALSE(a.review["response"].contains("warnings"));
  EXPECT_EQ(a.review["response"]["auditAnnotations"]["decision"], "allowed");
  EXPECT_NE(a.review["response"]["auditAnnotations"]["audit-failures"].get<std::string>().find("c0"),
            std::string::npos);
  auto line = log_lines(f.log_text).back();
  EXPECT_EQ(line["images"][0]["outcome"], "failed");
  EXPECT_EQ(line["images"][0]["mode"], "audit");

  // Audit annotation keys are bare qualified names: the API server prefixes "<webhook name>/".
  for (const auto& [key, value] : a.review["response"]["auditAnnotations"].items()) {
    EXPECT_EQ(key.find('/'), std::string::npos) << key;
    EXPECT_LE(key.size(), 63u);
    EXPECT_LE(value.get<std::string>().size(), 1024u);
  }
  EXPECT_EQ(a.review["response"]["auditAnnotations"]["policy-version"],
            policy::version_of(*f.service.policy()));

  // dry-run: evaluated exactly like the others; the log says dryRun
  a = run(f.service, review("admission.k8s.io/v1beta1", "m4", "CREATE", pod({"busybox"}), "default", true).dump());
  EXPECT_EQ(a.review["apiVersion"], "admission.k8s.io/v1beta1");
  EXPECT_EQ(a.review["response"]["allowed"], false);
  line = log_lines(f.log_text).back();
  EXPECT_EQ(line["dryRun"], true);
  EXPECT_EQ(line["uid"], "m4");
  EXPECT_EQ(line["user"], "alice");
  EXPECT_EQ(line["decision"], "denied");
  EXPECT_EQ(line["policyVersion"], policy::version_of(*f.service.policy()));
  EXPECT_TRUE(line["time"].is_string());
  EXPECT_TRUE(line["durationMs"].is_number());

  // unmatched image, and a workload mixing all three: deny wins
  a = run(f.service, review("admission.k8s.io/v1", "m5", "CREATE", pod({"alpine:3"})).dump());
  EXPECT_EQ(a.review["response"]["allowed"], true);
  a = run(f.service, review("admission.k8s.io/v1", "m6", "CREATE", pod({"nginx", "redis", "busybox"})).dump());
  EXPECT_EQ(a.review["response"]["allowed"], false);
  EXPECT_EQ(a.review["response"]["warnings"].size(), 1u);

  const std::string metrics = f.metrics.render();
  EXPECT_NE(metrics.find(R"(imagegate_admission_reviews_total{operation="CREATE",decision="warned"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(imagegate_admission_reviews_total{operation="CREATE",decision="denied"} 3)"),
            std::string::npos);
  EXPECT_NE(metrics.find(R"(imagegate_admission_stage_duration_seconds_count{stage="decode"} 6)"), std::string::npos);
}

// Log injection: an image string carrying a newline and a forged decision (and control characters) stays
// inside its own JSON string. The review is denied (not a valid reference) and the decision log gets exactly
// one line for it, whose `image` is the string as sent; the forged "allowed" line never appears.
TEST(PolicyAdmissionService, ImageStringsCannotForgeDecisionLogLines) {
  Fixture f;
  f.service.set_policy(load("modes.yaml"));
  const std::string forged = "nginx:1\n{\"decision\":\"allowed\",\"uid\":\"forged\"}\r\x1b[2J\x01";
  const auto answer = run(f.service, review("admission.k8s.io/v1", "inject", "CREATE", pod({forged})).dump());
  EXPECT_FALSE(answer.review["response"]["allowed"].get<bool>());
  const auto lines = log_lines(f.log_text);  // every line must parse as JSON on its own
  ASSERT_EQ(lines.size(), 1U) << f.log_text.str();
  EXPECT_EQ(lines[0]["uid"], "inject");
  EXPECT_EQ(lines[0]["decision"], "denied");
  EXPECT_EQ(lines[0]["images"][0]["image"], forged);
  EXPECT_EQ(f.log_text.str().find("\"uid\":\"forged\""), std::string::npos);
}

// The console's recent decisions (webhook/observe/decision_ring.h) keep the very line the decision log
// wrote, with the fields their filters read; without a ring nothing is kept (and nothing else changes).
TEST(PolicyAdmissionService, RecentDecisionsKeepTheDecisionLogLine) {
  Fixture f;
  DecisionRing ring(10);
  f.service.set_recent(&ring);
  f.service.set_policy(load("modes.yaml"));
  const std::string markup = "nginx:1\"><img src=x onerror=alert(1)>";
  run(f.service, review("admission.k8s.io/v1", "first", "CREATE", pod({markup}), "shop").dump());
  run(f.service, review("admission.k8s.io/v1", "second", "DELETE", pod({"nginx:1"}), "other").dump());
  const auto lines = log_lines(f.log_text);
  ASSERT_EQ(lines.size(), 2U);
  const std::vector<RecentDecision> kept = ring.list({});
  ASSERT_EQ(kept.size(), 2U);
  EXPECT_EQ(kept[0].id, 2U);  // newest first
  EXPECT_EQ(kept[0].decision, "allowed");
  EXPECT_EQ(kept[0].namespace_name, "other");
  EXPECT_EQ(kept[1].decision, lines[0]["decision"].get<std::string>());
  EXPECT_EQ(kept[1].namespace_name, "shop");
  EXPECT_EQ(nlohmann::json::parse(kept[1].line), lines[0]);  // the same line, byte for byte re-read
  EXPECT_EQ(f.log_text.str().substr(0, kept[1].line.size()), kept[1].line);
  for (const auto& image : lines[0]["images"]) {
    if (!image["rule"].get<std::string>().empty()) {
      EXPECT_NE(std::find(kept[1].rules.begin(), kept[1].rules.end(), image["rule"].get<std::string>()),
                kept[1].rules.end());
    }
  }
  const auto totals = ring.totals();
  EXPECT_EQ(totals[0] + totals[1] + totals[2] + totals[3], 2U);
  EXPECT_EQ(totals[0], kept[1].decision == "allowed" ? 2U : 1U);
}

TEST(PolicyAdmissionService, MalformedBodiesAreHttp400AndOversizedOnes413) {
  Fixture f;
  f.service.set_policy(load("modes.yaml"));
  for (const std::string body : {"not json", "null", "[]", R"({"apiVersion":"v1","kind":"AdmissionReview"})",
                                 R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})"}) {
    SCOPED_TRACE(body);
    const auto answer = run(f.service, body);
    EXPECT_EQ(answer.http.status, 400u);
    EXPECT_TRUE(nlohmann::json::parse(answer.http.body)["error"].is_string());
  }
  // Nested too deep is a malformed review (400, as documented); over the value bound is a size limit (413).
  const auto deep = run(f.service, std::string(5000, '[') + std::string(5000, ']'));
  EXPECT_EQ(deep.http.status, 400u);
  std::string many = "[0";
  for (std::size_t i = 0; i < kMaxReviewJsonValues; ++i) many += ",0";
  const auto bomb = run(f.service, many + "]");
  EXPECT_EQ(bomb.http.status, 413u);
  const auto huge = run(f.service, std::string(kMaxReviewBytes + 1, ' '));
  EXPECT_EQ(huge.http.status, 413u);
  EXPECT_TRUE(log_lines(f.log_text).empty());
  const std::string metrics = f.metrics.render();
  EXPECT_NE(metrics.find(R"(imagegate_http_requests_total{code="400"} 6)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(imagegate_http_requests_total{code="413"} 2)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(imagegate_admission_reviews_total{operation="CREATE",decision="allowed"} 0)"),
            std::string::npos);
}

TEST(PolicyAdmissionService, UnexpectedExceptionIsDeniedInternalError) {
  NoVerifierEvidenceSource evidence;
  Metrics metrics;
  std::ostringstream log_text;
  DecisionLog log(log_text);
  // A clock that throws stands for any unexpected failure inside the flow.
  PolicyAdmissionService service(AdmissionOptions{}, evidence, metrics, log,
                                 []() -> std::chrono::system_clock::time_point { throw std::runtime_error("clock broke"); });
  service.set_policy(load("modes.yaml"));
  const auto answer = run(service, review("admission.k8s.io/v1", "boom", "CREATE", pod({"alpine"})).dump());
  ASSERT_EQ(answer.http.status, 200u);
  EXPECT_EQ(answer.review["response"]["uid"], "boom");
  EXPECT_EQ(answer.review["response"]["allowed"], false);
  EXPECT_NE(answer.review["response"]["status"]["message"].get<std::string>().find("internal error"), std::string::npos);
  EXPECT_NE(metrics.render().find(R"(imagegate_admission_reviews_total{operation="CREATE",decision="error"} 1)"),
            std::string::npos);
  const auto line = log_lines(log_text).back();
  EXPECT_EQ(line["decision"], "error");
  EXPECT_NE(line["message"].get<std::string>().find("clock broke"), std::string::npos);
  EXPECT_NE(metrics.render().find("imagegate_admission_reviews_in_flight 0"), std::string::npos);
}

// ---- Budget and deadline. ------------------------------------------------------------------------------

TEST(ReviewBudget, ParsesTheApiServerTimeout) {
  EXPECT_EQ(parse_review_timeout("/validate?timeout=10s"), milliseconds(10'000));
  EXPECT_EQ(parse_review_timeout("/validate?x=1&timeout=1m0s&y=2"), milliseconds(60'000));
  EXPECT_EQ(parse_review_timeout("/validate?timeout=1.5s"), milliseconds(1'500));
  EXPECT_EQ(parse_review_timeout("/validate?timeout=500ms"), milliseconds(500));
  EXPECT_EQ(parse_review_timeout("/validate?timeout=7"), milliseconds(7'000));
  EXPECT_EQ(parse_review_timeout("/validate?timeout=1h"), milliseconds(3'600'000));
  for (const std::string bad : {"/validate", "/validate?", "/validate?timeout=", "/validate?timeout=abc",
                                "/validate?timeout=10x", "/validate?timeout=-3s", "/validate?timeout=1m30",
                                "/validate?timeout=s", "/validate?timeouts=10s", "/validate?timeout=.s"}) {
    EXPECT_EQ(parse_review_timeout(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse_review_timeout("/validate?timeout=99999999999999999999999h"), milliseconds(86'400'000));
  // Go's other units and fractions (the grammar is common/duration.h's: a superset), days beyond Go's.
  EXPECT_EQ(parse_review_timeout("/validate?timeout=1500000us"), milliseconds(1'500));
  EXPECT_EQ(parse_review_timeout("/validate?timeout=2.5"), milliseconds(2'500));
  EXPECT_EQ(parse_review_timeout("/validate?timeout=2d"), milliseconds(86'400'000));

  const AdmissionOptions options;  // default 9 s, max 25 s, margin 1 s
  EXPECT_EQ(review_budget(options, "/validate?timeout=10s"), milliseconds(9'000));
  EXPECT_EQ(review_budget(options, "/validate?timeout=30s"), milliseconds(25'000));
  EXPECT_EQ(review_budget(options, "/validate?timeout=1s"), milliseconds(100));
  EXPECT_EQ(review_budget(options, "/validate"), milliseconds(9'000));
  EXPECT_EQ(review_budget(options, "/validate?timeout=garbage"), milliseconds(9'000));
}

// A fake EvidenceSource (no real verifier exists yet): never completes unless cancelled.
class NeverCompletes final : public EvidenceSource {
 public:
  std::atomic<int> started{0};
  std::atomic<int> cancelled{0};
  asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview&, const policy::Plan&,
                                           const PolicySnapshot&) override {
    ++started;
    asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::duration::max());
    try {
      co_await forever.async_wait(asio::use_awaitable);
    } catch (const boost::system::system_error&) {
      ++cancelled;
      throw;
    }
    co_return policy::Evidence{};
  }
};

// A fake that ignores cancellation altogether and answers "verified" after `delay`.
class SlowVerifier final : public EvidenceSource {
 public:
  explicit SlowVerifier(milliseconds delay) : delay_(delay) {}
  std::atomic<int> started{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview&, const policy::Plan& plan,
                                           const PolicySnapshot&) override {
    ++started;
    max_in_flight = std::max(max_in_flight.load(), ++in_flight);
    asio::steady_timer timer(co_await asio::this_coro::executor, delay_);
    boost::system::error_code ec;
    // Deliberately detached from the review's cancellation.
    co_await timer.async_wait(asio::bind_cancellation_slot(asio::cancellation_slot(),
                                                           asio::redirect_error(asio::use_awaitable, ec)));
    --in_flight;
    policy::Evidence evidence;
    evidence.digest_resolution = {policy::EvidenceStatus::verified, "resolved"};
    evidence.digest = "sha256:" + std::string(64, 'a');
    for (const auto& anchor : plan.needs.anchors) {
      evidence.signatures.push_back({anchor, {policy::EvidenceStatus::verified, "fake"}});
    }
    co_return evidence;
  }

 private:
  milliseconds delay_;
};

class Throws final : public EvidenceSource {
 public:
  asio::awaitable<policy::Evidence> gather(const policy::ImageUnderReview&, const policy::Plan&,
                                           const PolicySnapshot&) override {
    throw std::runtime_error("registry exploded");
    co_return policy::Evidence{};
  }
};

struct DeadlineFixture {
  explicit DeadlineFixture(EvidenceSource& source) : service(AdmissionOptions{}, source, metrics, log) {
    service.set_policy(load("deadline.yaml"));
  }
  Metrics metrics;
  std::ostringstream log_text;
  DecisionLog log{log_text};
  PolicyAdmissionService service;
};

TEST(PolicyAdmissionDeadline, FailurePolicyClosedDeniesNamingTheTimedOutCheck) {
  NeverCompletes source;
  DeadlineFixture f(source);
  // timeout=2s - margin 1s -> a 1 s budget
  const auto answer = run(f.service, review("admission.k8s.io/v1", "d1", "CREATE", pod({"registry.example/closed/app:1"})).dump(),
                          "/validate?timeout=2s");
  ASSERT_EQ(answer.http.status, 200u);
  EXPECT_EQ(answer.review["response"]["allowed"], false);
  const std::string message = answer.review["response"]["status"]["message"];
  EXPECT_NE(message.find("timed out after 1000ms"), std::string::npos) << message;
  EXPECT_NE(message.find("release-key"), std::string::npos) << message;
  EXPECT_GE(answer.elapsed, milliseconds(1000));
  EXPECT_LT(answer.elapsed, milliseconds(2000));  // before the API server's own timeout
  EXPECT_EQ(source.started, 1);
  EXPECT_EQ(source.cancelled, 1);  // the straggler was told to stop
}

TEST(PolicyAdmissionDeadline, FailurePolicyOpenAllowsWithAWarning) {
  NeverCompletes source;
  DeadlineFixture f(source);
  const auto answer = run(f.service, review("admission.k8s.io/v1", "d2", "CREATE", pod({"registry.example/open/app:1"})).dump(),
                          "/validate?timeout=1500ms");
  ASSERT_EQ(answer.http.status, 200u);
  EXPECT_EQ(answer.review["response"]["allowed"], true);
  ASSERT_EQ(answer.review["response"]["warnings"].size(), 1u) << answer.http.body;
  const std::string warning = answer.review["response"]["warnings"][0];
  EXPECT_LE(warning.size(), 120u);
  EXPECT_NE(warning.find("registry.example/open/app"), std::string::npos) << warning;
  EXPECT_GE(answer.elapsed, milliseconds(500));
  EXPECT_LT(answer.elapsed, milliseconds(1500));
  EXPECT_NE(log_lines(f.log_text).back()["images"][0]["reasons"].dump().find("timed out after 500ms"), std::string::npos);
}

TEST(PolicyAdmissionDeadline, AnswersInTimeEvenWhenTheSourceIgnoresCancellation) {
  SlowVerifier source(milliseconds(3000));
  DeadlineFixture f(source);
  const auto answer = run(f.service, review("admission.k8s.io/v1", "d3", "CREATE", pod({"registry.example/closed/app:1"})).dump(),
                          "/validate?timeout=1500ms");
  EXPECT_EQ(answer.review["response"]["allowed"], false);
  EXPECT_LT(answer.elapsed, milliseconds(1500));
}

TEST(PolicyAdmissionDeadline, GathersConcurrentlyAndOncePerDistinctImage) {
  SlowVerifier source(milliseconds(300));
  DeadlineFixture f(source);
  const auto answer = run(f.service,
                          review("admission.k8s.io/v1", "d4", "CREATE",
                                 pod({"registry.example/closed/a:1", "registry.example/closed/b:1",
                                      "registry.example/open/c:1", "registry.example/closed/a:1"}))
                              .dump(),
                          "/validate?timeout=10s");
  ASSERT_EQ(answer.http.status, 200u);
  EXPECT_EQ(answer.review["response"]["allowed"], true) << answer.http.body;
  EXPECT_FALSE(answer.review["response"].contains("warnings"));
  EXPECT_EQ(source.started, 3);        // a:1 appears twice, gathered once
  EXPECT_EQ(source.max_in_flight, 3);  // all at once
  EXPECT_LT(answer.elapsed, milliseconds(800));  // not 3 x 300 ms
  const std::string digests = answer.review["response"]["auditAnnotations"]["digests"];
  EXPECT_NE(digests.find("c0=sha256:aaaa"), std::string::npos) << digests;
  EXPECT_NE(f.metrics.render().find(R"(imagegate_admission_stage_duration_seconds_count{stage="evidence"} 1)"),
            std::string::npos);
}

TEST(PolicyAdmissionDeadline, ASourceThatThrowsCountsAsUnavailable) {
  Throws source;
  DeadlineFixture f(source);
  auto answer = run(f.service, review("admission.k8s.io/v1", "d5", "CREATE", pod({"registry.example/closed/app:1"})).dump());
  EXPECT_EQ(answer.review["response"]["allowed"], false);
  EXPECT_NE(answer.review["response"]["status"]["message"].get<std::string>().find("registry exploded"),
            std::string::npos);
  answer = run(f.service, review("admission.k8s.io/v1", "d6", "CREATE", pod({"registry.example/open/app:1"})).dump());
  EXPECT_EQ(answer.review["response"]["allowed"], true);
}

TEST(PolicyAdmissionService, NoVerifierSourceMarksNeededChecksNotEvaluated) {
  NoVerifierEvidenceSource source;
  auto compiled = load("deadline.yaml");
  const policy::ImageUnderReview image{"default", "registry.example/closed/app:1"};
  const policy::Plan plan = policy::plan(*compiled, image);
  asio::io_context io;
  const PolicySnapshot snapshot;
  auto future = asio::co_spawn(io, source.gather(image, plan, snapshot), asio::use_future);
  io.run();
  const policy::Evidence evidence = future.get();
  ASSERT_EQ(evidence.signatures.size(), 1u);
  EXPECT_EQ(evidence.signatures[0].anchor, "release-key");
  EXPECT_EQ(evidence.signatures[0].check.status, policy::EvidenceStatus::not_evaluated);
  EXPECT_EQ(evidence.signatures[0].check.detail, "no verifier configured");
  EXPECT_EQ(evidence.digest_resolution.status, policy::EvidenceStatus::not_evaluated);
}

}  // namespace
}  // namespace imagegate::webhook
