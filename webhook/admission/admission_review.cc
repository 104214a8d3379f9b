#include "webhook/admission/admission_review.h"

#include <array>
#include <cstdint>
#include <string>

#include <boost/container/small_vector.hpp>

#include "common/json_bounded.h"
#include "common/json_check.h"
#include "common/text.h"
#include "webhook/admission/json_stream.h"
#include "webhook/admission/workload_reader.h"

namespace imagegate::webhook {
namespace {

using json_stream::error_code;
using json_stream::Held;
namespace od = json_stream::od;
using json_stream::Scalar;

constexpr std::string_view kApiVersionV1 = "admission.k8s.io/v1";
constexpr std::string_view kApiVersionV1beta1 = "admission.k8s.io/v1beta1";
// Kubernetes uids are UUIDs (36 bytes); the bound only keeps what we echo and log small.
constexpr std::size_t kMaxUidBytes = 256;

// The review is read in one pass; the checks run afterwards in the order below (the first failing one is
// the error), on what each key held. Duplicate keys: the last wins (a later occurrence overwrites).

// A member that must be an object when present, and the string members read from it.
struct MemberObject {
  Held held = Held::absent;
  Scalar first, second;
};

struct RequestRead {
  Scalar uid, operation, sub_resource, name, namespace_name, dry_run;
  MemberObject kind;       // kind, group
  MemberObject resource;   // resource
  MemberObject user_info;  // username
  Held object = Held::absent;
  Result<policy::Workload> workload = policy::Workload{};
};

struct ReviewRead {
  Scalar api_version, kind;
  Held request = Held::absent;
  RequestRead req;
  Result<AdmissionRequest> decoded = AdmissionRequest{};  // the checks' verdict, taken while the strings live
};

error_code read_member_object(od::value value, MemberObject& out, std::string_view first,
                              std::string_view second) {
  out = MemberObject{};
  if (error_code e = json_stream::held_of(value, out.held)) return e;
  if (out.held != Held::object) return json_stream::skip(value);
  od::object object;
  if (error_code e = value.get_object().get(object)) return e;
  return json_stream::for_each_member(object, [&](std::string_view key, od::value& member) -> error_code {
    if (key == first) return json_stream::read_scalar(member, out.first);
    if (!second.empty() && key == second) return json_stream::read_scalar(member, out.second);
    return json_stream::skip(member);
  });
}

// request.object needs request.kind.kind, which may come after it: the first pass reads every member but
// `object`, the second only `object` (each value is consumed once: json_stream.h).
error_code read_request(od::object& req, RequestRead& out) {
  boost::container::small_vector<bool, 16> is_object_member;
  bool any_object = false;
  error_code e = json_stream::for_each_member(req, [&](std::string_view key, od::value& value) -> error_code {
    is_object_member.push_back(key == "object");
    if (key == "object") {
      any_object = true;
      return simdjson::SUCCESS;
    }
    for (auto [name, field] : {std::pair<std::string_view, Scalar*>{"uid", &out.uid},
                               {"operation", &out.operation},
                               {"subResource", &out.sub_resource},
                               {"name", &out.name},
                               {"namespace", &out.namespace_name},
                               {"dryRun", &out.dry_run}}) {
      if (key == name) return json_stream::read_scalar(value, *field);
    }
    if (key == "kind") return read_member_object(value, out.kind, "kind", "group");
    if (key == "resource") return read_member_object(value, out.resource, "resource", "");
    if (key == "userInfo") return read_member_object(value, out.user_info, "username", "");
    return json_stream::skip(value);
  });
  if (e || !any_object) return e;
  const std::string_view request_kind = out.kind.held == Held::object ? out.kind.first.string_or_empty() : "";
  return json_stream::for_each_value(req, [&](std::size_t index, od::value& value) -> error_code {
    if (!is_object_member[index]) return simdjson::SUCCESS;  // read by the first pass
    out.workload = policy::Workload{};
    if (error_code err = json_stream::held_of(value, out.object)) return err;
    if (out.object != Held::object) return json_stream::skip(value);
    od::object object;
    if (error_code err = value.get_object().get(object)) return err;
    return read_workload(object, request_kind, out.workload);
  });
}

Result<AdmissionRequest> check_review(ReviewRead& read);

// The strings read are views into the parser's buffer, which may not outlive read_document: the checks
// run here, at the end of the pass.
error_code read_review(od::object& root, void* context) {
  auto& out = *static_cast<ReviewRead*>(context);
  const error_code e = json_stream::for_each_member(root, [&](std::string_view key, od::value& value) -> error_code {
    if (key == "apiVersion") return json_stream::read_scalar(value, out.api_version);
    if (key == "kind") return json_stream::read_scalar(value, out.kind);
    if (key != "request") return json_stream::skip(value);
    out.req = RequestRead{};
    if (error_code err = json_stream::held_of(value, out.request)) return err;
    if (out.request != Held::object) return json_stream::skip(value);
    od::object req;
    if (error_code err = value.get_object().get(req)) return err;
    return read_request(req, out.req);
  });
  if (!e) out.decoded = check_review(out);
  return e;
}

Error not_an_object(Held root) {
  return invalid_argument("AdmissionReview must be a JSON object, not " + std::string(json_stream::type_name(root)));
}

// A member that must be a string when present. Missing or null -> "" (callers decide whether that is allowed).
Result<std::string> optional_string(const Scalar& member, std::string_view where, std::string_view key) {
  if (member.held == Held::absent || member.held == Held::null) return std::string();
  if (!member.is_string()) return invalid_argument(std::string(where) + "." + std::string(key) + " must be a string");
  return std::string(member.text);
}

// A member that must be an object when present: whether it is one. Missing or null -> false.
Result<bool> optional_object(const MemberObject& member, std::string_view key) {
  if (member.held == Held::absent || member.held == Held::null) return false;
  if (member.held != Held::object) return invalid_argument("request." + std::string(key) + " must be an object");
  return true;
}

// The envelope's checks: apiVersion, kind, request.
Status check_envelope(const ReviewRead& read, AdmissionRequest& request) {
  if (!read.api_version.is_string()) {
    return invalid_argument("AdmissionReview: apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1");
  }
  if (read.api_version.text == kApiVersionV1) {
    request.version = ReviewVersion::v1;
  } else if (read.api_version.text == kApiVersionV1beta1) {
    request.version = ReviewVersion::v1beta1;
  } else {
    return invalid_argument("AdmissionReview: unsupported apiVersion " +
                            nlohmann::json(std::string(read.api_version.text))
                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                            " (expected admission.k8s.io/v1 or admission.k8s.io/v1beta1)");
  }
  if (!read.kind.is_string() || read.kind.text != "AdmissionReview") {
    return invalid_argument("AdmissionReview: kind must be AdmissionReview");
  }
  if (read.request != Held::object) return invalid_argument("AdmissionReview: request must be an object");
  return Ok{};
}

// The fields follow admission.k8s.io/v1 AdmissionReview
// (https://github.com/kubernetes/api/blob/master/admission/v1/types.go); v1beta1 has the same schema.
Status check_request(RequestRead& req, AdmissionRequest& request) {
  if (!req.uid.is_string() || req.uid.text.empty()) {
    return invalid_argument("AdmissionReview: request.uid must be a non-empty string");
  }
  request.uid = std::string(req.uid.text);
  if (request.uid.size() > kMaxUidBytes) {
    return invalid_argument("AdmissionReview: request.uid longer than " + std::to_string(kMaxUidBytes) + " bytes");
  }
  auto operation = optional_string(req.operation, "request", "operation");
  if (!operation) return operation.error();
  request.operation = std::move(*operation);
  if (request.operation != "CREATE" && request.operation != "UPDATE" && request.operation != "DELETE" &&
      request.operation != "CONNECT") {
    return invalid_argument("AdmissionReview: request.operation must be CREATE, UPDATE, DELETE or CONNECT");
  }
  struct Field {
    const Scalar& member;
    std::string_view where, key;
    std::string& into;
  };
  auto take = [&](std::initializer_list<Field> fields) -> Status {
    for (const Field& f : fields) {
      auto value = optional_string(f.member, f.where, f.key);
      if (!value) return value.error();
      f.into = std::move(*value);
    }
    return Ok{};
  };
  auto kind = optional_object(req.kind, "kind");
  if (!kind) return kind.error();
  if (*kind) {
    if (Status s = take({{req.kind.first, "request.kind", "kind", request.kind},
                         {req.kind.second, "request.kind", "group", request.group}});
        !s) {
      return s;
    }
  }
  auto resource = optional_object(req.resource, "resource");
  if (!resource) return resource.error();
  if (*resource) {
    if (Status s = take({{req.resource.first, "request.resource", "resource", request.resource}}); !s) return s;
  }
  if (Status s = take({{req.sub_resource, "request", "subResource", request.sub_resource},
                       {req.name, "request", "name", request.name},
                       {req.namespace_name, "request", "namespace", request.namespace_name}});
      !s) {
    return s;
  }
  auto user_info = optional_object(req.user_info, "userInfo");
  if (!user_info) return user_info.error();
  if (*user_info) {
    if (Status s = take({{req.user_info.first, "request.userInfo", "username", request.user}}); !s) return s;
  }
  if (req.dry_run.held != Held::absent && req.dry_run.held != Held::null) {
    if (req.dry_run.held != Held::boolean) return invalid_argument("AdmissionReview: request.dryRun must be a boolean");
    request.dry_run = req.dry_run.flag;
  }
  request.has_object = req.object == Held::object;
  // CREATE and UPDATE always carry the object being admitted; without it the review is malformed (there is
  // nothing to check, and answering "allowed" would let a broken client through).
  if ((request.operation == "CREATE" || request.operation == "UPDATE") && !request.has_object) {
    return invalid_argument("AdmissionReview: request.object must be an object for " + request.operation);
  }
  // A malformed pod spec is not a malformed review: the flow denies it (fail closed) with this error.
  if (request.has_object) request.workload = std::move(req.workload);
  return Ok{};
}

Result<AdmissionRequest> check_review(ReviewRead& read) {
  AdmissionRequest request;
  if (Status s = check_envelope(read, request); !s) return s.error();
  if (Status s = check_request(read.req, request); !s) return s.error();
  return request;
}

}  // namespace

Result<AdmissionRequest> decode_admission_review(std::string_view body, std::size_t readable_after) {
  if (body.size() > kMaxReviewBytes) {
    return resource_exhausted("AdmissionReview body of " + std::to_string(body.size()) + " bytes exceeds the limit of " +
                              std::to_string(kMaxReviewBytes));
  }
  if (const auto violation = json_limit_violation(body, kReviewJsonLimits)) {
    // Too many values -> resource_exhausted (413, as a body over kMaxReviewBytes); nested too deep ->
    // invalid_argument (400, as docs/api.md has always said of depth). Worded by the bounded parse.
    const Status refused = check_json_bounded(body, kReviewJsonLimits);
    const ErrorCode code = violation->limit == JsonLimit::depth ? ErrorCode::invalid_argument : refused.error().code;
    return Error{code, "AdmissionReview: " + refused.error().message};
  }
  ReviewRead read;
  if (Status s = json_stream::read_document(body, readable_after, kReviewJsonLimits, "AdmissionReview: ",
                                            not_an_object, read_review, &read);
      !s) {
    return s.error();
  }
  return std::move(read.decoded);
}

}  // namespace imagegate::webhook
