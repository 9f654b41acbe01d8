-- wrk script of `npm run bench`: POST /ingest with the bytes of one file, a unique profile id per
-- request, every response counted by status (wrk's own summary only counts non-2xx, and the bench
-- needs the exact number of 200s: each one is an acknowledged profile), optionally paced.
--   wrk ... -s ingest.lua <url> -- <body file> <run tag> [<requests per second> <wrk threads>]
-- done() prints one line, "bench-result <json>", for the bench to parse.
local ffi = require("ffi")

ffi.cdef([[
struct timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock_id, struct timespec *tp);
]])

-- Main state: every thread, so that done() can read their counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

-- Thread states. Globals, not locals: done() reads them with thread:get().
statuses = {}
first_failure = nil

local body, tag
local counter = 0
local headers = { ["Content-Type"] = "application/octet-stream" }

local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct timespec")

-- wrk offers no clock to its scripts.
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  body = file:read("*a")
  file:close()
  tag = args[2]
  if args[3] ~= nil then
    -- wrk only asks for delay() when the script defines it, so only paced runs define it.
    local spacing_ms = tonumber(args[4]) / tonumber(args[3]) * 1000
    local next_slot = now_ms()
    delay = function()
      -- Called before each request of any of this thread's connections: the request takes the
      -- thread's next slot. A fixed pause per connection instead would add the answer time to every
      -- interval and fall short of the rate. Slots already past go out at once: clients do not wait
      -- for the relay, so a stall is followed by the requests it held back.
      local slot = next_slot
      next_slot = next_slot + spacing_ms
      return math.max(0, math.floor(slot - now_ms() + 0.5))
    end
  end
end

function request()
  counter = counter + 1
  local path = "/ingest?name=bench%7Bid%3D" .. tag .. "-" .. thread_id .. "-" .. counter
    .. "%7D&format=pprof&from=1700000000&until=1700000010"
  return wrk.format("POST", path, headers, body)
end

function response(status, _, response_body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 and first_failure == nil then
    first_failure = status .. " " .. string.sub(response_body or "", 1, 200)
  end
end

local function json_string(text)
  return '"' .. string.gsub(text, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, _)
  local total = {}
  local failure = nil
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    failure = failure or thread:get("first_failure")
  end
  local counts = {}
  for status, count in pairs(total) do
    table.insert(counts, string.format('"%d":%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'bench-result {"durationUs":%d,"completed":%d,"statuses":{%s},"socketErrors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"p50Us":%d,"p99Us":%d,"firstFailure":%s}\n',
    summary.duration, summary.requests, table.concat(counts, ","), e.connect, e.read, e.write, e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)), failure and json_string(failure) or "null"))
end
