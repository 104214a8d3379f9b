#include "common/asio_warnings.h"  // before any Asio header

#include "webhook/evidence/anchor_keeper.h"

#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "policy/policy.h"

namespace imagegate::webhook {

std::shared_ptr<const verifier::AnchorMaterial> build_anchor_material(const policy::CompiledPolicy& policy,
                                                                      const RegistryConfig& registry) {
  std::vector<verifier::NamedAnchorSpec> anchors;
  for (const policy::TrustAnchor& anchor : policy::spec_of(policy).trust_anchors) {
    anchors.push_back({anchor.name, &anchor.spec});
  }
  verifier::NotaryTransport transport;
  transport.ca_files = registry.ca_files;
  transport.docker_config_files = registry.docker_config_files;
  transport.timeout = registry.timeout;
  return verifier::AnchorMaterial::build(policy::version_of(policy), anchors, transport);
}

struct AnchorKeeper::State {
  RegistryConfig registry;
  std::chrono::milliseconds interval;
  mutable std::mutex mutex;  // guards everything below
  std::shared_ptr<const policy::CompiledPolicy> policy;  // the last loaded, and its material
  std::shared_ptr<const verifier::AnchorMaterial> material;
  std::uint64_t trust_reloads = 0;
  std::optional<boost::asio::steady_timer> timer;
  std::function<void(std::shared_ptr<const verifier::AnchorMaterial>)> publish;
  bool stopped = false;

  // Arms the timer; on expiry rotates, publishes what changed and re-arms. Plain handlers (no coroutine).
  static void schedule(const std::shared_ptr<State>& state) {
    std::lock_guard lock(state->mutex);
    if (state->stopped || !state->timer) return;
    state->timer->expires_after(state->interval);
    state->timer->async_wait([state](const boost::system::error_code& ec) {
      if (ec) return;
      {
        std::lock_guard check(state->mutex);
        if (state->stopped) return;
      }
      if (auto rotated = state->rotate(); rotated && state->publish) state->publish(std::move(rotated));
      schedule(state);
    });
  }

  std::shared_ptr<const verifier::AnchorMaterial> rotate();
};

std::shared_ptr<const verifier::AnchorMaterial> AnchorKeeper::State::rotate() {
  std::shared_ptr<const policy::CompiledPolicy> loaded;
  std::shared_ptr<const verifier::AnchorMaterial> current;
  {
    std::lock_guard lock(mutex);
    loaded = policy;
    current = material;
  }
  // Rereading a few small files every interval is cheap, and a content hash sees a rotated Secret
  // whatever kubelet did to the paths (the `..data` symlink swap keeps every stat of the old file valid).
  if (!loaded || !current || !current->trust_files_changed()) return nullptr;
  auto rebuilt = build_anchor_material(*loaded, registry);
  std::lock_guard lock(mutex);
  if (policy != loaded) return nullptr;  // a new policy was loaded meanwhile: its material stands
  material = rebuilt;
  ++trust_reloads;
  return rebuilt;
}

AnchorKeeper::AnchorKeeper(RegistryConfig registry, std::chrono::milliseconds trust_reload_interval)
    : state_(std::make_shared<State>()) {
  state_->registry = std::move(registry);
  state_->interval = trust_reload_interval;
}

AnchorKeeper::~AnchorKeeper() { stop(); }

std::shared_ptr<const verifier::AnchorMaterial> AnchorKeeper::load(std::shared_ptr<const policy::CompiledPolicy> policy) {
  if (!policy) return nullptr;
  auto material = build_anchor_material(*policy, state_->registry);
  std::lock_guard lock(state_->mutex);
  state_->policy = std::move(policy);
  state_->material = material;
  return material;
}

std::shared_ptr<const verifier::AnchorMaterial> AnchorKeeper::rotate() { return state_->rotate(); }

void AnchorKeeper::start(boost::asio::any_io_executor executor,
                         std::function<void(std::shared_ptr<const verifier::AnchorMaterial>)> publish) {
  if (state_->interval.count() <= 0) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->publish = std::move(publish);
    state_->timer.emplace(std::move(executor));
  }
  State::schedule(state_);
}

void AnchorKeeper::stop() {
  std::lock_guard lock(state_->mutex);
  state_->stopped = true;
  if (state_->timer) state_->timer->cancel();
}

std::uint64_t AnchorKeeper::trust_reloads() const {
  std::lock_guard lock(state_->mutex);
  return state_->trust_reloads;
}

std::shared_ptr<const verifier::AnchorMaterial> AnchorKeeper::material() const {
  std::lock_guard lock(state_->mutex);
  return state_->material;
}

}  // namespace imagegate::webhook
