-- The browse crowd for wrk (`bench wrk`, docs/BENCHMARKS.md): every other update comes from a
-- new customer while there are any, the rest from returning customers at least 2 s after
-- their last update; each goes through /start, the product menu, a category page and a
-- product page, and again. The benchmark writes the stores (slug, secret, the four update
-- bodies with {U} for the update id and {C} for the chat) to the file given as the first
-- argument; then the rate offered by all threads together, the customers, the first
-- customer's id, wrk's threads, where `done` writes its JSON, and wrk's duration in seconds.
--
-- wrk keeps a fixed number of connections and sends the next request on a connection when
-- the previous answer came; `delay` holds each request until it is due at the offered rate,
-- so the rate is the offered one for as long as the host answers in time. Nothing is sent in
-- the last half second: wrk does not count the answers of requests still open when it stops,
-- and the host may have accepted them, so their replies would count against nothing.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clock, timespec *ts);
]]
local ts = ffi.new("timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  stores = dofile(args[1])
  users = tonumber(args[3])
  first_user = tonumber(args[4])
  thread_count = tonumber(args[5])
  out = args[6]
  per_thread = tonumber(args[2]) / thread_count
  stop_sending_after = tonumber(args[7]) * 1000 - 500
  started = nil
  issued = 0
  next_new = index
  returning, head, tail = {}, 1, 0
  steps = {}
  turn = 0
  next_update = 0
  statuses = {}
end

function delay()
  local now = now_ms()
  if started == nil then
    started = now
  end
  if now - started > stop_sending_after then
    return 60000
  end
  local due = started + issued * 1000 / per_thread
  issued = issued + 1
  if due > now then
    return math.floor(due - now)
  end
  return 0
end

local function next_user(now)
  turn = turn + 1
  local ready = head <= tail and returning[head][2] <= now
  local user
  if next_new < users and (turn % 2 == 0 or not ready) then
    user = next_new
    next_new = next_new + thread_count
  elseif head <= tail then
    user = returning[head][1]
    returning[head] = nil
    head = head + 1
  else
    user = index
  end
  local step = steps[user] or 0
  steps[user] = step + 1
  tail = tail + 1
  returning[tail] = { user, now + 2000 }
  return user, step
end

function request()
  local user, step = next_user(now_ms())
  local store = stores[user % #stores + 1]
  next_update = next_update + 1
  local update_id = index + thread_count * next_update
  local chat = first_user + user
  local body = store.steps[step % 4 + 1]:gsub("{(%a)}", { U = update_id, C = chat })
  return wrk.format("POST", "/webhooks/telegram/" .. store.slug, {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = store.secret,
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(totals) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local file = io.open(threads[1]:get("out"), "w")
  file:write(string.format(
    '{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"statuses":{%s},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d}}',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, table.concat(parts, ","),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  file:close()
end
