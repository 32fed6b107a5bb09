local h = require("spec.helper")
package.path = h.root .. "/lua/?.lua;" .. package.path
package.cpath = h.build .. "/?.so;" .. package.cpath

local confine = require("confine")

-- Thousands of random policy tables: confine.policy either accepts one or
-- raises a clean one-line `confine: policy` error; nothing else.  The seed
-- is printed (CONFINE_SEED replays a run).
local SEED = tonumber(os.getenv("CONFINE_SEED") or "") or 20261204
local COUNT = tonumber(os.getenv("CONFINE_COUNT") or "") or 5000

local FIELDS = { "user", "group", "groups", "chroot", "chdir", "caps",
  "ambient", "no_new_privs", "securebits", "preload", "close_fds",
  "allow_root", "strict_jail", "on_error" }
local WORDS = { "nobody", "nogroup", "daemon", "root", "user", "all", "=ep",
  "net_bind_service", "cap_net_raw", "CAP_KILL", "setuid", "noroot",
  "noroot_locked", "keep_caps", "keep_caps_locked", "exit", "error",
  "/srv", "/run/x", "/", "..", "socket", "0day", "0", "65534", "" }
-- No nil in the list: 5.1, 5.2 and LuaJIT have no math.maxinteger.
local NUMBERS = { 0, 1, -1, 3, 65534, 4294967294, 4294967295, 2^32, 2^53,
  -2^63, 1.5, 0.1, 1/0, -1/0, 0/0, math.maxinteger or 2^63 - 1024,
  math.mininteger or -2^63, 1e308 }

local random = math.random

local function rstring()
  local r = random(6)
  if r == 1 then return WORDS[random(#WORDS)] end
  if r == 2 then return ("x"):rep(random(0, 5000)) end
  local n = random(0, 40)
  local b = {}
  for i = 1, n do b[i] = string.char(random(0, 255)) end
  if r == 3 then b[random(n + 1)] = "\0" end
  return table.concat(b)
end

local value
local function rtable(depth)
  local t = {}
  local r = random(4)
  if r == 1 then
    for i = 1, random(0, 6) do t[i] = value(depth + 1) end
  elseif r == 2 then
    for _ = 1, random(0, 4) do
      local k = value(depth + 1)
      if k == nil or k ~= k then k = 1 end
      t[k] = value(depth + 1)
    end
  elseif r == 3 then
    t[1], t[3] = value(depth + 1), value(depth + 1)
  end
  return t
end

function value(depth)
  local r = random(depth > 2 and 5 or 7)
  if r == 1 then return NUMBERS[random(#NUMBERS)] end
  if r == 2 then return random(-10, 70000) end
  if r == 3 or r == 4 then return rstring() end
  if r == 5 then return random(2) == 1 end
  if r == 6 then return rtable(depth) end
  return nil
end

-- Good values per field, so many tables are valid but for one mutation.
local GOOD = {
  user = { "nobody", 65534, "daemon", 1 },
  group = { "nogroup", 65534, 1 },
  groups = { {}, "user", { 4, "nogroup" } },
  chroot = { "/srv", "/run/empty", "//a//b/" },
  chdir = { "/", "/tmp" },
  caps = { {}, { "net_bind_service" }, { "cap_net_raw", "CAP_KILL" } },
  ambient = { true, false },
  no_new_privs = { true, false },
  securebits = { {}, { "noroot_locked" }, { "no_setuid_fixup" } },
  preload = { {}, { "socket" } },
  close_fds = { true, false, { 3, 4 } },
  allow_root = { false },
  strict_jail = { true, false },
  on_error = { "exit", "error" },
}

local function policy_table()
  local t = {}
  local mostly_good = random(2) == 1
  for _, f in ipairs(FIELDS) do
    if random(3) == 1 or f == "user" and mostly_good then
      if mostly_good then
        t[f] = GOOD[f][random(#GOOD[f])]
      else
        local v = value(0)
        if v ~= v then v = 0/0 end
        t[f] = v
      end
    end
  end
  if mostly_good and random(2) == 1 then
    local f = FIELDS[random(#FIELDS)]
    t[f] = value(0)
  end
  if not mostly_good and random(2) == 1 then
    t.user = random(2) == 1 and "nobody" or 65534
  end
  if random(10) == 1 then t[rstring()] = value(0) end
  if random(20) == 1 then t[random(-3, 3)] = true end
  return t
end

describe("confine.policy() on random tables", function()
  it(("accepts or raises a clean error (seed %d, %d tables)"):format(SEED,
    COUNT), function()
    print(("\nconfine.policy property: seed %d (CONFINE_SEED=%d replays)")
      :format(SEED, SEED))
    math.randomseed(SEED)
    local accepted, refused = 0, 0
    for i = 1, COUNT do
      local t = policy_table()
      local ok, res = pcall(confine.policy, t)
      if ok then
        accepted = accepted + 1
        assert.are.equal("table", type(res), "table " .. i)
        -- what was accepted is accepted again, unchanged
        assert.are.same(res, confine.policy(res))
      else
        refused = refused + 1
        assert.are.equal("string", type(res), "table " .. i)
        assert.truthy(res:find("^confine: policy[%.%[:]"),
          "table " .. i .. ": " .. res)
        assert.falsy(res:find("[%c\128-\255]"), "table " .. i
          .. ": a control or non-ASCII byte in " .. ("%q"):format(res))
        assert.truthy(#res < 400, "table " .. i .. ": too long: " .. res)
        assert.falsy(res:find("traceback", 1, true), res)
      end
    end
    print(("accepted %d, refused %d"):format(accepted, refused))
    assert.truthy(accepted > COUNT / 50)
    assert.truthy(refused > COUNT / 2)
  end)
end)
