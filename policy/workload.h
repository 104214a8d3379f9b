// The typed review model: the Workload under review, every image the kubelet pulls for it, each with the
// JSON path /mutate patches. No JSON here: webhook/admission/workload_decoder.h is the one decoder that
// fills a Workload from a Kubernetes object, for the server and the CLI alike.
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

namespace imagegate::policy {

// Images per object: containers of every list and image volumes together (the decoder refuses more).
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

// "spec.template.spec.containers[0].image" -> "/spec/template/spec/containers/0/image" (RFC 6901).
std::string to_json_pointer(const std::string& json_path);

}  // namespace imagegate::policy
