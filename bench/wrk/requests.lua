-- wrk's script for bench/run.sh: sends requests drawn at random from a file that
-- `hpms-loadgen --write-requests` wrote (one a line: a signed token, a tab, a GraphQL JSON body),
-- so every request is for a random clinic and day as with the load generator, and checks every
-- answer: one that is not HTTP 200 or that carries GraphQL `errors` counts as failed. Prints one
-- line of figures in the load generator's format, which run.sh reads.
--
--   wrk -c N -t T -d S -s bench/wrk/requests.lua <url> -- <requests file>

local requests = {}
failed = 0 -- global: done() reads each thread's count with thread:get()
local shown = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1]), "usage: wrk ... -s requests.lua <url> -- <requests file>")
  for line in file:lines() do
    local token, body = line:match("^([^\t]+)\t(.+)$")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. token,
    }, body)
  end
  file:close()
  assert(#requests > 0, args[1] .. " holds no requests")
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
  return requests[math.random(#requests)]
end

-- Any answer but a 200 without errors counts as failed (wrk's own status count, which this
-- replaces, misses the 1xx, other 2xx and 3xx answers).
function response(status, headers, body)
  if status == 200 and not body:find('"errors"', 1, true) then
    return
  end
  failed = failed + 1
  if shown < 3 then
    shown = shown + 1
    io.stderr:write("request failed: HTTP " .. status .. ": " .. body:sub(1, 400) .. "\n")
  end
end

function done(summary, latency, _)
  local failures = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  for _, thread in ipairs(threads) do
    failures = failures + thread:get("failed")
  end
  io.write(string.format("wrk requests=%d errors=%d req/s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, failures, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
