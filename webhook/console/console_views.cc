#include "webhook/console/console_views.h"

#include <algorithm>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "common/rfc3339.h"
#include "policy/evaluate.h"
#include "verifier/crypto/crypto.h"

namespace imagegate::webhook {

namespace {

using nlohmann::json;

std::string seconds_time(std::chrono::system_clock::time_point t) {
  return format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

std::string workload_key(const verifier::InventoryEntry& e) { return e.namespace_name + "/" + e.kind + "/" + e.name; }

json entry_times(const std::vector<const verifier::InventoryEntry*>& entries) {
  auto first = entries.front()->first_seen;
  auto last = entries.front()->last_seen;
  for (const auto* e : entries) {
    first = std::min(first, e->first_seen);
    last = std::max(last, e->last_seen);
  }
  return {{"firstSeen", seconds_time(first)}, {"lastSeen", seconds_time(last)}};
}

const std::optional<verifier::ScanVerdict>& verdict_of(const VerdictsByDigest& verdicts, const std::string& digest) {
  static const std::optional<verifier::ScanVerdict> none;
  const auto it = verdicts.find(digest);
  return it == verdicts.end() ? none : it->second;
}

json digest_item(const InventoryGroup& g, const VerdictsByDigest& verdicts, const policy::CompiledPolicy* policy,
                 std::chrono::system_clock::time_point now) {
  std::set<std::string> images;
  std::set<std::string> workloads;
  std::set<std::string> namespaces;
  for (const auto* e : g.entries) {
    images.insert(e->image);
    workloads.insert(workload_key(*e));
    namespaces.insert(e->namespace_name);
  }
  json item = {{"digest", g.key},
               {"images", images},
               {"namespaces", namespaces},
               {"workloads", workloads.size()},
               {"verdict", verdict_view(verdict_of(verdicts, g.key), now)},
               {"signatures", signature_view(policy, *g.entries.front())}};
  item.update(entry_times(g.entries));
  return item;
}

json workload_item(const InventoryGroup& g, const VerdictsByDigest& verdicts, const policy::CompiledPolicy* policy,
                   std::chrono::system_clock::time_point now) {
  const verifier::InventoryEntry& first = *g.entries.front();
  json images = json::array();
  for (const auto* e : g.entries) {
    images.push_back({{"image", e->image},
                      {"digest", e->digest},
                      {"verdict", verdict_view(verdict_of(verdicts, e->digest), now)},
                      {"signatures", signature_view(policy, *e)}});
  }
  json item = {{"namespace", first.namespace_name}, {"kind", first.kind}, {"name", first.name}, {"images", images}};
  item.update(entry_times(g.entries));
  return item;
}

// The bytes an anchor is identified by: what its spec configures, each field named (so two anchors
// differing in one field never collide), never read from disk.
std::string anchor_material(const verifier::AnchorSpec& spec) {
  std::string out;
  const auto add = [&out](std::string_view name, const std::string& value) {
    out.append(name).append("=").append(std::to_string(value.size())).append(":").append(value).append("\n");
  };
  const auto add_all = [&add](std::string_view name, const std::vector<std::string>& values) {
    for (const auto& v : values) add(name, v);
  };
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, verifier::CosignKeyAnchor>) {
          add("key", a.key_pem);
          add("keyFile", a.key_file);
        } else if constexpr (std::is_same_v<T, verifier::KeylessAnchor>) {
          add("issuer", a.issuer);
          add("issuerRegExp", a.issuer_regexp);
          add("subject", a.subject);
          add("subjectRegExp", a.subject_regexp);
          add("trustedRoot", a.trusted_root_file);
          add("fulcioRoots", a.fulcio_roots_file);
          add("rekorKey", a.rekor_key_file);
        } else if constexpr (std::is_same_v<T, verifier::NotaryV1Anchor>) {
          add("server", a.server);
          add_all("rootKey", a.root_keys);
          add_all("rootKeyFile", a.root_key_files);
          add_all("rootKeyId", a.root_key_ids);
          add_all("delegation", a.delegations);
        } else {
          add("trustPolicy", a.trust_policy_file);
          add("trustStore", a.trust_store_dir);
          add_all("trustStoreFile", a.trust_store_files);
          add_all("tsaStoreFile", a.tsa_store_files);
          add_all("identity", a.trusted_identities);
          add("level", a.verification_level);
        }
      },
      spec);
  return out;
}

json rule_view(const policy::Rule& r) {
  json rule = {{"name", r.name},
               {"match", {{"images", r.images}, {"namespaces", r.namespaces}}},
               {"requireDigest", r.require_digest},
               {"deniedTags", r.denied_tags},
               {"pinDigest", r.pin_digest}};
  if (r.mode) rule["mode"] = policy::to_string(*r.mode);
  if (r.failure_policy) rule["failurePolicy"] = policy::to_string(*r.failure_policy);
  if (r.signatures) {
    rule["signatures"] = {{"anchors", r.signatures->anchors},
                          {"threshold", r.signatures->threshold},
                          {"required", r.signatures->required}};
  }
  if (r.vulnerabilities) {
    const policy::VerdictRequirement& v = *r.vulnerabilities;
    json exceptions = json::array();
    for (const auto& e : v.exceptions) exceptions.push_back(e.id);
    rule["vulnerabilities"] = {{"onMissing", policy::to_string(v.on_missing)},
                               {"secrets", policy::to_string(v.secrets)},
                               {"fixableOnly", v.fixable_only},
                               {"complianceRequired", v.compliance_required},
                               {"exceptions", exceptions}};
    if (v.max_severity) rule["vulnerabilities"]["maxSeverity"] = policy::to_string(*v.max_severity);
    if (v.max_age) rule["vulnerabilities"]["maxAgeSeconds"] = v.max_age->count();
  }
  return rule;
}

// `{"id":N,"time":"...","decision":"...","namespace":"...","rules":[...],"entry":` (the line follows).
std::string decision_head(const RecentDecision& d) {
  json head = {{"id", d.id},
               {"time", format_rfc3339(d.time)},
               {"decision", d.decision},
               {"namespace", d.namespace_name},
               {"rules", d.rules}};
  std::string text = head.dump(-1, ' ', false, json::error_handler_t::replace);
  text.pop_back();  // the closing brace
  text += ",\"entry\":";
  return text;
}

}  // namespace

std::vector<InventoryGroup> group_inventory(const std::vector<verifier::InventoryEntry>& entries,
                                            InventoryGrouping grouping) {
  std::vector<InventoryGroup> groups;
  std::unordered_map<std::string, std::size_t> index;
  for (const auto& e : entries) {
    std::string key = grouping == InventoryGrouping::by_digest ? e.digest : workload_key(e);
    const auto [it, added] = index.try_emplace(key, groups.size());
    if (added) groups.push_back({std::move(key), {}});
    groups[it->second].entries.push_back(&e);
  }
  return groups;
}

std::vector<std::string> digests_of(const std::vector<InventoryGroup>& page) {
  std::set<std::string> digests;
  for (const auto& g : page) {
    for (const auto* e : g.entries) digests.insert(e->digest);
  }
  return {digests.begin(), digests.end()};
}

json verdict_view(const std::optional<verifier::ScanVerdict>& verdict, std::chrono::system_clock::time_point now) {
  if (!verdict) return nullptr;
  json counts = json::object();
  const auto by = verdict->vulnerability_counts();
  std::string max = "NONE";
  for (int s = 1; s <= 5; ++s) {
    const std::string name(verifier::severity_name(static_cast<verifier::Severity>(s)));
    counts[name] = by[static_cast<std::size_t>(s)];
    if (by[static_cast<std::size_t>(s)] > 0) max = name;
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - verdict->scanned_at).count();
  return {{"maxSeverity", max},
          {"scannedAt", seconds_time(verdict->scanned_at)},
          {"ageSeconds", std::max<std::int64_t>(age, 0)},
          {"scanner", verdict->scanner},
          {"vulnerabilities", counts}};
}

json signature_view(const policy::CompiledPolicy* policy, const verifier::InventoryEntry& entry) {
  if (policy == nullptr) return {{"status", "unknown (no policy loaded)"}, {"anchors", json::array()}};
  const policy::Plan plan = policy::plan(*policy, {entry.namespace_name, entry.image});
  if (plan.needs.anchors.empty()) return {{"status", "not required"}, {"anchors", json::array()}};
  return {{"status", "verified at admission"}, {"anchors", plan.needs.anchors}};
}

json inventory_view(const std::vector<InventoryGroup>& page, InventoryGrouping grouping,
                    const VerdictsByDigest& verdicts, const policy::CompiledPolicy* policy, std::size_t total,
                    std::size_t offset, bool truncated, std::chrono::system_clock::time_point now) {
  json items = json::array();
  for (const auto& g : page) {
    items.push_back(grouping == InventoryGrouping::by_digest ? digest_item(g, verdicts, policy, now)
                                                             : workload_item(g, verdicts, policy, now));
  }
  return {{"items", items}, {"total", total}, {"offset", offset}, {"truncated", truncated}};
}

std::string anchor_kind(const verifier::AnchorSpec& spec) {
  switch (spec.index()) {
    case 0:
      return "cosignKey";
    case 1:
      return "keyless";
    case 2:
      return "notaryV1";
    default:
      return "notation";
  }
}

std::string anchor_fingerprint(const verifier::AnchorSpec& spec) {
  return "sha256:" + verifier::sha256_hex(anchor_material(spec));
}

json policy_view(const policy::CompiledPolicy& compiled, std::chrono::system_clock::time_point loaded_at) {
  const policy::PolicySpec& spec = policy::spec_of(compiled);
  json rules = json::array();
  for (const auto& r : spec.rules) rules.push_back(rule_view(r));
  json anchors = json::array();
  for (const auto& a : spec.trust_anchors) {
    anchors.push_back({{"name", a.name}, {"kind", anchor_kind(a.spec)}, {"fingerprint", anchor_fingerprint(a.spec)}});
  }
  return {{"name", spec.name},
          {"version", policy::version_of(compiled)},
          {"loadedAt", seconds_time(loaded_at)},
          {"mode", policy::to_string(spec.mode)},
          {"failurePolicy", policy::to_string(spec.failure_policy)},
          {"noMatch", policy::to_string(spec.no_match)},
          {"exemptions", {{"namespaces", spec.exemptions.namespaces}, {"images", spec.exemptions.images}}},
          {"allowedRegistries", spec.allowed_registries},
          {"rules", rules},
          {"trustAnchors", anchors}};
}

json summary_view(const DecisionRing& ring, const std::string& replica, const std::string& policy_version,
                  std::chrono::system_clock::time_point now) {
  const auto by_name = [](const std::array<std::uint64_t, 4>& counts) {
    json out = json::object();
    for (std::size_t i = 0; i < kRingDecisions.size(); ++i) out[std::string(kRingDecisions[i])] = counts[i];
    return out;
  };
  json hour = json::array();
  std::array<std::uint64_t, 4> hour_totals{};
  for (const MinuteCounts& m : ring.last_hour(now)) {
    json minute = by_name(m.counts);
    minute["minute"] = seconds_time(m.minute);
    hour.push_back(std::move(minute));
    for (std::size_t i = 0; i < hour_totals.size(); ++i) hour_totals[i] += m.counts[i];
  }
  return {{"replica", replica},
          {"now", seconds_time(now)},
          {"policyVersion", policy_version},
          {"reviews", by_name(ring.totals())},
          {"lastHourTotals", by_name(hour_totals)},
          {"lastHour", hour},
          {"recent", {{"kept", ring.size()}, {"capacity", ring.capacity()}}}};
}

std::string decisions_body(const std::vector<RecentDecision>& items, std::size_t limit, const std::string& replica) {
  std::string out = "{\"replica\":" + json(replica).dump(-1, ' ', false, json::error_handler_t::replace) + ",\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += decision_head(items[i]);
    out += items[i].line;
    out += '}';
  }
  out += "],\"next\":";
  out += items.size() == limit && !items.empty() ? std::to_string(items.back().id) : "null";
  out += '}';
  return out;
}

std::string decision_body(const RecentDecision& decision) {
  return decision_head(decision) + decision.line + "}";
}

}  // namespace imagegate::webhook
