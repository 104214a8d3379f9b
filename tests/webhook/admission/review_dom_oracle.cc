// The DOM decoder imagegate used before the one-pass reader (webhook/admission/json_stream.h), kept only as
// the test oracle: see review_dom_oracle.h. Copied from webhook/admission/{admission_review,workload_decoder}.cc
// as they were; change it only to follow a deliberate change of the production decoder's rules.
#include "tests/webhook/admission/review_dom_oracle.h"

#include <array>
#include <string>
#include <string_view>

#include "common/json_bounded.h"
#include "common/json_check.h"

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

Result<policy::Workload> decode_workload_dom(const nlohmann::json& object, std::string_view request_kind) {
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


namespace {

constexpr std::string_view kApiVersionV1 = "admission.k8s.io/v1";
constexpr std::string_view kApiVersionV1beta1 = "admission.k8s.io/v1beta1";
// Kubernetes uids are UUIDs (36 bytes); the bound only keeps what we echo and log small.
constexpr std::size_t kMaxUidBytes = 256;

// A member that must be a string when present. Missing -> "" (callers decide whether that is allowed).
Result<std::string> optional_string(const nlohmann::json& object, std::string_view key, std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return invalid_argument(std::string(where) + "." + std::string(key) + " must be a string");
  return it->get<std::string>();
}

// A member that must be an object when present. Missing or null -> nullptr.
Result<const nlohmann::json*> optional_object(const nlohmann::json& object, std::string_view key,
                                              std::string_view where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return static_cast<const nlohmann::json*>(nullptr);
  if (!it->is_object()) return invalid_argument(std::string(where) + "." + std::string(key) + " must be an object");
  return &*it;
}

}  // namespace

// The fields follow admission.k8s.io/v1 AdmissionReview
// (https://github.com/kubernetes/api/blob/master/admission/v1/types.go); v1beta1 has the same schema.
Result<ParsedReview> parse_admission_review(std::string_view body) {
  if (body.size() > kMaxReviewBytes) {
    return resource_exhausted("AdmissionReview body of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                              std::to_string(kMaxReviewBytes));
  }
  auto parsed = parse_json_bounded(body, kReviewJsonLimits);
  if (!parsed) {
    // Too many values -> resource_exhausted (413, as a body over kMaxReviewBytes); not JSON, or nested too
    // deep -> invalid_argument (400, as docs/api.md has always said of depth). Scanned again only to tell.
    const auto violation = json_limit_violation(body, kReviewJsonLimits);
    const ErrorCode code = violation && violation->limit == JsonLimit::depth ? ErrorCode::invalid_argument
                                                                              : parsed.error().code;
    return Error{code, "AdmissionReview: " + parsed.error().message};
  }
  nlohmann::json& review = *parsed;
  if (!review.is_object()) {
    return invalid_argument(std::string("AdmissionReview must be a JSON object, not ") + review.type_name());
  }

  ParsedReview parsed_review;
  AdmissionRequest& request = parsed_review.request;
  const auto api_version = review.find("apiVersion");
  if (api_version == review.end() || !api_version->is_string()) {
    return invalid_argument("AdmissionReview: apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1");
  }
  const auto& api_version_text = api_version->get_ref<const std::string&>();
  if (api_version_text == kApiVersionV1) {
    request.version = ReviewVersion::v1;
  } else if (api_version_text == kApiVersionV1beta1) {
    request.version = ReviewVersion::v1beta1;
  } else {
    return invalid_argument("AdmissionReview: unsupported apiVersion " + api_version->dump(-1, ' ', false,
                            nlohmann::json::error_handler_t::replace) +
                            " (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)");
  }
  const auto kind = review.find("kind");
  if (kind == review.end() || !kind->is_string() || kind->get_ref<const std::string&>() != "AdmissionReview") {
    return invalid_argument("AdmissionReview: kind must be AdmissionReview");
  }
  const auto req_it = review.find("request");
  if (req_it == review.end() || !req_it->is_object()) {
    return invalid_argument("AdmissionReview: request must be an object");
  }
  nlohmann::json& req = *req_it;

  const auto uid = req.find("uid");
  if (uid == req.end() || !uid->is_string() || uid->get_ref<const std::string&>().empty()) {
    return invalid_argument("AdmissionReview: request.uid must be a non-empty string");
  }
  request.uid = uid->get<std::string>();
  if (request.uid.size() > kMaxUidBytes) {
    return invalid_argument("AdmissionReview: request.uid longer than " + std::to_string(kMaxUidBytes) + " bytes");
  }

  auto operation = optional_string(req, "operation", "request");
  if (!operation) return operation.error();
  request.operation = std::move(*operation);
  if (request.operation != "CREATE" && request.operation != "UPDATE" && request.operation != "DELETE" &&
      request.operation != "CONNECT") {
    return invalid_argument("AdmissionReview: request.operation must be CREATE, UPDATE, DELETE or CONNECT");
  }

  auto kind_object = optional_object(req, "kind", "request");
  if (!kind_object) return kind_object.error();
  if (*kind_object != nullptr) {
    auto k = optional_string(**kind_object, "kind", "request.kind");
    if (!k) return k.error();
    request.kind = std::move(*k);
    auto g = optional_string(**kind_object, "group", "request.kind");
    if (!g) return g.error();
    request.group = std::move(*g);
  }
  auto resource_object = optional_object(req, "resource", "request");
  if (!resource_object) return resource_object.error();
  if (*resource_object != nullptr) {
    auto r = optional_string(**resource_object, "resource", "request.resource");
    if (!r) return r.error();
    request.resource = std::move(*r);
  }
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"subResource", &request.sub_resource},
                            {"name", &request.name},
                            {"namespace", &request.namespace_name}}) {
    auto value = optional_string(req, key, "request");
    if (!value) return value.error();
    *field = std::move(*value);
  }
  auto user_info = optional_object(req, "userInfo", "request");
  if (!user_info) return user_info.error();
  if (*user_info != nullptr) {
    auto user = optional_string(**user_info, "username", "request.userInfo");
    if (!user) return user.error();
    request.user = std::move(*user);
  }
  if (const auto dry_run = req.find("dryRun"); dry_run != req.end() && !dry_run->is_null()) {
    if (!dry_run->is_boolean()) return invalid_argument("AdmissionReview: request.dryRun must be a boolean");
    request.dry_run = dry_run->get<bool>();
  }

  // Moved, not copied: the review's DOM is at most kReviewJsonLimits.memory_bound(), and a copy would double it.
  nlohmann::json& object = parsed_review.object;
  if (const auto found = req.find("object"); found != req.end()) object = std::move(*found);
  request.has_object = object.is_object();
  // CREATE and UPDATE always carry the object being admitted; without it the review is malformed (there is
  // nothing to check, and answering "allowed" would let a broken client through).
  if ((request.operation == "CREATE" || request.operation == "UPDATE") && !request.has_object) {
    return invalid_argument("AdmissionReview: request.object must be an object for " + request.operation);
  }
  return parsed_review;
}

Result<AdmissionRequest> decode_admission_review_dom(std::string_view body) {
  auto parsed = parse_admission_review(body);
  if (!parsed) return parsed.error();
  AdmissionRequest& request = parsed->request;
  // The workload is read here, once, for every listener and the CLI; its DOM is freed on return. A
  // malformed pod spec is not a malformed review: the flow denies it (fail closed) with this error.
  if (request.has_object) request.workload = decode_workload_dom(parsed->object, request.kind);
  return std::move(request);
}

}  // namespace imagegate::webhook

namespace imagegate::webhook {
namespace {

std::optional<std::string> error_difference(const Error& got, const Error& want) {
  if (got.code == want.code && got.message == want.message) return std::nullopt;
  return "error " + std::string(to_string(got.code)) + " \"" + got.message + "\" != " +
         std::string(to_string(want.code)) + " \"" + want.message + "\"";
}

std::string describe(const policy::ContainerImage& c) {
  return c.kind + "|" + c.json_path + "|" + c.name + "|" + c.image;
}

}  // namespace

std::optional<std::string> workload_difference(const Result<policy::Workload>& got,
                                               const Result<policy::Workload>& want) {
  if (got.ok() != want.ok()) {
    return std::string("workload: ") + (got.ok() ? "decoded" : "refused (" + got.error().message + ")") + " != " +
           (want.ok() ? "decoded" : "refused (" + want.error().message + ")");
  }
  if (!got.ok()) {
    auto d = error_difference(got.error(), want.error());
    return d ? std::optional<std::string>("workload " + *d) : std::nullopt;
  }
  const policy::Workload& g = *got;
  const policy::Workload& w = *want;
  if (g.api_version != w.api_version || g.kind != w.kind || g.name != w.name || g.namespace_name != w.namespace_name ||
      g.has_pod_spec != w.has_pod_spec) {
    return "workload header: " + g.api_version + "/" + g.kind + " " + g.namespace_name + "/" + g.name +
           (g.has_pod_spec ? " pod" : "") + " != " + w.api_version + "/" + w.kind + " " + w.namespace_name + "/" +
           w.name + (w.has_pod_spec ? " pod" : "");
  }
  if (g.images.size() != w.images.size()) {
    return "images: " + std::to_string(g.images.size()) + " != " + std::to_string(w.images.size());
  }
  for (std::size_t i = 0; i < g.images.size(); ++i) {
    if (describe(g.images[i]) != describe(w.images[i])) {
      return "image " + std::to_string(i) + ": " + describe(g.images[i]) + " != " + describe(w.images[i]);
    }
  }
  return std::nullopt;
}

std::optional<std::string> review_difference(const Result<AdmissionRequest>& got, const Result<AdmissionRequest>& want) {
  if (got.ok() != want.ok()) {
    return std::string("review: ") + (got.ok() ? "decoded" : "refused (" + got.error().message + ")") + " != " +
           (want.ok() ? "decoded" : "refused (" + want.error().message + ")");
  }
  if (!got.ok()) return error_difference(got.error(), want.error());
  const AdmissionRequest& g = *got;
  const AdmissionRequest& w = *want;
  const auto fields = [](const AdmissionRequest& r) {
    return std::string(r.version == ReviewVersion::v1 ? "v1" : "v1beta1") + "|" + r.uid + "|" + r.kind + "|" +
           r.group + "|" + r.resource + "|" + r.sub_resource + "|" + r.name + "|" + r.namespace_name + "|" +
           r.operation + "|" + r.user + "|" + (r.dry_run ? "dry" : "wet") + "|" + (r.has_object ? "object" : "none");
  };
  if (fields(g) != fields(w)) return "request: " + fields(g) + " != " + fields(w);
  return workload_difference(g.workload, w.workload);
}

std::optional<std::string> differential(std::string_view body) {
  return review_difference(decode_admission_review(body), decode_admission_review_dom(body));
}

}  // namespace imagegate::webhook
