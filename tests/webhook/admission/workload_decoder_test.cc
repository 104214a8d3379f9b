// Tests for webhook/admission/workload_decoder.cc (the one decoder of the typed review model): image extraction from real objects made by kubectl at test time
// (`kubectl create ... --dry-run=client -o json`, which works offline), from every AdmissionReview sample
// in the conformance folder, and from malformed variants of those objects.
#include "webhook/admission/workload_decoder.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;
using policy::ContainerImage;
using policy::kMaxContainersPerObject;
using policy::owner_label;
using policy::to_json_pointer;
using policy::Workload;

// Runs `kubectl <args> --dry-run=client -o json` and parses its output.
json kubectl_json(const std::string& args) {
  const std::string command = "kubectl " + args + " --dry-run=client -o json 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return json();
  }
  std::string output;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command;
  json parsed = json::parse(output, nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << command << " printed: " << output;
  return parsed;
}

// `kubectl run --dry-run=client` needs an API server for discovery (kubectl 1.32), so a Pod is made
// from the pod template of a kubectl-made Deployment: the template is exactly what the controller
// would put into a Pod's spec.
json kubectl_pod(const std::string& images_args, const std::string& ns = "") {
  json deployment = kubectl_json("create deployment p " + images_args + (ns.empty() ? "" : " -n " + ns));
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", deployment["metadata"]}};
  pod["spec"] = deployment["spec"]["template"]["spec"];
  return pod;
}

std::vector<std::string> images_of(const Workload& w, const std::string& list) {
  std::vector<std::string> out;
  for (const ContainerImage& c : w.images) {
    if (c.kind == list) out.push_back(c.image);
  }
  return out;
}

TEST(ExtractWorkload, DeploymentFromKubectl) {
  const json object = kubectl_json("create deployment web -n team --image=nginx:1.25 --image=busybox");
  auto w = decode_workload(object);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_TRUE(w->has_pod_spec);
  EXPECT_EQ(w->kind, "Deployment");
  EXPECT_EQ(w->api_version, "apps/v1");
  EXPECT_EQ(w->name, "web");
  EXPECT_EQ(w->namespace_name, "team");
  ASSERT_EQ(w->images.size(), 2u);
  EXPECT_EQ(w->images[0].image, "nginx:1.25");
  EXPECT_EQ(w->images[0].name, "nginx");
  EXPECT_EQ(w->images[0].kind, "containers");
  EXPECT_EQ(w->images[0].json_path, "spec.template.spec.containers[0].image");
  EXPECT_EQ(w->images[1].image, "busybox");
  EXPECT_EQ(w->images[1].json_path, "spec.template.spec.containers[1].image");
  // The path points at the image in the object.
  EXPECT_EQ(object.at(json::json_pointer(to_json_pointer(w->images[1].json_path))), "busybox");
}

TEST(ExtractWorkload, JobAndCronJobFromKubectl) {
  auto job = decode_workload(kubectl_json("create job migrate --image=perl:5.34.0"));
  ASSERT_TRUE(job.ok()) << job.error().message;
  ASSERT_EQ(job->images.size(), 1u);
  EXPECT_EQ(job->kind, "Job");
  EXPECT_EQ(job->images[0].json_path, "spec.template.spec.containers[0].image");
  EXPECT_EQ(job->namespace_name, "");

  const json cron = kubectl_json("create cronjob nightly --image=registry.example.com/tools/backup:2 "
                                 "--schedule='0 3 * * *'");
  auto c = decode_workload(cron);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->images.size(), 1u);
  EXPECT_EQ(c->images[0].image, "registry.example.com/tools/backup:2");
  EXPECT_EQ(c->images[0].json_path, "spec.jobTemplate.spec.template.spec.containers[0].image");
  EXPECT_EQ(cron.at(json::json_pointer(to_json_pointer(c->images[0].json_path))),
            "registry.example.com/tools/backup:2");
}

TEST(ExtractWorkload, PodWithInitAndEphemeralContainers) {
  json pod = kubectl_pod("--image=app:1", "dev");
  pod["spec"]["initContainers"] = kubectl_pod("--image=init:2")["spec"]["containers"];
  pod["spec"]["ephemeralContainers"] = kubectl_pod("--image=debug:3")["spec"]["containers"];
  auto w = decode_workload(pod);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->namespace_name, "dev");
  ASSERT_EQ(w->images.size(), 3u);
  EXPECT_EQ(w->images[0].json_path, "spec.containers[0].image");
  EXPECT_EQ(w->images[1].json_path, "spec.initContainers[0].image");
  EXPECT_EQ(w->images[1].kind, "initContainers");
  EXPECT_EQ(w->images[1].image, "init:2");
  EXPECT_EQ(w->images[2].json_path, "spec.ephemeralContainers[0].image");
  EXPECT_EQ(w->images[2].image, "debug:3");
}

// Image volumes (spec.volumes[].image.reference): the kubelet pulls them like container images, so each
// is an image of the workload, after the containers, with its own path. Volumes of other types are not.
json image_volume(const std::string& name, const std::string& reference) {
  return {{"name", name}, {"image", {{"reference", reference}, {"pullPolicy", "IfNotPresent"}}}};
}

TEST(ExtractWorkload, ImageVolumesOfAPod) {
  json pod = kubectl_pod("--image=app:1", "dev");
  pod["spec"]["volumes"] = {{{"name", "cache"}, {"emptyDir", json::object()}},
                            image_volume("data", "registry.example/data:v1"),
                            {{"name", "settings"}, {"configMap", {{"name", "s"}}}},
                            image_volume("models", "registry.example/models@sha256:" + std::string(64, 'a'))};
  auto w = decode_workload(pod);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_EQ(w->images.size(), 3u);
  EXPECT_FALSE(w->images[0].is_volume());
  const ContainerImage& data = w->images[1];
  EXPECT_TRUE(data.is_volume());
  EXPECT_EQ(data.kind, "volumes");
  EXPECT_EQ(data.name, "data");
  EXPECT_EQ(data.image, "registry.example/data:v1");
  EXPECT_EQ(data.json_path, "spec.volumes[1].image.reference");
  EXPECT_EQ(to_json_pointer(data.json_path), "/spec/volumes/1/image/reference");
  EXPECT_EQ(w->images[2].name, "models");
  EXPECT_EQ(w->images[2].json_path, "spec.volumes[3].image.reference");
  for (const ContainerImage& image : w->images) {
    EXPECT_EQ(pod.at(json::json_pointer(to_json_pointer(image.json_path))), image.image) << image.json_path;
  }
  EXPECT_EQ(owner_label(data, "container"), "volume \"data\"");
  EXPECT_EQ(owner_label(w->images[0], "container"), "app");
}

TEST(ExtractWorkload, ImageVolumesInPodTemplates) {
  json deployment = kubectl_json("create deployment web --image=nginx");
  // json::array, not a braced single element: GCC reads {x} as a one-element array, clang as a copy of x.
  deployment["spec"]["template"]["spec"]["volumes"] = json::array({image_volume("data", "registry.example/data:v1")});
  auto d = decode_workload(deployment);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(images_of(*d, "volumes"), std::vector<std::string>{"registry.example/data:v1"});
  EXPECT_EQ(d->images.back().json_path, "spec.template.spec.volumes[0].image.reference");

  json cron = kubectl_json("create cronjob nightly --image=busybox --schedule='0 3 * * *'");
  cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"] = {
      {{"name", "scratch"}, {"emptyDir", json::object()}}, image_volume("tools", "registry.example/tools:2")};
  auto c = decode_workload(cron);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->images.size(), 2u);
  EXPECT_EQ(c->images[1].json_path, "spec.jobTemplate.spec.template.spec.volumes[1].image.reference");
  EXPECT_EQ(to_json_pointer(c->images[1].json_path), "/spec/jobTemplate/spec/template/spec/volumes/1/image/reference");
  EXPECT_EQ(cron.at(json::json_pointer(to_json_pointer(c->images[1].json_path))), "registry.example/tools:2");
}

TEST(ExtractWorkload, VolumesWithoutAnImageAreNotImages) {
  json pod = kubectl_pod("--image=app:1");
  pod["spec"]["volumes"] = {{{"name", "cache"}, {"emptyDir", json::object()}},
                            {{"name", "token"}, {"image", nullptr}, {"projected", {{"sources", json::array()}}}}};
  auto w = decode_workload(pod);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->images.size(), 1u);
  pod["spec"]["volumes"] = nullptr;
  w = decode_workload(pod);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->images.size(), 1u);
}

TEST(ExtractWorkload, OtherControllersAndPodTemplate) {
  const json deployment = kubectl_json("create deployment d --image=nginx");
  for (const auto& [kind, api] : std::vector<std::pair<std::string, std::string>>{
           {"ReplicaSet", "apps/v1"}, {"StatefulSet", "apps/v1"}, {"DaemonSet", "apps/v1"},
           {"ReplicationController", "v1"}, {"Deployment", "extensions/v1beta1"}}) {
    json object = deployment;
    object["kind"] = kind;
    object["apiVersion"] = api;
    auto w = decode_workload(object);
    ASSERT_TRUE(w.ok()) << kind << ": " << w.error().message;
    EXPECT_TRUE(w->has_pod_spec) << kind;
    EXPECT_EQ(images_of(*w, "containers"), std::vector<std::string>{"nginx"}) << kind;
  }
  json pod_template = {{"apiVersion", "v1"}, {"kind", "PodTemplate"}, {"metadata", {{"name", "t"}}},
                       {"template", deployment["spec"]["template"]}};
  auto t = decode_workload(pod_template);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->images.size(), 1u);
  EXPECT_EQ(t->images[0].json_path, "template.spec.containers[0].image");
}

TEST(ExtractWorkload, NonWorkloadKindsCarryNoPodSpec) {
  for (const std::string args : {"create configmap settings --from-literal=a=b",
                                 "create secret generic s --from-literal=k=v",
                                 "create service clusterip svc --tcp=80:8080"}) {
    auto w = decode_workload(kubectl_json(args));
    ASSERT_TRUE(w.ok()) << args << ": " << w.error().message;
    EXPECT_FALSE(w->has_pod_spec) << args;
    EXPECT_TRUE(w->images.empty()) << args;
  }
  // A custom resource that reuses a workload kind name in its own group is not a pod spec.
  json crd = kubectl_json("create job j --image=nginx");
  crd["apiVersion"] = "batch.volcano.sh/v1alpha1";
  auto w = decode_workload(crd);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->has_pod_spec);
}

// Malformed pod specs of known kinds are errors naming the path, never an empty (allowed) workload.
TEST(ExtractWorkload, MalformedPodSpecsAreErrors) {
  const json base = kubectl_json("create deployment web --image=nginx --image=redis");
  struct Case {
    const char* name;
    void (*mutate)(json&);
    ErrorCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"containers_not_list", [](json& o) { o["spec"]["template"]["spec"]["containers"] = "nginx"; },
       ErrorCode::invalid_argument, "spec.template.spec.containers: must be a list"},
      {"containers_missing", [](json& o) { o["spec"]["template"]["spec"].erase("containers"); },
       ErrorCode::invalid_argument, "spec.template.spec.containers: required"},
      {"image_missing", [](json& o) { o["spec"]["template"]["spec"]["containers"][1].erase("image"); },
       ErrorCode::invalid_argument, "spec.template.spec.containers[1].image: required"},
      {"image_not_string", [](json& o) { o["spec"]["template"]["spec"]["containers"][0]["image"] = 42; },
       ErrorCode::invalid_argument, "spec.template.spec.containers[0].image: must be a string"},
      {"image_empty", [](json& o) { o["spec"]["template"]["spec"]["containers"][0]["image"] = ""; },
       ErrorCode::invalid_argument, "spec.template.spec.containers[0].image: must not be empty"},
      {"container_not_object", [](json& o) { o["spec"]["template"]["spec"]["containers"][0] = "nginx"; },
       ErrorCode::invalid_argument, "spec.template.spec.containers[0]: must be a container object"},
      {"init_not_list", [](json& o) { o["spec"]["template"]["spec"]["initContainers"] = json::object(); },
       ErrorCode::invalid_argument, "spec.template.spec.initContainers: must be a list"},
      {"ephemeral_bad_image",
       [](json& o) { o["spec"]["template"]["spec"]["ephemeralContainers"] = {{{"name", "d"}, {"image", true}}}; },
       ErrorCode::invalid_argument, "spec.template.spec.ephemeralContainers[0].image: must be a string"},
      {"name_not_string", [](json& o) { o["spec"]["template"]["spec"]["containers"][0]["name"] = 1; },
       ErrorCode::invalid_argument, "spec.template.spec.containers[0].name: must be a string"},
      {"template_missing", [](json& o) { o["spec"].erase("template"); }, ErrorCode::invalid_argument,
       "spec.template: required"},
      {"spec_not_object", [](json& o) { o["spec"] = json::array(); }, ErrorCode::invalid_argument,
       "spec: must be an object"},
      {"pod_spec_not_object", [](json& o) { o["spec"]["template"]["spec"] = "x"; }, ErrorCode::invalid_argument,
       "spec.template.spec: must be an object"},
      {"kind_not_string", [](json& o) { o["kind"] = 7; }, ErrorCode::invalid_argument, "kind: must be a string"},
      {"metadata_not_object", [](json& o) { o["metadata"] = "web"; }, ErrorCode::invalid_argument,
       "metadata: must be an object"},
      {"volumes_not_list", [](json& o) { o["spec"]["template"]["spec"]["volumes"] = json::object(); },
       ErrorCode::invalid_argument, "spec.template.spec.volumes: must be a list of volumes"},
      {"volume_not_object", [](json& o) { o["spec"]["template"]["spec"]["volumes"] = {"data"}; },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[0]: must be a volume object"},
      {"image_volume_not_object",
       [](json& o) { o["spec"]["template"]["spec"]["volumes"] = {{{"name", "d"}, {"image", "registry.example/d:1"}}}; },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[0].image: must be an object"},
      {"image_volume_reference_missing",
       [](json& o) {
         o["spec"]["template"]["spec"]["volumes"] = {{{"name", "e"}, {"emptyDir", json::object()}},
                                                     {{"name", "d"}, {"image", {{"pullPolicy", "Always"}}}}};
       },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[1].image.reference: required"},
      {"image_volume_reference_null",
       [](json& o) {
         o["spec"]["template"]["spec"]["volumes"] = {{{"name", "d"}, {"image", {{"reference", nullptr}}}}};
       },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[0].image.reference: required"},
      {"image_volume_reference_empty",
       [](json& o) { o["spec"]["template"]["spec"]["volumes"] = {{{"name", "d"}, {"image", {{"reference", ""}}}}}; },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[0].image.reference: must not be empty"},
      {"image_volume_reference_not_string",
       [](json& o) { o["spec"]["template"]["spec"]["volumes"] = {{{"name", "d"}, {"image", {{"reference", 7}}}}}; },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[0].image.reference: must be a string"},
      {"image_volume_name_not_string",
       [](json& o) { o["spec"]["template"]["spec"]["volumes"] = {{{"name", 1}, {"image", {{"reference", "x"}}}}}; },
       ErrorCode::invalid_argument, "spec.template.spec.volumes[0].name: must be a string"},
      {"too_many_containers",
       [](json& o) {
         json& list = o["spec"]["template"]["spec"]["initContainers"];
         for (std::size_t i = 0; i < kMaxContainersPerObject; ++i) list.push_back({{"name", "c"}, {"image", "x"}});
       },
       ErrorCode::resource_exhausted, "spec.template.spec.initContainers[1022]: more than 1024 containers"},
      // Image volumes count toward the same bound: 2 containers + 1022 init containers + 1 image volume.
      {"too_many_images_with_a_volume",
       [](json& o) {
         json& list = o["spec"]["template"]["spec"]["initContainers"];
         for (std::size_t i = 2; i < kMaxContainersPerObject; ++i) list.push_back({{"name", "c"}, {"image", "x"}});
         o["spec"]["template"]["spec"]["volumes"] = json::array({image_volume("d", "registry.example/d:1")});
       },
       ErrorCode::resource_exhausted, "spec.template.spec.volumes[0]: more than 1024 containers and image volumes"},
  };
  for (const Case& c : cases) {
    json object = base;
    c.mutate(object);
    auto w = decode_workload(object);
    ASSERT_FALSE(w.ok()) << c.name;
    EXPECT_EQ(w.error().code, c.code) << c.name;
    EXPECT_NE(w.error().message.find(c.message), std::string::npos) << c.name << ": " << w.error().message;
  }
  // Exactly the bound is fine; null lists are absent lists.
  json object = base;
  for (std::size_t i = 2; i < kMaxContainersPerObject; ++i) {
    object["spec"]["template"]["spec"]["initContainers"].push_back({{"name", "c"}, {"image", "x"}});
  }
  object["spec"]["template"]["spec"]["ephemeralContainers"] = nullptr;
  auto w = decode_workload(object);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->images.size(), kMaxContainersPerObject);
  // At the bound with an image volume, and volumes of other types past it: fine.
  object["spec"]["template"]["spec"]["initContainers"].erase(0);
  object["spec"]["template"]["spec"]["volumes"] = {image_volume("d", "registry.example/d:1"),
                                                   {{"name", "e"}, {"emptyDir", json::object()}}};
  w = decode_workload(object);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->images.size(), kMaxContainersPerObject);
  EXPECT_TRUE(w->images.back().is_volume());
  EXPECT_FALSE(decode_workload(json::array()).ok());
  EXPECT_FALSE(decode_workload(json("Deployment")).ok());
}

TEST(ExtractWorkload, RequestKindHint) {
  json pod = kubectl_pod("--image=nginx");
  pod.erase("kind");
  pod.erase("apiVersion");
  auto none = decode_workload(pod);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_pod_spec);
  auto hinted = decode_workload(pod, "Pod");
  ASSERT_TRUE(hinted.ok()) << hinted.error().message;
  EXPECT_EQ(images_of(*hinted, "containers"), std::vector<std::string>{"nginx"});
  // A request that says Pod but carries a Deployment is not trusted either way.
  auto mismatch = decode_workload(kubectl_json("create deployment d --image=nginx"), "Pod");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("request says Pod"), std::string::npos);
}

// ---- Conformance: every AdmissionReview sample, against admission/cases.json. ----------------------

std::map<std::string, std::vector<std::string>> expected_images(const json& images) {
  std::map<std::string, std::vector<std::string>> out;
  if (!images.is_object()) return out;
  for (const auto& [list, values] : images.items()) out[list] = values.get<std::vector<std::string>>();
  return out;
}

std::map<std::string, std::vector<std::string>> extracted_images(const Workload& w) {
  std::map<std::string, std::vector<std::string>> out;
  for (const ContainerImage& c : w.images) out[c.kind].push_back(c.image);
  return out;
}

TEST(ExtractWorkloadConformance, ConnaisseurAdmissionRequests) {
  const auto dir = testing::conformance_dir() / "admission";
  const json cases = json::parse(testing::read_file(dir / "cases.json"));
  int checked = 0;
  for (const json& c : cases.at("connaisseur")) {
    const std::string file = c.at("file");
    SCOPED_TRACE(file);
    const json review = json::parse(testing::read_file(dir / file), nullptr, false);
    ASSERT_FALSE(review.is_discarded());
    if (!review.is_object()) {  // 25_null_request: the body is `null`, rejected by the review codec
      EXPECT_TRUE(c.contains("body"));
      continue;
    }
    const json& request = review.at("request");
    if (!request.contains("object")) {  // 21/26: broken requests without kind or object
      EXPECT_TRUE(c.at("images").empty());
      continue;
    }
    const std::string kind = request.at("kind").at("kind");
    EXPECT_EQ(kind, c.at("kind"));
    auto w = decode_workload(request.at("object"), kind);
    if (file.find("12_err_pod") != std::string::npos) {
      // kind Pod, object {"msg": ...}: upstream decodes an empty workload; we refuse it (fail closed).
      ASSERT_FALSE(w.ok());
      EXPECT_EQ(w.error().code, ErrorCode::invalid_argument);
      EXPECT_TRUE(c.at("images").empty());
      continue;
    }
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_EQ(w->has_pod_spec, kind != "Role");
    EXPECT_EQ(extracted_images(*w), expected_images(c.at("images")));
    EXPECT_EQ(w->kind, kind);
    for (const ContainerImage& image : w->images) {
      EXPECT_EQ(request.at("object").at(json::json_pointer(to_json_pointer(image.json_path))), image.image);
    }
    // UPDATE: the old object has the images cases.json lists.
    if (c.at("old_images").is_object() && !c.at("old_images").empty()) {
      auto old = decode_workload(request.at("oldObject"), kind);
      ASSERT_TRUE(old.ok()) << old.error().message;
      EXPECT_EQ(extracted_images(*old), expected_images(c.at("old_images")));
    }
    ++checked;
  }
  EXPECT_GE(checked, 24);
}

TEST(ExtractWorkloadConformance, KubewardenBareRequests) {
  const auto dir = testing::conformance_dir() / "admission";
  const json cases = json::parse(testing::read_file(dir / "cases.json"));
  int checked = 0;
  for (const json& c : cases.at("kubewarden")) {
    const std::string file = c.at("file");
    SCOPED_TRACE(file);
    const json request = json::parse(testing::read_file(dir / file));
    const std::string kind = request.at("kind").at("kind");
    EXPECT_EQ(kind, c.at("kind"));
    // These objects carry no kind of their own: the request's kind says what they are.
    auto w = decode_workload(request.at("object"), kind);
    ASSERT_TRUE(w.ok()) << w.error().message;
    EXPECT_TRUE(w->has_pod_spec);
    EXPECT_EQ(extracted_images(*w), expected_images(c.at("images")));
    ++checked;
  }
  EXPECT_EQ(checked, 20);
}

}  // namespace
}  // namespace imagegate::webhook
