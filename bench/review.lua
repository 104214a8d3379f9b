-- wrk script: POST one AdmissionReview (a Deployment with 3 containers) to /validate over keep-alive.
-- BENCH_BODY names the file with the review; BENCH_DELAY_MS, when set, makes each connection wait that
-- long between requests, which holds the offered rate near connections * 1000 / delay per second
-- (used to measure latency at a fixed fraction of the peak rate).
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.path = "/validate?timeout=10s"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay() return delay_ms end
end

local statuses = {}
function response(status, headers, b)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
      summary.errors.timeout))
end
