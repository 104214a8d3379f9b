// TrustChain: the order of the TUF client workflow over Notary v1 metadata (root rotation, timestamp,
// snapshot, targets, delegations) with the rollback and length checks between them; which roles a lookup
// must load, and the tag decision.
#include <algorithm>
#include <set>

#include "verifier/signature/notary_v1/tuf.h"
#include "verifier/signature/notary_v1/tuf_internal.h"

namespace imagegate::verifier::tuf {

using internal::check_hashes;
using internal::denied;
using internal::parent_of;

std::uint64_t TrustChain::peek_version(std::string_view bytes) {
  auto e = parse_envelope(bytes);
  return e ? e->version : 0;
}

Status TrustChain::check_version(std::string_view role, std::uint64_t version) {
  auto it = highest_version_.find(role);
  if (it != highest_version_.end() && version < it->second) {
    return denied(std::string(role) + " version " + std::to_string(version) + " is older than version " +
                  std::to_string(it->second) + " seen before (rollback)");
  }
  highest_version_[std::string(role)] = version;
  return Ok{};
}

Status TrustChain::update_root(std::string_view bytes, const std::vector<std::string>& older_roots, TimePoint now) {
  auto next = parse_root(bytes);
  if (!next) return next.error();
  std::optional<Root> current = root_;
  std::size_t first_step = 0;
  if (!current) {
    if (older_roots.empty()) {
      if (auto s = verify_pinned_root(*next, pin_); !s) return s;
    } else {
      auto first = parse_root(older_roots.front());
      if (!first) return first.error();
      if (auto s = verify_pinned_root(*first, pin_); !s) return s;
      current = std::move(*first);
      first_step = 1;
    }
  }
  if (current) {
    if (next->envelope.version < current->envelope.version) {
      return denied("root version " + std::to_string(next->envelope.version) + " is older than version " +
                    std::to_string(current->envelope.version) + " seen before (rollback)");
    }
    if (next->envelope.version == current->envelope.version) {
      if (next->envelope.canonical_signed != current->envelope.canonical_signed) {
        return denied("root version " + std::to_string(next->envelope.version) + " changed without a new version");
      }
    } else {
      if (older_roots.size() - first_step > kMaxRootRotations) return resource_exhausted("too many root rotations");
      for (std::size_t i = first_step; i < older_roots.size(); ++i) {
        auto step = parse_root(older_roots[i]);
        if (!step) return step.error();
        if (auto s = verify_root_rotation(*current, *step); !s) return s;
        current = std::move(*step);
      }
      if (auto s = verify_root_rotation(*current, *next); !s) return s;
    }
  }
  if (auto s = check_expiry(next->envelope, now, "root"); !s) return s;
  // TUF 5.3.11: when the timestamp or snapshot keys change, forget their versions (fast-forward recovery).
  if (root_) {
    for (const char* role : {"timestamp", "snapshot"}) {
      if (root_->roles.at(role).key_ids != next->roles.at(role).key_ids) highest_version_.erase(role);
    }
  }
  highest_version_["root"] = std::max(highest_version_["root"], next->envelope.version);
  root_ = std::move(*next);
  return Ok{};
}

void TrustChain::begin_update() {
  timestamp_.reset();
  snapshot_.reset();
  targets_.clear();
}

Status TrustChain::update_timestamp(std::string_view bytes, TimePoint now) {
  if (!root_) return invalid_argument("timestamp before a trusted root");
  auto ts = parse_timestamp(bytes);
  if (!ts) return ts.error();
  if (auto s = verify_signatures(ts->envelope, root_->keys, root_->roles.at("timestamp"), "timestamp"); !s) return s;
  if (auto s = check_version("timestamp", ts->envelope.version); !s) return s;
  if (auto s = check_expiry(ts->envelope, now, "timestamp"); !s) return s;
  timestamp_ = std::move(*ts);
  return Ok{};
}

std::size_t TrustChain::snapshot_limit() const {
  if (timestamp_ && timestamp_->snapshot.length) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(*timestamp_->snapshot.length, kMaxMetadataBytes));
  }
  return kMaxMetadataBytes;
}

Status TrustChain::update_snapshot(std::string_view bytes, TimePoint now) {
  if (!timestamp_) return invalid_argument("snapshot before a trusted timestamp");
  if (auto s = check_file_meta(timestamp_->snapshot, bytes, "snapshot.json"); !s) return s;
  auto snap = parse_snapshot(bytes);
  if (!snap) return snap.error();
  if (auto s = verify_signatures(snap->envelope, root_->keys, root_->roles.at("snapshot"), "snapshot"); !s) return s;
  if (auto s = check_version("snapshot", snap->envelope.version); !s) return s;
  if (auto s = check_expiry(snap->envelope, now, "snapshot"); !s) return s;
  // notary records the root's hashes in the snapshot; root.json was fetched before its length was known,
  // so only the hashes apply to it.
  if (auto it = snap->meta.find("root"); it != snap->meta.end() && !it->second.hashes.empty()) {
    if (auto s = check_hashes(it->second, root_->raw, "root.json"); !s) return s;
  }
  snapshot_ = std::move(*snap);
  return Ok{};
}

std::size_t TrustChain::role_limit(std::string_view role) const {
  if (snapshot_) {
    auto it = snapshot_->meta.find(std::string(role));
    if (it != snapshot_->meta.end() && it->second.length) {
      return static_cast<std::size_t>(std::min<std::uint64_t>(*it->second.length, kMaxMetadataBytes));
    }
  }
  return kMaxMetadataBytes;
}

bool TrustChain::snapshot_lists(std::string_view role) const {
  return snapshot_ && snapshot_->meta.count(std::string(role)) > 0;
}

Status TrustChain::update_targets(std::string_view bytes, TimePoint now) {
  if (!snapshot_) return invalid_argument("targets before a trusted snapshot");
  auto meta = snapshot_->meta.find("targets");
  if (meta == snapshot_->meta.end()) return denied("snapshot does not list targets");
  if (auto s = check_file_meta(meta->second, bytes, "targets.json"); !s) return s;
  auto t = parse_targets(bytes, "targets");
  if (!t) return t.error();
  if (auto s = verify_signatures(t->envelope, root_->keys, root_->roles.at("targets"), "targets"); !s) return s;
  if (auto s = check_version("targets", t->envelope.version); !s) return s;
  if (auto s = check_expiry(t->envelope, now, "targets"); !s) return s;
  targets_.insert_or_assign("targets", std::move(*t));
  return Ok{};
}

const DelegatedRole* TrustChain::delegation(std::string_view role) const {
  const Targets* parent = this->role(parent_of(role));
  if (!parent) return nullptr;
  for (const auto& d : parent->delegations) {
    if (d.name == role) return &d;
  }
  return nullptr;
}

Status TrustChain::update_delegation(std::string_view role, std::string_view bytes, TimePoint now) {
  const std::string name(role);
  if (!snapshot_) return invalid_argument("delegation before a trusted snapshot");
  if (std::count(name.begin(), name.end(), '/') > kMaxDelegationDepth) return resource_exhausted(name + ": delegated too deeply");
  if (targets_.size() > kMaxDelegations) return resource_exhausted("too many delegations");
  const Targets* parent = this->role(parent_of(role));
  if (!parent) return invalid_argument(name + ": its parent role is not loaded");
  const DelegatedRole* entry = delegation(role);
  if (!entry) return denied(name + " is not delegated by " + parent->role);
  auto meta = snapshot_->meta.find(name);
  if (meta == snapshot_->meta.end()) return denied("snapshot does not list " + name);
  if (auto s = check_file_meta(meta->second, bytes, name + ".json"); !s) return s;
  auto t = parse_targets(bytes, role);
  if (!t) return t.error();
  if (auto s = verify_signatures(t->envelope, parent->delegation_keys, entry->keys, name); !s) return s;
  if (auto s = check_version(name, t->envelope.version); !s) return s;
  if (auto s = check_expiry(t->envelope, now, name); !s) return s;
  targets_.insert_or_assign(name, std::move(*t));
  return Ok{};
}

const Targets* TrustChain::role(std::string_view name) const {
  auto it = targets_.find(name);
  return it == targets_.end() ? nullptr : &it->second;
}

TimePoint TrustChain::earliest_expiry() const {
  TimePoint t = earliest_expiry_but_timestamp();
  if (timestamp_) t = std::min(t, timestamp_->envelope.expires);
  return t;
}

TimePoint TrustChain::earliest_expiry_but_timestamp() const {
  TimePoint t = TimePoint::max();
  if (root_) t = std::min(t, root_->envelope.expires);
  if (snapshot_) t = std::min(t, snapshot_->envelope.expires);
  for (const auto& [name, targets] : targets_) t = std::min(t, targets.envelope.expires);
  return t;
}

std::optional<TargetFile> TrustChain::find_target(std::string_view role_name, std::string_view name) const {
  const Targets* t = role(role_name);
  if (!t) return std::nullopt;
  // Every ancestor's delegation must cover the name (TUF: a delegation cannot widen its parent's paths).
  for (std::string r(role_name); r.find('/') != std::string::npos; r = parent_of(r)) {
    const DelegatedRole* d = delegation(r);
    if (!d || !delegation_covers(*d, name)) return std::nullopt;
  }
  auto it = t->targets.find(std::string(name));
  if (it == t->targets.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> roles_to_load(const TrustChain& chain, const std::vector<std::string>& required) {
  std::vector<std::string> out;
  auto add_with_parents = [&](const std::string& role) {
    if (role.rfind("targets/", 0) != 0) return;
    std::vector<std::string> chain_of;
    for (std::string r = role; r.find('/') != std::string::npos; r = parent_of(r)) chain_of.push_back(r);
    for (auto it = chain_of.rbegin(); it != chain_of.rend(); ++it) {
      if (std::find(out.begin(), out.end(), *it) == out.end()) out.push_back(*it);
    }
  };
  if (required.empty()) {
    if (chain.snapshot_lists("targets/releases")) out.push_back("targets/releases");
  } else {
    for (const auto& r : required) add_with_parents(r);
  }
  return out;
}

TagDecision decide_tag(const TrustChain& chain, std::string_view gun, std::string_view tag, std::string_view digest,
                       const std::vector<std::string>& required, bool all) {
  TagDecision d;
  const std::string t(tag);
  const bool default_roles = required.empty();
  const std::vector<std::string> roles =
      default_roles ? std::vector<std::string>{"targets/releases", "targets"} : required;
  std::vector<std::pair<std::string, std::string>> signed_by;  // role -> "sha256:hex"
  std::vector<std::string> missing;
  for (const auto& role : roles) {
    auto target = chain.find_target(role, tag);
    if (!target) {
      missing.push_back(role);
      continue;
    }
    auto h = target->hashes.find("sha256");
    if (h == target->hashes.end()) {
      missing.push_back(role);
      continue;
    }
    signed_by.emplace_back(role, "sha256:" + hex_encode(h->second));
  }
  for (std::size_t i = 1; i < signed_by.size(); ++i) {
    if (signed_by[i].second != signed_by[0].second) {
      d.detail = "roles disagree on tag " + t + ": " + signed_by[0].first + " signs " + signed_by[0].second + ", " +
                 signed_by[i].first + " signs " + signed_by[i].second;
      return d;
    }
  }
  if (signed_by.empty()) {
    if (default_roles) {
      d.detail = "tag " + t + " is not signed in the trust data of " + std::string(gun);
    } else if (required.size() == 1 || all) {
      d.detail = "required delegation " + missing.front() + " did not sign tag " + t;
    } else {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      d.detail = "none of the required delegations (" + list + ") signed tag " + t;
    }
    return d;
  }
  if (!default_roles && all && !missing.empty()) {
    d.detail = "required delegation " + missing.front() + " did not sign tag " + t;
    return d;
  }
  if (signed_by.front().second != digest) {
    d.detail = "signed digest is " + signed_by.front().second + ", not " + std::string(digest);
    return d;
  }
  d.verified = true;
  for (const auto& [role, dg] : signed_by) d.signers.push_back(role);
  d.detail = "tag " + t + " signed by " + signed_by.front().first + " as " + signed_by.front().second;
  return d;
}

}  // namespace imagegate::verifier::tuf
