-- wrk script for the HTTP benchmark: POSTs pre-generated JSON bodies (one per
-- line of BODIES), each thread striding through them from OFFSET, and writes
-- every slot token it is served to TOKENS-<thread>.txt. done() prints one JSON
-- line with the latency percentiles and status counts. Token files are flushed
-- when wrk exits.
-- Usage: wrk -tTHREADS ... -s load.lua <url> -- BODIES TOKENS OFFSET AUTH THREADS
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  tokens = nil
  if args[2] ~= "-" then tokens = io.open(args[2] .. "-" .. id .. ".txt", "w") end
  offset = tonumber(args[3])
  auth = args[4]
  stride = tonumber(args[5])
  n = 0
  s2xx, s4xx, s5xx, other = 0, 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. auth
end

function request()
  local i = (offset + id + n * stride) % #bodies + 1
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    s2xx = s2xx + 1
    if tokens then
      for token in string.gmatch(body, '"token":"([^"]+)"') do tokens:write(token, "\n") end
    end
  elseif status >= 500 then s5xx = s5xx + 1
  elseif status >= 400 then s4xx = s4xx + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local c = { s2xx = 0, s4xx = 0, s5xx = 0, other = 0, sent = 0 }
  for _, t in ipairs(threads) do
    c.s2xx = c.s2xx + t:get("s2xx")
    c.s4xx = c.s4xx + t:get("s4xx")
    c.s5xx = c.s5xx + t:get("s5xx")
    c.other = c.other + t:get("other")
    c.sent = math.max(c.sent, t:get("n"))
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"errors":%d,"timeouts":%d,"s2xx":%d,"s4xx":%d,"s5xx":%d,"other":%d,"maxSentPerThread":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.timeout, c.s2xx, c.s4xx, c.s5xx, c.other, c.sent,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
