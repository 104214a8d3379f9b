// AnchorKeeper: builds the anchor material (verifier/signature/anchor_material.h) of the policy in force
// and keeps it current with its trust files, never on an io thread and never during a review.
//
// load(policy) builds the material of a newly compiled policy (blocking: it reads key and root files); the
// admission service calls it before swapping its snapshot (PolicyAdmissionService::set_anchor_loader), on
// the policy watcher's executor, which `imagegate serve` runs on a thread pool of its own. rotate() rereads
// the trust files of the material last loaded (their content hashes: a Kubernetes Secret update swaps a
// `..data` symlink) and rebuilds it when one changed; start() does so every trust_reload_interval on a
// thread pool and hands each new material to `publish` (PolicyAdmissionService::set_anchor_material). A
// review keeps the material of the snapshot it started with.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "verifier/signature/anchor_material.h"
#include "webhook/server/server_config.h"

namespace imagegate::policy {
class CompiledPolicy;
}

namespace imagegate::webhook {

// The anchor material of `policy` (blocking). Notary v1 anchors reach their servers with `registry`'s CA
// and Docker config files.
std::shared_ptr<const verifier::AnchorMaterial> build_anchor_material(const policy::CompiledPolicy& policy,
                                                                      const RegistryConfig& registry);

class AnchorKeeper {
 public:
  // `trust_reload_interval` 0: trust files are read only when a policy is loaded.
  AnchorKeeper(RegistryConfig registry, std::chrono::milliseconds trust_reload_interval);
  ~AnchorKeeper();
  AnchorKeeper(const AnchorKeeper&) = delete;
  AnchorKeeper& operator=(const AnchorKeeper&) = delete;

  std::shared_ptr<const verifier::AnchorMaterial> load(std::shared_ptr<const policy::CompiledPolicy> policy);
  // nullptr when nothing changed (or nothing was loaded); else the rebuilt material (counted in trust_reloads).
  std::shared_ptr<const verifier::AnchorMaterial> rotate();
  // Calls rotate() every interval on `executor` (not an io_context's: it blocks on file reads) until stop().
  void start(boost::asio::any_io_executor executor,
             std::function<void(std::shared_ptr<const verifier::AnchorMaterial>)> publish);
  void stop();

  std::uint64_t trust_reloads() const;  // materials rebuilt because a trust file changed
  // The material last built (of the policy last loaded, rebuilt on rotation); null before the first load.
  std::shared_ptr<const verifier::AnchorMaterial> material() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace imagegate::webhook
