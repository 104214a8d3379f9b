#include "webhook/cli/report.h"

#include <algorithm>
#include <sstream>

#include "common/text.h"

namespace imagegate::webhook {
namespace {

using nlohmann::json;

json check_json(const policy::CheckEvidence& check) {
  return {{"status", std::string(policy::to_string(check.status))}, {"detail", check.detail}};
}

json evidence_json(const policy::Evidence& evidence) {
  json signatures = json::array();
  for (const policy::AnchorEvidence& anchor : evidence.signatures) {
    json entry = check_json(anchor.check);
    entry["anchor"] = anchor.anchor;
    signatures.push_back(std::move(entry));
  }
  json out{{"digestResolution", check_json(evidence.digest_resolution)},
           {"digest", evidence.digest},
           {"signatures", std::move(signatures)},
           {"verdict", check_json(evidence.verdict)}};
  // Per attestation requirement: each anchor's status and the statement that satisfied it, or why none did.
  if (!evidence.attestations.empty()) {
    json attestations = json::array();
    for (const policy::AttestationEvidence& r : evidence.attestations) {
      json anchors = json::array();
      for (const policy::AnchorEvidence& a : r.anchors) {
        json entry = check_json(a.check);
        entry["anchor"] = a.anchor;
        anchors.push_back(std::move(entry));
      }
      attestations.push_back({{"requirement", r.requirement}, {"anchors", std::move(anchors)}});
    }
    out["attestations"] = std::move(attestations);
  }
  return out;
}

// Display width in code points, so a UTF-8 image name does not shift the columns.
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string plural(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

bool TestReport::any_denied() const {
  return std::any_of(workloads.begin(), workloads.end(),
                     [](const WorkloadResult& w) { return w.decision.action == policy::Action::deny; });
}

std::string workload_id(const std::string& kind, const std::string& namespace_name, const std::string& name) {
  return (kind.empty() ? std::string("-") : kind) + "/" + namespace_name + "/" + (name.empty() ? std::string("-") : name);
}

Result<std::vector<WorkloadResult>> evaluate_offline(const policy::CompiledPolicy& compiled,
                                                     const std::vector<ManifestObject>& objects,
                                                     const std::string& default_namespace,
                                                     std::chrono::system_clock::time_point now) {
  return evaluate_offline(compiled, objects, default_namespace, now, EvidenceFunction{});
}

Result<std::vector<WorkloadResult>> evaluate_offline(const policy::CompiledPolicy& compiled,
                                                     const std::vector<ManifestObject>& objects,
                                                     const std::string& default_namespace,
                                                     std::chrono::system_clock::time_point now,
                                                     const EvidenceFunction& gather) {
  std::vector<WorkloadResult> out;
  out.reserve(objects.size());
  for (const ManifestObject& object : objects) {
    const Result<policy::Workload>& workload = object.workload;  // decoded by the reader
    if (!workload.ok()) {
      return Error{workload.error().code, object.source + (object.line > 0 ? " (line " + std::to_string(object.line) + ")" : "") +
                                              ": " + workload.error().message};
    }
    WorkloadResult result;
    result.source = object.source;
    result.line = object.line;
    result.image_positions = object.image_positions;
    // metadata.namespace, else the namespace of the review that carried the object, else the default.
    result.namespace_name = !workload->namespace_name.empty()   ? workload->namespace_name
                            : !object.request_namespace.empty() ? object.request_namespace
                                                                : default_namespace;
    result.id = workload_id(workload->kind, result.namespace_name, workload->name);
    std::vector<policy::ContainerDecision> containers;
    containers.reserve(workload->images.size());
    for (const policy::ContainerImage& container : workload->images) {
      const policy::ImageUnderReview image{result.namespace_name, container.image};
      const policy::Plan plan = policy::plan(compiled, image);
      const policy::Evidence evidence =
          gather ? gather(image, plan) : policy::unevaluated_evidence(plan.needs, kNotEvaluatedOffline);
      containers.push_back({container, policy::evaluate(compiled, image, evidence, now)});
    }
    result.decision = policy::decide_workload(std::move(containers));
    result.workload = *workload;
    out.push_back(std::move(result));
  }
  return out;
}

namespace {

// How many images of the report got each decision: the table's footer and the JSON summary. Image
// volumes are counted apart from containers; allowed/warned/denied cover both.
struct DecisionCounts {
  std::size_t containers = 0;
  std::size_t image_volumes = 0;
  std::size_t allowed = 0;
  std::size_t warned = 0;
  std::size_t denied = 0;
};

DecisionCounts count_decisions(const TestReport& report) {
  DecisionCounts n;
  for (const WorkloadResult& w : report.workloads) {
    for (const policy::ContainerDecision& c : w.decision.containers) {
      ++(c.container.is_volume() ? n.image_volumes : n.containers);
      switch (c.decision.action) {
        case policy::Action::allow: ++n.allowed; break;
        case policy::Action::warn: ++n.warned; break;
        case policy::Action::deny: ++n.denied; break;
      }
    }
  }
  return n;
}

}  // namespace

std::string source_file(const std::string& source) {
  const std::size_t hash = source.rfind('#');
  return hash == std::string::npos ? source : source.substr(0, hash);
}

int image_line(const WorkloadResult& workload, const policy::ContainerImage& container) {
  auto it = workload.image_positions.find(container.json_path);
  return it != workload.image_positions.end() ? it->second.line : workload.line;
}

std::string render_table(const TestReport& report) {
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"FILE", "WORKLOAD", "CONTAINER", "IMAGE", "DECISION", "RULE", "REASON"});
  for (const WorkloadResult& w : report.workloads) {
    const std::string file = source_file(w.source);
    if (!w.workload.has_pod_spec) {
      rows.push_back({file + ":" + std::to_string(w.line), w.id, "-", "-", "allow", "-", "no pod spec"});
      continue;
    }
    for (const policy::ContainerDecision& c : w.decision.containers) {
      const policy::Decision& d = c.decision;
      std::string reason = join(d.reasons, "; ");
      if (reason.empty()) reason = std::string(policy::to_string(d.outcome));
      if (d.mode == policy::Mode::audit && d.outcome == policy::Outcome::failed) reason = "audit: " + reason;
      std::string name = c.container.name.empty() ? std::string("-") : c.container.name;
      if (c.container.kind == "initContainers") name += " (init)";
      if (c.container.kind == "ephemeralContainers") name += " (ephemeral)";
      if (c.container.is_volume()) name += " (image volume)";
      rows.push_back({file + ":" + std::to_string(image_line(w, c.container)), w.id, name, c.container.image,
                      std::string(policy::to_string(d.action)),
                      d.rule.empty() ? std::string("-") : d.rule, reason});
    }
  }
  std::array<std::size_t, 7> widths{};
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  std::ostringstream out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out << row[i];
      if (i + 1 < row.size()) out << std::string(widths[i] - display_width(row[i]) + 2, ' ');
    }
    out << '\n';
  }
  const DecisionCounts n = count_decisions(report);
  out << "\n"
      << plural(report.workloads.size(), "workload") << ", " << plural(n.containers, "container")
      << (n.image_volumes > 0 ? ", " + plural(n.image_volumes, "image volume") : std::string()) << ": "
      << n.allowed << " allowed, " << n.warned << " warned, " << n.denied << " denied";
  out << " (policy " << report.policy_file
      << (report.online ? "; digests resolved online" : "; network checks not evaluated offline") << ")\n";
  return out.str();
}

json report_to_json(const TestReport& report) {
  json workloads = json::array();
  for (const WorkloadResult& w : report.workloads) {
    json entries = json::array();
    for (const policy::ContainerDecision& c : w.decision.containers) {
      const policy::Decision& d = c.decision;
      entries.push_back({{"name", c.container.name},
                         {"type", c.container.kind},
                         {"image", c.container.image},
                         {"jsonPath", c.container.json_path},
                         {"jsonPointer", policy::to_json_pointer(c.container.json_path)},
                         {"line", image_line(w, c.container)},
                         {"decision", std::string(policy::to_string(d.action))},
                         {"outcome", std::string(policy::to_string(d.outcome))},
                         {"mode", std::string(policy::to_string(d.mode))},
                         {"rule", d.rule},
                         {"normalized", d.normalized},
                         {"reasons", d.reasons},
                         {"evidence", evidence_json(d.evidence)}});
    }
    workloads.push_back({{"id", w.id},
                         {"source", w.source},
                         {"file", source_file(w.source)},
                         {"line", w.line},
                         {"apiVersion", w.workload.api_version},
                         {"kind", w.workload.kind},
                         {"namespace", w.namespace_name},
                         {"name", w.workload.name},
                         {"hasPodSpec", w.workload.has_pod_spec},
                         {"decision", std::string(policy::to_string(w.decision.action))},
                         {"denialMessage", w.decision.action == policy::Action::deny ? w.decision.denial_message()
                                                                                    : std::string()},
                         {"warnings", w.decision.warnings()},
                         {"containers", std::move(entries)}});
  }
  const DecisionCounts n = count_decisions(report);
  return {{"policy", {{"file", report.policy_file}, {"name", report.policy_name}, {"version", report.policy_version}}},
          {"allowed", !report.any_denied()},
          {"summary",
           {{"workloads", report.workloads.size()},
            {"containers", n.containers},
            {"imageVolumes", n.image_volumes},
            {"allowed", n.allowed},
            {"warned", n.warned},
            {"denied", n.denied}}},
          {"workloads", std::move(workloads)}};
}

std::string github_escape(std::string_view text, bool property) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '%': out += "%25"; break;
      case '\r': out += "%0D"; break;
      case '\n': out += "%0A"; break;
      case ':': out += property ? "%3A" : ":"; break;
      case ',': out += property ? "%2C" : ","; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_github(const TestReport& report) {
  std::ostringstream out;
  for (const WorkloadResult& w : report.workloads) {
    for (const policy::ContainerDecision& c : w.decision.containers) {
      const policy::Decision& d = c.decision;
      const bool audit_failure = d.mode == policy::Mode::audit && d.outcome == policy::Outcome::failed;
      if (d.action == policy::Action::allow && !audit_failure) continue;
      const char* command = d.action == policy::Action::deny ? "error" : "warning";
      const std::string title = "imagegate: " + std::string(policy::to_string(d.action)) + " " + w.id + " " +
                                policy::owner_label(c.container, "-") + " (" + c.container.image + ")";
      std::string message = join(d.reasons, "; ");
      if (!d.rule.empty()) message += " (rule " + d.rule + ")";
      if (audit_failure) message = "audit: " + message;
      out << "::" << command << " file=" << github_escape(source_file(w.source), true)
          << ",line=" << image_line(w, c.container) << ",title=" << github_escape(title, true)
          << "::" << github_escape(message, false) << "\n";
    }
  }
  const DecisionCounts n = count_decisions(report);
  out << "::notice title=imagegate::" << plural(report.workloads.size(), "workload") << ", "
      << plural(n.containers + n.image_volumes, "image") << ": " << n.allowed << " allowed, " << n.warned
      << " warned, " << n.denied << " denied (policy " << github_escape(report.policy_file, false) << ")\n";
  return out.str();
}

}  // namespace imagegate::webhook
