// Prometheus metrics for the admission service, rendered in the text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Label values come from small fixed sets
// (operation, decision, stage, result): never image names or uids, so cardinality stays bounded.
//
// Anchor names (the policy's) are the one label from outside a fixed set: escaped, and as many as the
// policy has anchors.
//
// Thread-safe: any io_context thread may record; /metrics renders a consistent-enough snapshot.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace imagegate::webhook {

struct DecisionLogCounts;  // webhook/observe/decision_log.h

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // imagegate_admission_reviews_total{operation,decision} and
  // imagegate_admission_review_duration_seconds{operation} (histogram). decision: allowed|warned|denied|error.
  void observe_review(std::string_view operation, std::string_view decision, double seconds);
  // imagegate_admission_stage_duration_seconds{stage} (histogram): decode, policy, encode, and one per
  // verification kind (resolve, cosign, notary, notation, verdict).
  void observe_stage(std::string_view stage, double seconds);
  // imagegate_admission_reviews_in_flight (gauge).
  void add_in_flight(int delta);
  // imagegate_policy_reloads_total{result=success|failure}, imagegate_policy_loaded (gauge 0/1).
  void policy_reload(bool ok);
  // imagegate_tls_reloads_total{result=success|failure}.
  void tls_reload(bool ok);
  // imagegate_http_requests_total{code} for non-review answers (400, 404, 405, 413, ...), by status code.
  void http_response(unsigned status);
  // imagegate_registry_requests_total{result} and imagegate_registry_request_duration_seconds{result}
  // (histogram): each HTTP exchange with a registry or its token realm (OciRegistryClient's request
  // observer). result: ok, not_found, unauthorized, rate_limited, server_error, error.
  void registry_request(std::string_view result, double seconds);
  // imagegate_registry_cache_lookups_total{result=hit|miss|shared|stale}, read from `source` at each scrape
  // (the cache keeps the counts: CachingRegistryClient::stats). `source` must be thread-safe and outlive
  // these metrics; set it before serving.
  struct RegistryCacheCounts {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t shared = 0;
    std::uint64_t stale = 0;
  };
  void set_registry_cache_source(std::function<RegistryCacheCounts()> source);
  // imagegate_shared_cache_total{result=hit|miss|waited|error}: answers shared between replicas through
  // Redis (verifier::SharedLookup::stats), summed over every source added, read at each scrape; absent
  // without a source. Sources must be thread-safe and outlive these metrics; add them before serving.
  struct SharedCacheCounts {
    std::uint64_t hits = 0;     // another replica's answer used
    std::uint64_t misses = 0;   // computed here
    std::uint64_t waited = 0;   // waited on another replica's lease
    std::uint64_t errors = 0;   // Redis unavailable or a bad reply
  };
  void add_shared_cache_source(std::function<SharedCacheCounts()> source);
  // imagegate_verdict_api_requests_total{route,code}: the verdict API listener's answers. route: one of
  // verdicts_put, verdicts_get, verdicts_list, inventory, inventory_rescan, inventory_violations, healthz,
  // other.
  void verdict_api_request(std::string_view route, unsigned status);
  // imagegate_verdicts_stored_total{result=success|failure}: verdicts the API tried to store.
  void verdict_stored(bool ok);
  // imagegate_inventory_records_total{result=written|failed|dropped}: inventory sightings written to the
  // store, lost to a store failure, or dropped because the queue was full.
  void inventory_records(std::string_view result, std::size_t count);

  // imagegate_decision_log_lines_total{result=written|dropped|failed}: decision-log lines handed to stdout,
  // dropped because the queue was full (stdout not read), or lost to a failed write; read from `source` at
  // each scrape (DecisionLog::counts). `source` must be thread-safe and outlive these metrics.
  void set_decision_log_source(std::function<DecisionLogCounts()> source);

  // imagegate_tls_certificate_expiry_seconds: the serving certificate's notAfter, unix time (set when it
  // is loaded and at each reload; absent before).
  void set_tls_certificate_expiry(std::chrono::system_clock::time_point not_after);
  // imagegate_trust_material_expiry_seconds{anchor,kind}: the earliest expiry of each anchor's trust
  // material of one kind (certificate, trusted_root, ...), unix time, read from `source` at each scrape
  // (the anchor material in force). Keys never expire: no series. `source` must be thread-safe and outlive
  // these metrics.
  struct TrustExpiry {
    std::string anchor;
    std::string kind;
    std::chrono::system_clock::time_point not_after;
  };
  void set_trust_expiry_source(std::function<std::vector<TrustExpiry>()> source);

  // Everything above, then the process's own series (process_metrics.h) and imagegate_build_info.
  std::string render() const;

 private:
  struct State;
  State* state_;  // owned
};

}  // namespace imagegate::webhook
