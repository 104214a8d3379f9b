#include "webhook/admission/workload_decoder.h"

#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace imagegate::webhook {
namespace {

// Where each kind keeps its pod spec, and the apiVersions Kubernetes serves it under. Only these groups
// count: a custom resource named `Job` in group example.com has its own schema, and reading it as a pod
// template would turn its unrelated fields into errors (or worse, into images).
struct KindInfo {
  std::string_view kind;
  std::array<std::string_view, 5> pod_spec_path;  // keys from the object root to the pod spec
  std::size_t path_length;
  std::array<std::string_view, 4> api_versions;   // "" entries are unused
};

constexpr std::array<std::string_view, 4> kCore{"v1", "", "", ""};
constexpr std::array<std::string_view, 4> kApps{"apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"};
constexpr std::array<std::string_view, 4> kBatch{"batch/v1", "batch/v1beta1", "batch/v2alpha1", ""};

constexpr std::array<KindInfo, 9> kKinds{{
    {"Pod", {"spec"}, 1, kCore},
    {"PodTemplate", {"template", "spec"}, 2, kCore},
    {"ReplicationController", {"spec", "template", "spec"}, 3, kCore},
    {"Deployment", {"spec", "template", "spec"}, 3, kApps},
    {"ReplicaSet", {"spec", "template", "spec"}, 3, kApps},
    {"StatefulSet", {"spec", "template", "spec"}, 3, kApps},
    {"DaemonSet", {"spec", "template", "spec"}, 3, kApps},
    {"Job", {"spec", "template", "spec"}, 3, kBatch},
    {"CronJob", {"spec", "jobTemplate", "spec", "template", "spec"}, 5, kBatch},
}};

const KindInfo* find_kind(std::string_view kind, std::string_view api_version) {
  for (const KindInfo& info : kKinds) {
    if (info.kind != kind) continue;
    if (api_version.empty()) return &info;
    for (std::string_view v : info.api_versions) {
      if (!v.empty() && v == api_version) return &info;
    }
    return nullptr;
  }
  return nullptr;
}

// A string member of a JSON object, or "" when absent or not a string.
std::string string_member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The bound on images per object, checked before each one is added.
Status check_room(const policy::Workload& out, const std::string& entry_path, const char* counted) {
  if (out.images.size() < policy::kMaxContainersPerObject) return Ok{};
  return resource_exhausted(entry_path + ": more than " + std::to_string(policy::kMaxContainersPerObject) + " " + counted +
                            " in one object");
}

// The optional `name` of a container or volume, and the image string `holder[key]` (at image.json_path),
// which must be present, a string and not empty: skipping it would admit an image nobody checked.
Status read_entry(const nlohmann::json& entry, const std::string& entry_path, const nlohmann::json& holder,
                  const char* key, const char* missing, policy::ContainerImage& image) {
  auto name = entry.find("name");
  if (name != entry.end() && !name->is_null()) {
    if (!name->is_string()) return invalid_argument(entry_path + ".name: must be a string");
    image.name = name->get<std::string>();
  }
  auto value = holder.find(key);
  if (value == holder.end() || value->is_null()) {
    return invalid_argument(image.json_path + ": required (" + missing + ")");
  }
  if (!value->is_string()) return invalid_argument(image.json_path + ": must be a string");
  image.image = value->get<std::string>();
  if (image.image.empty()) return invalid_argument(image.json_path + ": must not be empty");
  return Ok{};
}

// Reads one of containers / initContainers / ephemeralContainers. Absent or null is an empty list
// (only `containers` is required, checked by the caller); anything else that is not a list of objects
// with a string `image` is an error.
Status read_containers(const nlohmann::json& pod_spec, const std::string& spec_path, const char* list_name,
                       policy::Workload& out) {
  if (!pod_spec.contains(list_name)) return Ok{};
  const nlohmann::json& list = pod_spec[list_name];
  if (list.is_null()) return Ok{};
  const std::string list_path = spec_path + "." + list_name;
  if (!list.is_array()) return invalid_argument(list_path + ": must be a list of containers");
  for (std::size_t index = 0; index < list.size(); ++index) {
    const nlohmann::json& container = list[index];
    const std::string container_path = list_path + "[" + std::to_string(index) + "]";
    if (Status s = check_room(out, container_path, "containers"); !s) return s;
    if (!container.is_object()) return invalid_argument(container_path + ": must be a container object");
    policy::ContainerImage image;
    image.kind = list_name;
    image.json_path = container_path + ".image";
    if (Status s = read_entry(container, container_path, container, "image", "a container without an image", image);
        !s) {
      return s;
    }
    out.images.push_back(std::move(image));
  }
  return Ok{};
}

// Reads the image volumes (`volumes[].image.reference`,
// https://kubernetes.io/docs/concepts/storage/volumes/#image): the kubelet pulls the reference exactly like
// a container image, so it is checked like one. Volumes of other types are skipped. An `image` volume
// without a string `reference` is an error: the API server refuses it in a Pod (it lets a pod template
// leave it for later tooling to fill in, but an unnamed image is not one we can vouch for).
Status read_image_volumes(const nlohmann::json& pod_spec, const std::string& spec_path, policy::Workload& out) {
  auto list = pod_spec.find(std::string(policy::kImageVolumes));
  if (list == pod_spec.end() || list->is_null()) return Ok{};
  const std::string list_path = spec_path + "." + std::string(policy::kImageVolumes);
  if (!list->is_array()) return invalid_argument(list_path + ": must be a list of volumes");
  for (std::size_t index = 0; index < list->size(); ++index) {
    const nlohmann::json& volume = (*list)[index];
    const std::string volume_path = list_path + "[" + std::to_string(index) + "]";
    if (!volume.is_object()) return invalid_argument(volume_path + ": must be a volume object");
    auto source = volume.find("image");
    if (source == volume.end() || source->is_null()) continue;  // not an image volume
    if (Status s = check_room(out, volume_path, "containers and image volumes"); !s) return s;
    if (!source->is_object()) return invalid_argument(volume_path + ".image: must be an object");
    policy::ContainerImage image;
    image.kind = policy::kImageVolumes;
    image.json_path = volume_path + ".image.reference";
    if (Status s = read_entry(volume, volume_path, *source, "reference", "an image volume without a reference", image);
        !s) {
      return s;
    }
    out.images.push_back(std::move(image));
  }
  return Ok{};
}

}  // namespace

Result<policy::Workload> decode_workload(const nlohmann::json& object, std::string_view request_kind) {
  if (!object.is_object()) return invalid_argument("object: must be a JSON object");
  policy::Workload out;
  out.api_version = string_member(object, "apiVersion");
  out.kind = string_member(object, "kind");
  if (auto it = object.find("kind"); it != object.end() && !it->is_string()) {
    return invalid_argument("kind: must be a string");
  }
  if (out.kind.empty()) {
    out.kind = std::string(request_kind);
  } else if (!request_kind.empty() && out.kind != request_kind) {
    return invalid_argument("kind: object is a " + out.kind + " but the request says " +
                            std::string(request_kind));
  }
  if (auto it = object.find("metadata"); it != object.end()) {
    if (!it->is_object()) return invalid_argument("metadata: must be an object");
    out.name = string_member(*it, "name");
    if (out.name.empty()) out.name = string_member(*it, "generateName");
    out.namespace_name = string_member(*it, "namespace");
  }

  const KindInfo* info = find_kind(out.kind, out.api_version);
  if (info == nullptr) return out;  // not a pod-spec kind: nothing to check
  out.has_pod_spec = true;

  const nlohmann::json* node = &object;
  std::string path;
  auto descend = [&](std::string_view key) -> Status {
    const std::string next = path.empty() ? std::string(key) : path + "." + std::string(key);
    auto it = node->find(std::string(key));
    if (it == node->end() || it->is_null()) return invalid_argument(next + ": required for a " + out.kind);
    if (!it->is_object()) return invalid_argument(next + ": must be an object");
    node = &*it;
    path = next;
    return Ok{};
  };
  for (std::size_t i = 0; i < info->path_length; ++i) {
    if (Status s = descend(info->pod_spec_path[i]); !s) return s.error();
  }

  // Kubernetes requires at least the `containers` key in every pod spec; its absence means this is not
  // the object it claims to be.
  if (auto it = node->find("containers"); it == node->end() || it->is_null()) {
    return invalid_argument(path + ".containers: required");
  }
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    if (Status s = read_containers(*node, path, list, out); !s) return s.error();
  }
  if (Status s = read_image_volumes(*node, path, out); !s) return s.error();
  return out;
}

}  // namespace imagegate::webhook
