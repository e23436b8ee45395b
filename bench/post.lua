-- wrk script for the tollgate benchmark (see bench/run.sh).
--
-- One script serves both modes; everything comes from the environment:
--   BENCH_BODY_FILE   file holding the JSON request body (required)
--   BENCH_PATH        request path (default: the path of the URL given to wrk)
--   BENCH_AUTH_TOKEN  if set, sent as "Authorization: Bearer <token>"
--
-- No request()/response() callbacks are defined on purpose: with none, wrk
-- serialises the request once and never enters Lua on the hot path, so the
-- client costs the same CPU against every target.
--
-- done() prints one machine-readable line that run.sh parses:
--   BENCH_RESULT requests=.. duration_us=.. p50_us=.. ... err_timeout=..
-- Latencies come straight from wrk's histogram in microseconds, so there is
-- no unit parsing of wrk's human-readable ("1.23ms") output.

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file == nil or body_file == "" then
  io.stderr:write("post.lua: BENCH_BODY_FILE is not set\n")
  os.exit(2)
end

local f, err = io.open(body_file, "rb")
if f == nil then
  io.stderr:write("post.lua: cannot open BENCH_BODY_FILE: " .. tostring(err) .. "\n")
  os.exit(2)
end
local body = f:read("*a")
f:close()
-- Drop a trailing newline so Content-Length matches the JSON exactly.
body = body:gsub("[\r\n]+$", "")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"

local path = os.getenv("BENCH_PATH")
if path ~= nil and path ~= "" then
  wrk.path = path
end

local token = os.getenv("BENCH_AUTH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
