-- wrk script: PUT a 16-byte value to a fresh key per request.
-- KIND=chorus: PUT /v1/kv/{key}; KIND=etcd: POST /v3/kv/put (etcd's v3 JSON gateway).
local kind = os.getenv("KIND") or "chorus"
local counter = 0
local thread_id = 0
local value = "0123456789abcdef"
local b64value = "MDEyMzQ1Njc4OWFiY2RlZg=="

local function b64(s)
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  counter = counter + 1
  local key = "k-" .. tostring(tid) .. "-" .. tostring(counter)
  if kind == "etcd" then
    return wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" },
      '{"key":"' .. b64(key) .. '","value":"' .. b64value .. '"}')
  end
  return wrk.format("PUT", "/v1/kv/" .. key, nil, value)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d non2xx=%d p50_ms=%.3f p99_ms=%.3f\n",
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
