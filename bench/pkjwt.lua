-- wrk: POST /oauth/token with private_key_jwt client authentication (RFC 7523 §2.2), one
-- pre-signed client assertion per request, each used once (bench/token_pkjwt.py).
--
-- The wrapper bench/pkjwt_assertions.py writes sets `assertions_file` (one assertion a line) and
-- `form_prefix`, then loads this file. Every assertion's `jti` is single-use: handing one out
-- twice would be answered 401 and measure a refusal, not a token. So when the file runs out the
-- thread stops, the remaining request is one the server refuses, and `done` makes wrk exit with
-- status 3: the run fails loudly instead of looking fast.

local requests = {}
local next_index = 0
exhausted = 0 -- global, so that `done` can read it through thread:get

function init(args)
  -- Here rather than at load time: wrk loads a script once more for its main state, which
  -- needs no requests.
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  for line in io.lines(assertions_file) do
    requests[#requests + 1] = wrk.format("POST", "/oauth/token", headers, form_prefix .. line)
  end
end

function request()
  next_index = next_index + 1
  local prepared = requests[next_index]
  if prepared == nil then
    exhausted = exhausted + 1
    wrk.thread:stop()
    return wrk.format("POST", "/oauth/token", nil, "grant_type=client_credentials")
  end
  return prepared
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if (thread:get("exhausted") or 0) > 0 then
      io.stderr:write("pkjwt.lua: ran out of assertions (" .. assertions_file .. ")\n")
      os.exit(3)
    end
  end
end
