-- wrk script of bench/soak.sh: POSTs the AdmissionReviews listed in SOAK_BODIES (one file name a line),
-- in turn, to /validate?timeout=3s over keep-alive; SOAK_DELAY_MS holds each connection that long between
-- requests (the offered rate: connections * 1000 / delay per second). Counts answers by status and by
-- decision, and those later than the API server's 3 s timeout.
local bodies = {}
for name in io.lines(os.getenv("SOAK_BODIES")) do
  local f = assert(io.open(name, "rb"))
  bodies[#bodies + 1] = f:read("*a")
  f:close()
end

local counter = 0
function request()
  counter = counter + 1
  return wrk.format("POST", "/validate?timeout=3s", {["Content-Type"] = "application/json"},
                    bodies[(counter % #bodies) + 1])
end

local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay() return delay_ms end
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  allowed, denied, bad = 0, 0, 0
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  elseif body:find('"allowed":true', 1, true) then
    allowed = allowed + 1
  else
    denied = denied + 1
  end
end

function done(summary, latency, requests)
  local a, d, b = 0, 0, 0
  for _, t in ipairs(threads) do
    a, d, b = a + t:get("allowed"), d + t:get("denied"), b + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f allowed=%d denied=%d non200=%d socket_errors=%d timeouts=%d " ..
    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.requests / (summary.duration / 1e6), a, d, b,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
