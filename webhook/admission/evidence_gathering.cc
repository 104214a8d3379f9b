// gather_within_budget (declared in policy_admission_service.h): every job's evidence, concurrently but at
// most `max_concurrent` at once, within the review's budget. /validate and /mutate both gather this way.

#include "common/asio_warnings.h"  // before any Asio header

#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "webhook/admission/policy_admission_service.h"

namespace imagegate::webhook {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// Every image that needs network checks gets its own coroutine, all on one strand with a shared state; at
// most `max_concurrent` run at once (each one's registry requests are sequential, so a review never has
// more registry requests in flight than that: one review of 300 images must not open 300 connections), and
// each that ends starts the next job. The phase waits on a timer that either expires (the budget) or is
// cancelled by the last coroutine to finish. On expiry jobs not yet started never start, the running ones
// are sent a terminal cancellation and are *not* waited for: an EvidenceSource that ignores cancellation
// must not hold the answer past the API server's timeout. Late results land in the shared state (kept
// alive by the stragglers) and are ignored.

struct GatherState {
  PolicySnapshot snapshot;  // the review's; keeps every plan.rule alive
  std::vector<EvidenceJob> jobs;
  std::vector<std::optional<policy::Evidence>> results;
  std::vector<std::string> failures;  // what() of a gather that threw
  std::unique_ptr<asio::cancellation_signal[]> signals;
  std::optional<asio::steady_timer> done;
  std::optional<asio::any_io_executor> executor;  // the phase's strand
  std::size_t next = 0;       // the first job not started yet
  std::size_t remaining = 0;
  bool closed = false;  // the phase is over: later completions are ignored, no job starts
};

asio::awaitable<void> gather_one(std::shared_ptr<GatherState> state, EvidenceSource& source, std::size_t i);

// Starts the next job, if any is left and the phase is still open. On the strand.
void start_next(const std::shared_ptr<GatherState>& state, EvidenceSource& source) {
  if (state->closed || state->next == state->jobs.size()) return;
  const std::size_t i = state->next++;
  asio::co_spawn(*state->executor, gather_one(state, source, i),
                 asio::bind_cancellation_slot(state->signals[i].slot(), asio::detached));
}

asio::awaitable<void> gather_one(std::shared_ptr<GatherState> state, EvidenceSource& source, std::size_t i) {
  std::optional<policy::Evidence> result;
  std::string failure;
  try {
    result = co_await source.gather(state->jobs[i].image, state->jobs[i].plan, state->snapshot);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown error";
  }
  if (state->closed) co_return;
  if (result) {
    state->results[i] = std::move(result);
  } else {
    state->failures[i] = failure.empty() ? std::string("unknown error") : std::move(failure);
  }
  if (--state->remaining == 0 && state->done) {
    state->done->cancel();
  } else {
    start_next(state, source);
  }
}

asio::awaitable<void> gather_phase(std::shared_ptr<GatherState> state, EvidenceSource& source, milliseconds budget,
                                   std::size_t max_concurrent) {
  const auto executor = co_await asio::this_coro::executor;
  state->executor.emplace(executor);
  state->done.emplace(executor);
  state->done->expires_after(budget);
  for (std::size_t started = 0; started < max_concurrent; ++started) start_next(state, source);
  // The gather coroutines start only after this one suspends (co_spawn posts), all on this strand, so the
  // timer's cancel() cannot be missed.
  if (state->remaining > 0) {
    boost::system::error_code ec;
    co_await state->done->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  state->closed = true;
  for (std::size_t i = 0; i < state->next; ++i) {
    if (!state->results[i] && state->failures[i].empty()) state->signals[i].emit(asio::cancellation_type::terminal);
  }
}

}  // namespace

asio::awaitable<std::vector<GatheredEvidence>> gather_within_budget(
    EvidenceSource& source, std::vector<EvidenceJob> jobs, PolicySnapshot snapshot,
    milliseconds budget, std::size_t max_concurrent) {
  std::vector<GatheredEvidence> out(jobs.size());
  if (jobs.empty()) co_return out;
  auto state = std::make_shared<GatherState>();
  state->snapshot = std::move(snapshot);
  state->jobs = std::move(jobs);
  const std::size_t n = state->jobs.size();
  state->results.resize(n);
  state->failures.resize(n);
  state->signals.reset(new asio::cancellation_signal[n]);
  state->remaining = n;
  auto strand = asio::make_strand(co_await asio::this_coro::executor);
  co_await asio::co_spawn(strand, gather_phase(state, source, budget, max_concurrent == 0 ? 1 : max_concurrent),
                          asio::use_awaitable);
  // The phase is closed: stragglers no longer write the state's vectors, so moving out of them is safe.
  for (std::size_t i = 0; i < n; ++i) {
    out[i].evidence = std::move(state->results[i]);
    out[i].failure = std::move(state->failures[i]);
  }
  co_return out;
}

}  // namespace imagegate::webhook
