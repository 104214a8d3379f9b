// Workload image extraction: every container image of a Kubernetes object that carries a pod spec, with
// its JSON path. Pure JSON processing, shared by the server and the CLI.
//
// Kinds: Pod (spec), Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController
// (spec.template.spec), CronJob (spec.jobTemplate.spec.template.spec), PodTemplate (template.spec).
// In each pod spec: containers, initContainers, ephemeralContainers, and image volumes
// (volumes[].image.reference, Kubernetes 1.31+): every image the kubelet pulls for the pod. Other kinds
// carry no images: they yield a Workload with has_pod_spec == false, and are allowed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace imagegate::policy {

// Images per object: containers of every list and image volumes together.
inline constexpr std::size_t kMaxContainersPerObject = 1024;

// ContainerImage::kind of an image volume: the pod spec list it comes from, as for containers.
inline constexpr std::string_view kImageVolumes = "volumes";

// One image the kubelet pulls for a pod: a container's `image`, or an image volume's `image.reference`.
struct ContainerImage {
  std::string name;       // container name, or volume name
  std::string kind;       // "containers", "initContainers", "ephemeralContainers" or "volumes"
  std::string json_path;  // spec.template.spec.initContainers[0].image, spec.volumes[0].image.reference
  std::string image;      // as written

  bool is_volume() const noexcept { return kind == kImageVolumes; }
};

// How answers and logs name the image's owner: the container's name (`fallback` when it has none), or
// `volume "NAME"` for an image volume, so that a message never calls a volume a container.
std::string owner_label(const ContainerImage& image, std::string_view fallback);

struct Workload {
  std::string api_version;
  std::string kind;
  std::string name;       // metadata.name (or generateName)
  std::string namespace_name;
  bool has_pod_spec = false;
  std::vector<ContainerImage> images;
};

// Errors: invalid_argument for a known workload kind whose pod spec is malformed (a container without a
// string `image`, containers not a list, an image volume without a string `reference`);
// resource_exhausted beyond kMaxContainersPerObject images.
//
// Kinds are recognised by the object's `kind`, and only in their Kubernetes API groups (Pod in "v1",
// Deployment in apps/v1, extensions/v1beta1, ...): a custom resource that happens to be called `Job` in
// another group is not a pod-spec kind. An object without `apiVersion` is taken by kind alone.
Result<Workload> extract_workload(const nlohmann::json& object);
// The same, for an AdmissionRequest whose `object` may lack `kind`/`apiVersion` (bare requests as kwctl
// feeds them): `request_kind` (request.kind.kind) is used when the object has no `kind`; when both are
// present and differ, that is an invalid_argument error. A known kind with no pod spec at all (e.g. a
// Pod object without `spec`) is an invalid_argument error, never an empty allow.
Result<Workload> extract_workload(const nlohmann::json& object, std::string_view request_kind);

// "spec.template.spec.containers[0].image" -> "/spec/template/spec/containers/0/image" (RFC 6901).
std::string to_json_pointer(const std::string& json_path);

}  // namespace imagegate::policy
