-- wrk script of the building benchmark's hot path: GET /api/v1/buildings/bld-NNNNN round-robin over
-- WRK_KEYS buildings (each connection starts at its own offset), with X-API-Key when WRK_API_KEY is set.
-- Prints one line `WRK_JSON {...}` at the end (latencies in µs) for test/load/lib/run-wrk.ts.
local keys = tonumber(os.getenv("WRK_KEYS") or "1000")
local apiKey = os.getenv("WRK_API_KEY")
local counter = 0

init = function(args)
  counter = math.random(0, keys - 1)
  if apiKey and apiKey ~= "" then wrk.headers["X-API-Key"] = apiKey end
end

request = function()
  counter = counter + 1
  return wrk.format(nil, string.format("/api/v1/buildings/bld-%05d", counter % keys))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean":%.1f,"p50":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
