#include "webhook/admission/workload_decoder.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>

#include "webhook/admission/json_stream.h"
#include "webhook/admission/workload_reader.h"

namespace imagegate::webhook {
namespace {

using json_stream::error_code;
using json_stream::Held;
namespace od = json_stream::od;
using json_stream::Scalar;

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

// The object is read in one pass, but the checks run afterwards in the order the rules are listed in
// workload_decoder.h (the first failing one is the error), so what is read is kept as "what the key held".

// One container, or one volume, as read. `image` is a container's `image` or an image volume's
// `image.reference`; `source` a volume's `image` member.
struct EntryRead {
  std::size_t index = 0;
  bool is_object = false;
  Scalar name;
  Held source = Held::absent;
  Scalar image;
};

bool name_ok(const EntryRead& e) noexcept {
  return e.name.held == Held::absent || e.name.held == Held::null || e.name.is_string();
}
bool image_ok(const EntryRead& e) noexcept { return e.image.is_string() && !e.image.text.empty(); }
bool is_image_volume(const EntryRead& e) noexcept { return e.source != Held::absent && e.source != Held::null; }

// A list of the pod spec. Entries are kept up to the first the checks refuse, and at most
// kMaxContainersPerObject + 1 that hold an image (the bound refuses the object before the next); a volume
// that is not an image volume is kept only when refused (not an object).
struct ListRead {
  Held held = Held::absent;
  boost::container::small_vector<EntryRead, 4> entries;
  std::size_t images = 0;
  bool full = false;
};

enum ListId : std::size_t { kContainers, kInitContainers, kEphemeralContainers, kVolumes, kListCount };
constexpr std::array<const char*, kListCount> kListNames{"containers", "initContainers", "ephemeralContainers",
                                                         "volumes"};

// The path from the object root to the pod spec, as read: `level` is the first key of the path that is
// not an object (`held` says what it was), or path_length when the pod spec was reached.
struct SpecRead {
  std::size_t level = 0;
  Held held = Held::absent;
  std::array<ListRead, kListCount> lists;
};

error_code read_entry(od::value value, bool volume, EntryRead& entry) {
  Held held = Held::absent;
  if (error_code e = json_stream::held_of(value, held)) return e;
  if (held != Held::object) return json_stream::skip(value);
  entry.is_object = true;
  od::object object;
  if (error_code e = value.get_object().get(object)) return e;
  return json_stream::for_each_member(object, [&](std::string_view key, od::value& member) -> error_code {
    if (key == "name") return json_stream::read_scalar(member, entry.name);
    if (key != "image") return json_stream::skip(member);
    if (!volume) return json_stream::read_scalar(member, entry.image);
    entry.image = Scalar{};
    if (error_code e = json_stream::held_of(member, entry.source)) return e;
    if (entry.source != Held::object) return json_stream::skip(member);
    od::object source;
    if (error_code e = member.get_object().get(source)) return e;
    return json_stream::for_each_member(source, [&](std::string_view k, od::value& v) -> error_code {
      return k == "reference" ? json_stream::read_scalar(v, entry.image) : json_stream::skip(v);
    });
  });
}

error_code read_list(od::value value, bool volume, ListRead& list) {
  list = ListRead{};
  if (error_code e = json_stream::held_of(value, list.held)) return e;
  if (list.held != Held::array) return json_stream::skip(value);
  od::array array;
  if (error_code e = value.get_array().get(array)) return e;
  std::size_t index = 0;
  for (auto element : array) {
    od::value item;
    if (error_code e = std::move(element).get(item)) return e;
    EntryRead entry;
    entry.index = index++;
    if (error_code e = read_entry(item, volume, entry)) return e;
    if (list.full) continue;
    // As take_containers / take_image_volumes will see it: counted against the bound, or refused.
    const bool counted = !volume || (entry.is_object && is_image_volume(entry));
    const bool refused = !entry.is_object || (counted && (!name_ok(entry) || !image_ok(entry) ||
                                                          (volume && entry.source != Held::object)));
    if (!counted && !refused) continue;
    list.images += counted ? 1 : 0;
    list.full = refused || list.images > policy::kMaxContainersPerObject;
    list.entries.push_back(std::move(entry));
  }
  return simdjson::SUCCESS;
}

error_code read_pod_spec(od::object& pod_spec, SpecRead& out) {
  return json_stream::for_each_member(pod_spec, [&](std::string_view key, od::value& value) -> error_code {
    for (std::size_t id = 0; id < kListCount; ++id) {
      if (key == kListNames[id]) return read_list(value, id == kVolumes, out.lists[id]);
    }
    return json_stream::skip(value);
  });
}

// `value` is the member named info.pod_spec_path[level]; a later duplicate of it overwrites `out`.
error_code read_spec_level(od::value value, const KindInfo& info, std::size_t level, SpecRead& out) {
  out = SpecRead{level, Held::absent, {}};
  if (error_code e = json_stream::held_of(value, out.held)) return e;
  if (out.held != Held::object) return json_stream::skip(value);
  od::object object;
  if (error_code e = value.get_object().get(object)) return e;
  const std::size_t next = level + 1;
  if (next == info.path_length) {
    out.level = next;
    return read_pod_spec(object, out);
  }
  out = SpecRead{next, Held::absent, {}};
  return json_stream::for_each_member(object, [&](std::string_view key, od::value& member) -> error_code {
    if (key == info.pod_spec_path[next]) return read_spec_level(member, info, next, out);
    return json_stream::skip(member);
  });
}

// The room check: the bound on images per object, checked before each one is added.
Status check_room(const policy::Workload& out, const std::string& entry_path, const char* counted) {
  if (out.images.size() < policy::kMaxContainersPerObject) return Ok{};
  return resource_exhausted(entry_path + ": more than " + std::to_string(policy::kMaxContainersPerObject) + " " +
                            counted + " in one object");
}

// The optional `name` of a container or volume, and its image (at image.json_path), which must be
// present, a string and not empty: skipping it would admit an image nobody checked.
Status take_entry(const EntryRead& entry, const std::string& entry_path, const char* missing,
                  policy::ContainerImage& image) {
  if (!name_ok(entry)) return invalid_argument(entry_path + ".name: must be a string");
  image.name = std::string(entry.name.string_or_empty());
  if (entry.image.held == Held::absent || entry.image.held == Held::null) {
    return invalid_argument(image.json_path + ": required (" + missing + ")");
  }
  if (!entry.image.is_string()) return invalid_argument(image.json_path + ": must be a string");
  if (entry.image.text.empty()) return invalid_argument(image.json_path + ": must not be empty");
  image.image = std::string(entry.image.text);
  return Ok{};
}

// containers / initContainers / ephemeralContainers: absent or null is an empty list (only `containers`
// is required, checked by the caller); anything else that is not a list of objects with a string
// `image` is an error.
Status take_containers(const ListRead& list, const std::string& spec_path, const char* list_name,
                       policy::Workload& out) {
  if (list.held == Held::absent || list.held == Held::null) return Ok{};
  const std::string list_path = spec_path + "." + list_name;
  if (list.held != Held::array) return invalid_argument(list_path + ": must be a list of containers");
  for (const EntryRead& entry : list.entries) {
    const std::string container_path = list_path + "[" + std::to_string(entry.index) + "]";
    if (Status s = check_room(out, container_path, "containers"); !s) return s;
    if (!entry.is_object) return invalid_argument(container_path + ": must be a container object");
    policy::ContainerImage image;
    image.kind = list_name;
    image.json_path = container_path + ".image";
    if (Status s = take_entry(entry, container_path, "a container without an image", image); !s) return s;
    out.images.push_back(std::move(image));
  }
  return Ok{};
}

// The image volumes (`volumes[].image.reference`, https://kubernetes.io/docs/concepts/storage/volumes/#image):
// the kubelet pulls the reference exactly like a container image, so it is checked like one. Volumes of
// other types are skipped. An `image` volume without a string `reference` is an error: the API server
// refuses it in a Pod (it lets a pod template leave it for later tooling to fill in, but an unnamed image
// is not one we can vouch for).
Status take_image_volumes(const ListRead& list, const std::string& spec_path, policy::Workload& out) {
  if (list.held == Held::absent || list.held == Held::null) return Ok{};
  const std::string list_path = spec_path + "." + std::string(policy::kImageVolumes);
  if (list.held != Held::array) return invalid_argument(list_path + ": must be a list of volumes");
  for (const EntryRead& entry : list.entries) {
    const std::string volume_path = list_path + "[" + std::to_string(entry.index) + "]";
    if (!entry.is_object) return invalid_argument(volume_path + ": must be a volume object");
    if (Status s = check_room(out, volume_path, "containers and image volumes"); !s) return s;
    if (entry.source != Held::object) return invalid_argument(volume_path + ".image: must be an object");
    policy::ContainerImage image;
    image.kind = policy::kImageVolumes;
    image.json_path = volume_path + ".image.reference";
    if (Status s = take_entry(entry, volume_path, "an image volume without a reference", image); !s) return s;
    out.images.push_back(std::move(image));
  }
  return Ok{};
}

// What the object's root held. First pass: apiVersion and kind (the pod spec's path depends on them);
// second pass: metadata and the first key of that path.
struct ObjectRead {
  Scalar api_version;
  Scalar kind;
  Held metadata = Held::absent;
  Scalar name, generate_name, namespace_name;
  bool spec_wanted = false;
  SpecRead spec;
};

enum MemberClass : std::uint8_t { kOther, kTaken, kMetadata, kSpec, kTemplate };

error_code read_metadata(od::value value, ObjectRead& read) {
  read.name = read.generate_name = read.namespace_name = Scalar{};
  if (error_code e = json_stream::held_of(value, read.metadata)) return e;
  if (read.metadata != Held::object) return json_stream::skip(value);
  od::object object;
  if (error_code e = value.get_object().get(object)) return e;
  return json_stream::for_each_member(object, [&](std::string_view key, od::value& member) -> error_code {
    if (key == "name") return json_stream::read_scalar(member, read.name);
    if (key == "generateName") return json_stream::read_scalar(member, read.generate_name);
    if (key == "namespace") return json_stream::read_scalar(member, read.namespace_name);
    return json_stream::skip(member);
  });
}

// The checks, in the documented order, on what was read.
Result<policy::Workload> decide(const ObjectRead& read, const KindInfo* info, std::string_view request_kind) {
  policy::Workload out;
  out.api_version = std::string(read.api_version.string_or_empty());
  out.kind = std::string(read.kind.string_or_empty());
  if (read.kind.held != Held::absent && !read.kind.is_string()) return invalid_argument("kind: must be a string");
  if (out.kind.empty()) {
    out.kind = std::string(request_kind);
  } else if (!request_kind.empty() && out.kind != request_kind) {
    return invalid_argument("kind: object is a " + out.kind + " but the request says " + std::string(request_kind));
  }
  if (read.metadata != Held::absent) {
    if (read.metadata != Held::object) return invalid_argument("metadata: must be an object");
    out.name = std::string(read.name.string_or_empty());
    if (out.name.empty()) out.name = std::string(read.generate_name.string_or_empty());
    out.namespace_name = std::string(read.namespace_name.string_or_empty());
  }
  if (info == nullptr) return out;  // not a pod-spec kind: nothing to check
  out.has_pod_spec = true;

  std::string path;
  for (std::size_t i = 0; i < info->path_length; ++i) {
    if (!path.empty()) path += '.';
    path += info->pod_spec_path[i];
    if (i < read.spec.level) continue;
    if (read.spec.held == Held::absent || read.spec.held == Held::null) {
      return invalid_argument(path + ": required for a " + out.kind);
    }
    return invalid_argument(path + ": must be an object");
  }
  // Kubernetes requires at least the `containers` key in every pod spec; its absence means this is not
  // the object it claims to be.
  const Held containers = read.spec.lists[kContainers].held;
  if (containers == Held::absent || containers == Held::null) return invalid_argument(path + ".containers: required");
  for (std::size_t id : {kContainers, kInitContainers, kEphemeralContainers}) {
    if (Status s = take_containers(read.spec.lists[id], path, kListNames[id], out); !s) return s.error();
  }
  if (Status s = take_image_volumes(read.spec.lists[kVolumes], path, out); !s) return s.error();
  return out;
}

// The pod-spec kind the object is, when its kind checks pass (decide() refuses it otherwise).
const KindInfo* kind_of(const ObjectRead& read, std::string_view request_kind) {
  if (read.kind.held != Held::absent && !read.kind.is_string()) return nullptr;
  std::string_view kind = read.kind.string_or_empty();
  if (kind.empty()) {
    kind = request_kind;
  } else if (!request_kind.empty() && kind != request_kind) {
    return nullptr;
  }
  return find_kind(kind, read.api_version.string_or_empty());
}

Error not_an_object(Held) { return invalid_argument("object: must be a JSON object"); }

struct TextContext {
  std::string_view request_kind;
  Result<policy::Workload>* out;
};

}  // namespace

error_code read_workload(od::object& object, std::string_view request_kind, Result<policy::Workload>& out) {
  ObjectRead read;
  boost::container::small_vector<std::uint8_t, 16> classes;
  error_code e = json_stream::for_each_member(object, [&](std::string_view key, od::value& value) -> error_code {
    MemberClass c = kOther;
    if (key == "apiVersion" || key == "kind") {
      c = kTaken;
      if (error_code err = json_stream::read_scalar(value, key == "kind" ? read.kind : read.api_version)) return err;
    } else if (key == "metadata") {
      c = kMetadata;
    } else if (key == "spec") {
      c = kSpec;
    } else if (key == "template") {
      c = kTemplate;
    }
    classes.push_back(c);
    return simdjson::SUCCESS;
  });
  if (e) return e;
  const KindInfo* info = kind_of(read, request_kind);
  const MemberClass first = info == nullptr ? kOther : info->pod_spec_path[0] == "spec" ? kSpec : kTemplate;
  if (info != nullptr) read.spec = SpecRead{0, Held::absent, {}};
  e = json_stream::for_each_value(object, [&](std::size_t index, od::value& value) -> error_code {
    switch (classes[index]) {
      case kTaken:
        return simdjson::SUCCESS;  // read (and checked) by the first pass
      case kMetadata:
        return read_metadata(value, read);
      default:
        if (info != nullptr && classes[index] == first) return read_spec_level(value, *info, 0, read.spec);
        return json_stream::skip(value);
    }
  });
  if (e) return e;
  out = decide(read, info, request_kind);
  return simdjson::SUCCESS;
}

Result<policy::Workload> decode_workload_json(std::string_view object_text, std::string_view request_kind,
                                              std::size_t readable_after) {
  Result<policy::Workload> out = policy::Workload{};
  TextContext context{request_kind, &out};
  // The text is not bounded here (see the header): the limits only word a refusal.
  constexpr JsonLimits kUnbounded{std::numeric_limits<std::size_t>::max(), std::numeric_limits<int>::max(),
                                  std::numeric_limits<std::size_t>::max()};
  Status read = json_stream::read_document(
      object_text, readable_after, kUnbounded, "", not_an_object,
      [](od::object& root, void* c) -> error_code {
        auto* ctx = static_cast<TextContext*>(c);
        return read_workload(root, ctx->request_kind, *ctx->out);
      },
      &context);
  if (!read) return read.error();
  return out;
}

Result<policy::Workload> decode_workload(const nlohmann::json& object, std::string_view request_kind) {
  if (!object.is_object()) return invalid_argument("object: must be a JSON object");
  // Through the text, so the CLI's objects and the server's reviews go through the same reader. A string
  // that is not UTF-8 cannot be JSON text: it is replaced (U+FFFD), never passed on as raw bytes.
  const std::string text = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return decode_workload_json(text, request_kind, text.capacity() - text.size());
}

}  // namespace imagegate::webhook
