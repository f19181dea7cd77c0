-- wrk script: POST /api/v1/projects/{id}/health with a bearer token, rotating project ids.
-- Environment: BENCH_TOKEN (the bearer token), BENCH_IDS (a file with one project id a line).
-- At the end it prints one JSON line (prefixed "BENCH_JSON ") with latency percentiles in
-- microseconds, the request count and every kind of error (non-2xx answers included).

local token = os.getenv("BENCH_TOKEN")
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  if #line > 0 then ids[#ids + 1] = line end
end

local healths = { '{"health":"on_track"}', '{"health":"at_risk"}', '{"health":"off_track"}' }
local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- each thread walks the ids from its own offset, so threads rarely share a project
  counter = (offset or 0) * 104729
end

function request()
  counter = counter + 7919  -- a prime step: consecutive requests hit distant projects
  local id = ids[(counter % #ids) + 1]
  local body = healths[(counter % #healths) + 1]
  return wrk.format("POST", "/api/v1/projects/" .. id .. "/health", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

local non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if non2xx <= 3 then io.stderr:write("non-2xx " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
    e.timeout))
end
