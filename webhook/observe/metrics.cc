#include "webhook/observe/metrics.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

#include "webhook/observe/decision_log.h"
#include "webhook/observe/process_metrics.h"

namespace imagegate::webhook {
namespace {

// Seconds. Reviews without network checks take well under a millisecond; the API server gives up at 10 s
// by default (30 s at most), so the top bucket is 10 s and anything slower lands in +Inf.
constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};

// Label values come only from these sets; anything else is counted as "other", so a caller passing
// user-controlled text cannot create new series.
constexpr std::array<std::string_view, 4> kOperations = {"CREATE", "UPDATE", "DELETE", "CONNECT"};
constexpr std::array<std::string_view, 4> kDecisions = {"allowed", "warned", "denied", "error"};
constexpr std::array<std::string_view, 9> kApiRoutes = {"verdicts_put", "verdicts_get", "verdicts_list", "inventory",
                                                       "inventory_rescan", "inventory_violations", "inventory_prune",
                                                       "healthz", "other"};
constexpr std::array<std::string_view, 3> kInventoryResults = {"written", "failed", "dropped"};
constexpr std::array<std::string_view, 9> kStages = {"decode",   "policy", "encode", "evidence", "resolve",
                                                     "cosign",   "notary", "notation", "verdict"};
// OciRegistryClient's request results.
constexpr std::array<std::string_view, 6> kRegistryResults = {"ok",           "not_found", "unauthorized",
                                                              "rate_limited", "server_error", "error"};

template <std::size_t N>
std::string bounded(std::string_view value, const std::array<std::string_view, N>& allowed) {
  for (const auto candidate : allowed) {
    if (candidate == value) return std::string(candidate);
  }
  return "other";
}

// `value`'s index in `allowed`, or N ("other").
template <std::size_t N>
std::size_t index_of(std::string_view value, const std::array<std::string_view, N>& allowed) {
  for (std::size_t i = 0; i < N; ++i) {
    if (allowed[i] == value) return i;
  }
  return N;
}

// Status codes 100-599 by index (code - 100), and one slot for anything else.
constexpr std::size_t kStatusSlots = 501;

// Shortest round-trip form in fixed notation: bucket bounds read "0.0005", not "5e-04", and stay the same
// label values from scrape to scrape.
std::string format_double(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 400> buffer{};  // fixed notation of any double fits
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  if (ec != std::errc()) return "0";
  return std::string(buffer.data(), end);
}

// A histogram the io threads record into without a lock (relaxed atomics: a scrape may see a review's
// count before its sum, never a torn value).
struct Histogram {
  std::array<std::atomic<std::uint64_t>, kBuckets.size()> counts{};  // non-cumulative; cumulated when rendered
  std::atomic<std::uint64_t> count{0};
  std::atomic<double> sum{0};

  void observe(double seconds) {
    if (!(seconds >= 0)) seconds = 0;  // NaN and negatives (clock oddities) count as 0
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      if (seconds <= kBuckets[i]) {
        counts[i].fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
    count.fetch_add(1, std::memory_order_relaxed);
    sum.fetch_add(seconds, std::memory_order_relaxed);
  }
};

// One histogram per label value of a fixed set, plus "other" (the last slot) for anything else: found by
// index, so recording takes no lock and builds no string.
template <std::size_t N>
struct LabeledHistograms {
  const std::array<std::string_view, N>& labels;
  std::array<Histogram, N + 1> series{};

  void observe(std::string_view label, double seconds) { series[index_of(label, labels)].observe(seconds); }
};

void render_histogram(std::string& out, std::string_view name, std::string_view label_name, std::string_view label,
                      const Histogram& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += h.counts[i].load(std::memory_order_relaxed);
    out.append(name).append("_bucket{").append(label_name).append("=\"").append(label).append("\",le=\"");
    out.append(format_double(kBuckets[i])).append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  const std::uint64_t count = h.count.load(std::memory_order_relaxed);
  out.append(name).append("_bucket{").append(label_name).append("=\"").append(label).append("\",le=\"+Inf\"} ");
  out.append(std::to_string(count)).append("\n");
  out.append(name).append("_sum{").append(label_name).append("=\"").append(label).append("\"} ");
  out.append(format_double(h.sum.load(std::memory_order_relaxed))).append("\n");
  out.append(name).append("_count{").append(label_name).append("=\"").append(label).append("\"} ");
  out.append(std::to_string(count)).append("\n");
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// The series observed so far, in label order (as a map of them would list them).
template <std::size_t N>
void render_histogram(std::string& out, std::string_view name, std::string_view label_name,
                      const LabeledHistograms<N>& histograms) {
  std::map<std::string_view, const Histogram*> observed;
  for (std::size_t i = 0; i <= N; ++i) {
    if (histograms.series[i].count.load(std::memory_order_relaxed) == 0) continue;
    observed.emplace(i < N ? histograms.labels[i] : std::string_view("other"), &histograms.series[i]);
  }
  for (const auto& [label, h] : observed) render_histogram(out, name, label_name, label, *h);
}

}  // namespace

struct Metrics::State {
  // The per-review series: recorded by every review on any io thread, so atomics, not the mutex.
  std::array<std::array<std::atomic<std::uint64_t>, kDecisions.size() + 1>, kOperations.size() + 1> reviews{};
  LabeledHistograms<kOperations.size()> review_duration{kOperations};
  LabeledHistograms<kStages.size()> stage_duration{kStages};
  std::atomic<std::int64_t> in_flight{0};
  std::array<std::atomic<std::uint64_t>, kStatusSlots> http_responses{};  // status - 100; the last: other

  mutable std::mutex mutex;  // guards what follows
  std::uint64_t policy_reloads_success = 0;
  std::uint64_t policy_reloads_failure = 0;
  bool policy_loaded = false;
  std::uint64_t tls_reloads_success = 0;
  std::uint64_t tls_reloads_failure = 0;
  std::map<std::string, std::uint64_t> registry_requests;   // result
  LabeledHistograms<kRegistryResults.size()> registry_duration{kRegistryResults};
  std::function<RegistryCacheCounts()> registry_cache;      // read at each scrape; may be empty
  std::vector<std::function<SharedCacheCounts()>> shared_cache;  // summed at each scrape
  std::function<DecisionLogCounts()> decision_log;               // read at each scrape; may be empty
  std::map<std::pair<std::string, std::string>, std::uint64_t> api_requests;  // (route, status code)
  std::uint64_t verdicts_stored_success = 0;
  std::uint64_t verdicts_stored_failure = 0;
  std::map<std::string, std::uint64_t> inventory_records;  // result
  std::optional<std::chrono::system_clock::time_point> tls_expiry;
  std::function<std::vector<TrustExpiry>()> trust_expiry;  // read at each scrape; may be empty
};

Metrics::Metrics() : state_(new State) {
  for (const auto result : kRegistryResults) state_->registry_requests[std::string(result)] = 0;
  for (const auto result : kInventoryResults) state_->inventory_records[std::string(result)] = 0;
}

Metrics::~Metrics() { delete state_; }

void Metrics::observe_review(std::string_view operation, std::string_view decision, double seconds) {
  state_->reviews[index_of(operation, kOperations)][index_of(decision, kDecisions)].fetch_add(
      1, std::memory_order_relaxed);
  state_->review_duration.observe(operation, seconds);
}

void Metrics::observe_stage(std::string_view stage, double seconds) { state_->stage_duration.observe(stage, seconds); }

void Metrics::add_in_flight(int delta) { state_->in_flight.fetch_add(delta, std::memory_order_relaxed); }

void Metrics::policy_reload(bool ok) {
  std::lock_guard lock(state_->mutex);
  if (ok) {
    ++state_->policy_reloads_success;
    state_->policy_loaded = true;
  } else {
    // A rejected reload keeps the previous policy in force, so policy_loaded stays as it was.
    ++state_->policy_reloads_failure;
  }
}

void Metrics::tls_reload(bool ok) {
  std::lock_guard lock(state_->mutex);
  ++(ok ? state_->tls_reloads_success : state_->tls_reloads_failure);
}

void Metrics::http_response(unsigned status) {
  const std::size_t slot = status >= 100 && status <= 599 ? status - 100 : kStatusSlots - 1;
  state_->http_responses[slot].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::verdict_api_request(std::string_view route, unsigned status) {
  const std::string r = bounded(route, kApiRoutes);
  const std::string code = status >= 100 && status <= 599 ? std::to_string(status) : "other";
  std::lock_guard lock(state_->mutex);
  ++state_->api_requests[{r, code}];
}

void Metrics::verdict_stored(bool ok) {
  std::lock_guard lock(state_->mutex);
  ++(ok ? state_->verdicts_stored_success : state_->verdicts_stored_failure);
}

void Metrics::inventory_records(std::string_view result, std::size_t count) {
  const std::string r = bounded(result, kInventoryResults);
  std::lock_guard lock(state_->mutex);
  state_->inventory_records[r] += count;
}

void Metrics::registry_request(std::string_view result, double seconds) {
  const std::string r = bounded(result, kRegistryResults);
  std::lock_guard lock(state_->mutex);
  ++state_->registry_requests[r];
  state_->registry_duration.observe(result, seconds);
}

void Metrics::set_registry_cache_source(std::function<RegistryCacheCounts()> source) {
  std::lock_guard lock(state_->mutex);
  state_->registry_cache = std::move(source);
}

void Metrics::add_shared_cache_source(std::function<SharedCacheCounts()> source) {
  if (!source) return;
  std::lock_guard lock(state_->mutex);
  state_->shared_cache.push_back(std::move(source));
}

void Metrics::set_decision_log_source(std::function<DecisionLogCounts()> source) {
  std::lock_guard lock(state_->mutex);
  state_->decision_log = std::move(source);
}

void Metrics::set_tls_certificate_expiry(std::chrono::system_clock::time_point not_after) {
  std::lock_guard lock(state_->mutex);
  state_->tls_expiry = not_after;
}

void Metrics::set_trust_expiry_source(std::function<std::vector<TrustExpiry>()> source) {
  std::lock_guard lock(state_->mutex);
  state_->trust_expiry = std::move(source);
}

namespace {

std::string unix_seconds(std::chrono::system_clock::time_point t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The expiry gauges: the serving certificate's, then each anchor's trust material (sorted: stable output).
void render_expiries(std::string& out, const std::optional<std::chrono::system_clock::time_point>& tls,
                     std::vector<Metrics::TrustExpiry> trust) {
  if (tls) {
    header(out, "imagegate_tls_certificate_expiry_seconds", "gauge",
           "When the serving certificate expires (notAfter), unix time.");
    out.append("imagegate_tls_certificate_expiry_seconds ").append(unix_seconds(*tls)).append("\n");
  }
  if (trust.empty()) return;
  std::sort(trust.begin(), trust.end(), [](const Metrics::TrustExpiry& a, const Metrics::TrustExpiry& b) {
    return std::tie(a.anchor, a.kind) < std::tie(b.anchor, b.kind);
  });
  header(out, "imagegate_trust_material_expiry_seconds", "gauge",
         "The earliest expiry of each trust anchor's material of one kind (certificates, trusted roots), unix time.");
  for (const auto& t : trust) {
    out.append("imagegate_trust_material_expiry_seconds{anchor=\"").append(escape_label_value(t.anchor));
    out.append("\",kind=\"").append(escape_label_value(t.kind)).append("\"} ").append(unix_seconds(t.not_after));
    out.append("\n");
  }
}

}  // namespace

std::string Metrics::render() const {
  std::string out;
  out.reserve(8192);
  // The cache's counts first, outside our lock: the source takes the cache's own lock.
  std::function<RegistryCacheCounts()> cache_source;
  std::vector<std::function<SharedCacheCounts()>> shared_sources;
  std::function<DecisionLogCounts()> log_source;
  std::function<std::vector<TrustExpiry>()> trust_source;
  std::optional<std::chrono::system_clock::time_point> tls_expiry;
  {
    std::lock_guard lock(state_->mutex);
    cache_source = state_->registry_cache;
    shared_sources = state_->shared_cache;
    log_source = state_->decision_log;
    trust_source = state_->trust_expiry;
    tls_expiry = state_->tls_expiry;
  }
  const bool have_cache = static_cast<bool>(cache_source);
  const RegistryCacheCounts cache = have_cache ? cache_source() : RegistryCacheCounts{};
  SharedCacheCounts shared;
  for (const auto& source : shared_sources) {
    const SharedCacheCounts c = source();
    shared.hits += c.hits;
    shared.misses += c.misses;
    shared.waited += c.waited;
    shared.errors += c.errors;
  }
  const bool have_log = static_cast<bool>(log_source);
  const DecisionLogCounts log_counts = have_log ? log_source() : DecisionLogCounts{};
  // One lock for the whole rendering: every series in one scrape comes from the same instant.
  std::lock_guard lock(state_->mutex);

  header(out, "imagegate_admission_reviews_total", "counter", "Admission reviews answered, by operation and decision.");
  // Every known (operation, decision) pair from the start, at 0 until it happens, so rate() works from the
  // first review on; "other" only once seen. In label order, as a map of them would list them.
  std::map<std::pair<std::string_view, std::string_view>, std::uint64_t> reviews;
  for (std::size_t o = 0; o <= kOperations.size(); ++o) {
    for (std::size_t d = 0; d <= kDecisions.size(); ++d) {
      const std::uint64_t value = state_->reviews[o][d].load(std::memory_order_relaxed);
      const bool known = o < kOperations.size() && d < kDecisions.size();
      if (!known && value == 0) continue;
      reviews[{o < kOperations.size() ? kOperations[o] : "other", d < kDecisions.size() ? kDecisions[d] : "other"}] = value;
    }
  }
  for (const auto& [key, value] : reviews) {
    out.append("imagegate_admission_reviews_total{operation=\"").append(key.first).append("\",decision=\"");
    out.append(key.second).append("\"} ").append(std::to_string(value)).append("\n");
  }

  header(out, "imagegate_admission_review_duration_seconds", "histogram",
         "Time from receiving an admission review to its answer, by operation.");
  render_histogram(out, "imagegate_admission_review_duration_seconds", "operation", state_->review_duration);

  header(out, "imagegate_admission_stage_duration_seconds", "histogram",
         "Time spent in each stage of an admission review.");
  render_histogram(out, "imagegate_admission_stage_duration_seconds", "stage", state_->stage_duration);

  header(out, "imagegate_admission_reviews_in_flight", "gauge", "Admission reviews being processed.");
  out.append("imagegate_admission_reviews_in_flight ")
      .append(std::to_string(state_->in_flight.load(std::memory_order_relaxed)))
      .append("\n");

  header(out, "imagegate_registry_requests_total", "counter",
         "HTTP exchanges with registries and their token realms, by result.");
  for (const auto& [result, value] : state_->registry_requests) {
    out.append("imagegate_registry_requests_total{result=\"").append(result).append("\"} ");
    out.append(std::to_string(value)).append("\n");
  }
  header(out, "imagegate_registry_request_duration_seconds", "histogram",
         "Time of each HTTP exchange with a registry or token realm (connection set-up included), by result.");
  render_histogram(out, "imagegate_registry_request_duration_seconds", "result", state_->registry_duration);
  if (have_cache) {
    header(out, "imagegate_registry_cache_lookups_total", "counter",
           "Tag resolutions asked of the registry cache: hit (fresh answer), miss (went to the registry), shared "
           "(waited on another caller's request), stale (registry unavailable, stale-if-error answer).");
    for (const auto& [result, value] : {std::pair{"hit", cache.hits}, std::pair{"miss", cache.misses},
                                        std::pair{"shared", cache.shared}, std::pair{"stale", cache.stale}}) {
      out.append("imagegate_registry_cache_lookups_total{result=\"").append(result).append("\"} ");
      out.append(std::to_string(value)).append("\n");
    }
  }
  if (!shared_sources.empty()) {
    header(out, "imagegate_shared_cache_total", "counter",
           "Answers looked up in the cache the replicas share through Redis: hit (another replica's answer), miss "
           "(computed here), waited (waited on another replica's lease), error (Redis unavailable).");
    for (const auto& [result, value] : {std::pair{"hit", shared.hits}, std::pair{"miss", shared.misses},
                                        std::pair{"waited", shared.waited}, std::pair{"error", shared.errors}}) {
      out.append("imagegate_shared_cache_total{result=\"").append(result).append("\"} ");
      out.append(std::to_string(value)).append("\n");
    }
  }

  header(out, "imagegate_policy_reloads_total", "counter", "Policy loads and reloads, by result.");
  out.append("imagegate_policy_reloads_total{result=\"success\"} ")
      .append(std::to_string(state_->policy_reloads_success))
      .append("\n");
  out.append("imagegate_policy_reloads_total{result=\"failure\"} ")
      .append(std::to_string(state_->policy_reloads_failure))
      .append("\n");

  header(out, "imagegate_policy_loaded", "gauge", "1 when a valid policy is in force, else 0.");
  out.append("imagegate_policy_loaded ").append(state_->policy_loaded ? "1" : "0").append("\n");

  header(out, "imagegate_tls_reloads_total", "counter", "TLS certificate reloads, by result.");
  out.append("imagegate_tls_reloads_total{result=\"success\"} ")
      .append(std::to_string(state_->tls_reloads_success))
      .append("\n");
  out.append("imagegate_tls_reloads_total{result=\"failure\"} ")
      .append(std::to_string(state_->tls_reloads_failure))
      .append("\n");

  header(out, "imagegate_http_requests_total", "counter",
         "HTTP requests answered with something other than an admission review, by status code.");
  for (std::size_t slot = 0; slot < kStatusSlots; ++slot) {  // 100..599 then other: label order
    const std::uint64_t value = state_->http_responses[slot].load(std::memory_order_relaxed);
    if (value == 0) continue;
    const std::string code = slot + 1 < kStatusSlots ? std::to_string(slot + 100) : "other";
    out.append("imagegate_http_requests_total{code=\"").append(code).append("\"} ");
    out.append(std::to_string(value)).append("\n");
  }

  header(out, "imagegate_verdict_api_requests_total", "counter", "Verdict API requests answered, by route and status code.");
  for (const auto& [key, value] : state_->api_requests) {
    out.append("imagegate_verdict_api_requests_total{route=\"").append(key.first).append("\",code=\"");
    out.append(key.second).append("\"} ").append(std::to_string(value)).append("\n");
  }

  header(out, "imagegate_verdicts_stored_total", "counter", "Scan verdicts the verdict API stored, by result.");
  out.append("imagegate_verdicts_stored_total{result=\"success\"} ")
      .append(std::to_string(state_->verdicts_stored_success))
      .append("\n");
  out.append("imagegate_verdicts_stored_total{result=\"failure\"} ")
      .append(std::to_string(state_->verdicts_stored_failure))
      .append("\n");

  header(out, "imagegate_inventory_records_total", "counter",
         "Inventory sightings (image digest in a workload) written to the store, failed, or dropped (queue full).");
  for (const auto& [result, value] : state_->inventory_records) {
    out.append("imagegate_inventory_records_total{result=\"").append(result).append("\"} ");
    out.append(std::to_string(value)).append("\n");
  }
  if (have_log) {
    header(out, "imagegate_decision_log_lines_total", "counter",
           "Decision-log lines written to stdout, dropped (queue full: stdout not read), or failed (write error).");
    for (const auto& [result, value] : {std::pair{"written", log_counts.written},
                                        std::pair{"dropped", log_counts.dropped},
                                        std::pair{"failed", log_counts.failed}}) {
      out.append("imagegate_decision_log_lines_total{result=\"").append(result).append("\"} ");
      out.append(std::to_string(value)).append("\n");
    }
  }
  render_expiries(out, tls_expiry, trust_source ? trust_source() : std::vector<TrustExpiry>{});
  render_process_metrics(out, read_process_stats(), IMAGEGATE_VERSION);
  return out;
}

}  // namespace imagegate::webhook
