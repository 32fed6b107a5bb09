-- confine.verify: after a real drop in a child, each kind of discrepancy
-- is simulated by overriding one core function in a proxy, and verify must
-- name it.
local h = require("spec.helper")

local BODY = [[
local real = require("confine.core")
local fake = {}
package.loaded["confine.core"] = setmetatable(fake, { __index = real })
local confine = require("confine")
local verify = require("confine.verify")

local plan = confine.plan({ user = "nobody", caps = { "net_raw" },
  securebits = { "noroot_locked" }, chroot = "/run", chdir = "/" })
local expected = plan[#plan].args
local jail = real.stat("/run")
local root = { dev = jail.dev, ino = jail.ino }
assert(confine.apply(plan))

-- A fault in the capability bits core.cap_bits reads: bit `add` set on
-- capability n, or bit `clear` cleared (1 effective, 8 bounding, 16
-- ambient).
local function cap_fault(n, add, clear)
  return { cap_bits = function(last)
    local t = real.cap_bits(last)
    local v = t[n] or 0
    if add and v % (2 * add) < add then v = v + add end
    if clear and v % (2 * clear) >= clear then v = v - clear end
    t[n] = v ~= 0 and v or nil
    return t
  end }
end

local FAULTS = {
  clean = {},
  uid = { getresuid = function() return 65534, 65534, 0 end },
  gid = { getresgid = function() return 0, 65534, 65534 end },
  groups = { getgroups = function() return { 4 } end },
  bounding = cap_fault(0, 8),
  ambient = cap_fault(13, 16),
  keepcaps = { get_keepcaps = function() return true end },
  securebits = { get_securebits = function() return 0 end },
  nnp = { get_no_new_privs = function() return false end },
  cwd = { getcwd = function() return "/tmp" end },
  effective = cap_fault(13, nil, 1),
  setuid = { setuid = function() return true end },
  seteuid = { setresuid = function(r, e, s)
    if r == nil and e == 0 then return true end
    return real.setresuid(r, e, s)
  end },
  setresgid = { setresgid = function() return true end },
  setgroups = { setgroups = function() return true end },
  chroot = { chroot = function() return true end },
  threads = { thread_count = function() return 2 end },
  root = { stat = function(path)
    local st = real.stat(path)
    if path == "/" then st.ino = st.ino + 1 end
    return st
  end },
  ctty = { has_ctty = function() return true end },
}
local out = {}
for name, fault in pairs(FAULTS) do
  for k, f in pairs(fault) do fake[k] = f end
  local s, msg = verify.run(expected, root)
  out[name] = s and "ok" or msg
  for k in pairs(fault) do fake[k] = nil end
end
out.dev, out.ino = root.dev, root.ino
return out
]]


describe("confine.verify.run()", function()
  h.it_root("names every discrepancy it reads back, and every regained "
    .. "privilege", function()
    local r = h.child(BODY)
    assert.is_true(r.ok, r.stderr)
    local want = {
      clean = "ok",
      uid = "verify: uid is 65534/65534/0 (real/effective/saved), expected "
        .. "65534",
      gid = "verify: gid is 0/65534/65534 (real/effective/saved), expected "
        .. "65534",
      groups = "verify: groups are {4}, expected {}",
      bounding = "verify: cap_chown is set in the bounding set, expected "
        .. "clear",
      ambient = "verify: cap_net_raw is set in the ambient set, expected "
        .. "clear",
      keepcaps = "verify: keep-caps is still on",
      securebits = "verify: securebit noroot is not set",
      nnp = "verify: no_new_privs is not set",
      cwd = "verify: cwd is /tmp, expected /",
      effective = "verify: cap_net_raw is clear in the effective set, "
        .. "expected set",
      setuid = "verify: setuid(0) succeeded: privilege can be regained",
      seteuid = "verify: setresuid(nil, 0, nil) succeeded: privilege can "
        .. "be regained",
      setresgid = "verify: setresgid(0, 0, 0) succeeded: privilege can be "
        .. "regained",
      setgroups = "verify: setgroups({0}) succeeded: privilege can be "
        .. "regained",
      chroot = "verify: chroot(\".\") succeeded: privilege can be regained",
      threads = "verify: the process has 2 threads; the others kept their "
        .. "privilege",
      root = ("verify: the root directory is not the jail (dev %d ino %d, "
        .. "expected dev %d ino %d)"):format(r.result.dev, r.result.ino + 1,
        r.result.dev, r.result.ino),
      ctty = "verify: the process still has a controlling terminal",
      dev = r.result.dev, ino = r.result.ino,
    }
    assert.are.same(want, r.result)
  end)
end)


describe("confine.verify.securebits_names()", function()
  it("names each bit set", function()
    package.path = h.root .. "/lua/?.lua;" .. package.path
    package.cpath = h.build .. "/?.so;" .. package.cpath
    local core = require("confine.core")
    local verify = require("confine.verify")
    assert.are.same({}, verify.securebits_names(0))
    assert.are.same({ "noroot", "noroot_locked", "keep_caps_locked" },
      verify.securebits_names(core.SECBIT_NOROOT + core.SECBIT_NOROOT_LOCKED
        + core.SECBIT_KEEP_CAPS_LOCKED))
  end)
end)
