--- Every Lua runtime: the suite really runs on the one it names, and the
-- id and list checks give the same answer on all of them, also once a
-- check has run often enough for LuaJIT to compile it.
--
-- LuaJIT 2.1.0-beta3 once compiled a list-key check into a trace that
-- disagreed with the interpreter; each case below runs HOT times in a
-- loop, so a compiled trace answers most of them, and every answer must
-- be the exact one.

local h = require("spec.helper")
local confine = require("confine")
local policy = require("confine.policy")
local core = require("confine.core")

local HOT = 300
local U, G = "confine: policy.user: ", "confine: policy.groups"
local RANGE_UID = " is not a valid uid (0..4294967294)"
local LIST = "; a list of group names or gids takes positions 1..n only"


-- Run `fn` HOT times; return nil when it gave `want` every time, else the
-- iteration and what it gave.
local function hot(fn, want)
  for i = 1, HOT do
    local got = fn()
    if got ~= want then return i, got end
  end
  return nil
end


-- The error message of `f(...)`, or "no error".
local function message(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return "no error" end
  return tostring(err)
end


describe("the Lua runtime", function()
  it("is the one CONFINE_LUA names, with the module built for it",
    function()
      -- the interpreter's name: the first word, without its directory
      local name = h.lua:match("^%S*"):match("[^/]*$")
      if name == "luajit" then
        assert.is_not_nil(rawget(_G, "jit"))
      elseif name:match("^lua5%.[1-4]$") then
        assert.is_nil(rawget(_G, "jit"))
        assert.equal("Lua " .. name:sub(4), _VERSION)
      else
        -- a wrapper (scripts/sanitize): the child's _VERSION is its own
        assert.is_string(_VERSION)
      end
      assert.is_string(core.version)
      assert.equal(confine.version, core.version)
    end)
end)


describe("id checks on every runtime", function()
  local BAD = {
    { -1, "-1" }, { 4294967295, "4294967295" }, { 2^32, "4294967296" },
    { 2^53, "9007199254740992" }, { 1.5, "1.5" }, { -0.5, "-0.5" },
    { 0/0, "nan" }, { 1/0, "inf" }, { -2^31, "-2147483648" },
  }

  it("refuses -1, 4294967295, 2^32, 2^53, 1.5, NaN, inf with the exact "
    .. "message, every time", function()
    for _, c in ipairs(BAD) do
      local want = U .. c[2] .. RANGE_UID
      local i, got = hot(function()
        return message(confine.policy, { user = c[1] })
      end, want)
      assert.is_nil(i, c[2] .. " at iteration " .. tostring(i) .. ": "
        .. tostring(got))
    end
  end)

  it("refuses the same values in confine.core, every time", function()
    for _, c in ipairs(BAD) do
      local want = "uid: expected an id in 0..4294967294, got " .. c[2]
      local i, got = hot(function()
        local m = message(core.getpwuid, c[1])
        return m:match("bad argument #1 to '[^']*' %((.*)%)$")
      end, want)
      assert.is_nil(i, c[2] .. " at iteration " .. tostring(i) .. ": "
        .. tostring(got))
    end
  end)

  it("accepts whole numbers up to 4294967294, integral floats too, "
    .. "every time", function()
    for _, v in ipairs({ 1, 65534, 2^31, 4294967294, 4294967294.0, 1000.0 })
    do
      local i, got = hot(function()
        local ok, p = pcall(confine.policy, { user = v, group = v })
        return ok and p.user == v and p.group == v and policy.is_id(v)
      end, true)
      assert.is_nil(i, tostring(v) .. " at iteration " .. tostring(i)
        .. ": " .. tostring(got))
    end
  end)
end)


describe("list checks on every runtime", function()
  it("refuses holes, extra keys and bad entries the same way, every time",
    function()
      local cases = {
        { { 1, nil, 3 }, G .. ": has a hole at position 2 (2 entries)"
          .. LIST },
        { { 1, 2, x = 3 }, G .. ': has the key "x"' .. LIST },
        { { [0] = 1 }, G .. ": has the key 0" .. LIST },
        { { 1, [2.5] = 2 }, G .. ": has the key 2.5" .. LIST },
        { { 1, 2, 3, 1.5 }, G .. "[4]: 1.5 is not a valid gid "
          .. "(0..4294967294)" },
        { { 1, 2, 3, 2^32 }, G .. "[4]: 4294967296 is not a valid gid "
          .. "(0..4294967294)" },
        { { 1, 2, 3 }, "no error" },
      }
      for n, c in ipairs(cases) do
        local i, got = hot(function()
          return message(confine.policy, { user = 1, groups = c[1] })
        end, c[2])
        assert.is_nil(i, "case " .. n .. " at iteration " .. tostring(i)
          .. ": " .. tostring(got))
      end
    end)
end)
