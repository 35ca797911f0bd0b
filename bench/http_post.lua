-- wrk script for the bench's HTTP phase (bench/api_load.py writes the data file and reads the
-- JSON line `done` prints). One wrk thread per connection (-t N -c N), one merchant per
-- thread, as one terminal sends one request at a time: concurrent sales of one merchant would
-- queue on its balance row, which is not what this measures.
--
-- Every request: a fresh Idempotency-Key, the thread's merchant key, a sale body like
-- bench.common.sale_fields (debit chip, credit contactless, WeChat QR, Alipay QR in turn;
-- amounts 10–2,000 CNY never ending in a sandbox decline tail). The no-op run posts the very
-- same bodies to /api/v1/ping. Answers are counted by status; only `expect` counts as done.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

local data, shop, path, tag, expect, debit, credit
local n, shown = 0, 0
counts = {}  -- a global: done() reads it from every thread with thread:get
local headers = {["Content-Type"] = "application/json", ["Accept-Language"] = "en"}
local triggers = {[5] = true, [51] = true, [55] = true, [96] = true, [97] = true, [98] = true}

local function masked(pan)
   return pan:sub(1, 6) .. string.rep("*", #pan - 10) .. pan:sub(-4)
end

function init(args)
   data = dofile(args[1])
   path, tag, expect = data.path, data.tag, data.expect
   shop = data.shops[(id - 1) % #data.shops + 1]
   if expect ~= 201 then  -- not the sale (201 Created): the no-op
      -- The no-op takes no card number (a full one anywhere but the sale's own field is
      -- refused, core/pan.py): the same body with the card masked, the same length.
      debit, credit = masked(data.debit), masked(data.credit)
   else
      debit, credit = data.debit, data.credit
   end
   headers["Authorization"] = "Bearer " .. shop.key
   math.randomseed(7000 + id)
end

local function amount()
   local fen = math.random(1000, 200000)
   while triggers[fen % 100] do fen = fen + 1 end
   return fen
end

local function digits(k)  -- k random decimal digits (math.random is exact only below 2^31)
   local s = ""
   while #s < k do s = s .. string.format("%08d", math.random(0, 99999999)) end
   return s:sub(1, k)
end

function request()
   n = n + 1
   local m = n % 4
   local tail
   if m == 0 then
      tail = '"channel":"card","entry_mode":"chip","card_number":"' .. debit .. '"'
   elseif m == 1 then
      tail = '"channel":"card","entry_mode":"contactless","card_number":"' .. credit .. '"'
   elseif m == 2 then
      tail = '"channel":"wechat","entry_mode":"qr","wallet_auth_code":"13' .. digits(16) .. '"'
   else
      tail = '"channel":"alipay","entry_mode":"qr","wallet_auth_code":"28' .. digits(14) .. '"'
   end
   local body = string.format('{"terminal_id":"%s","stan":"%06d","amount":%d,%s}',
                              shop.tid, n % 1000000, amount(), tail)
   headers["Idempotency-Key"] = string.format("wrk:%s:%d:%d", tag, id, n)
   return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
   counts[status] = (counts[status] or 0) + 1
   if status ~= expect and shown < 3 then
      shown = shown + 1
      io.stderr:write(string.format("HTTP %d: %s\n", status, body:sub(1, 300)))
   end
end

function done(summary, latency, requests)
   local total, statuses = {}, {}
   for _, t in ipairs(threads) do
      for status, k in pairs(t:get("counts")) do total[status] = (total[status] or 0) + k end
   end
   for status, k in pairs(total) do statuses[#statuses + 1] = string.format('"%d":%d', status, k) end
   -- The latency distribution as 200 quantiles (every 0.5 %, the last one the maximum), so
   -- that the bench can pool windows; microseconds, every answer whatever its status.
   local q = {}
   for i = 1, 200 do q[i] = string.format("%d", latency:percentile(i / 2)) end
   local e = summary.errors
   io.write(string.format(
      '{"duration_us":%d,"requests":%d,"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"timeout":%d},"p50_us":%d,"p99_us":%d,"quantiles_us":[%s]}\n',
      summary.duration, summary.requests, table.concat(statuses, ","), e.connect, e.read, e.write,
      e.timeout, latency:percentile(50), latency:percentile(99), table.concat(q, ",")))
end
