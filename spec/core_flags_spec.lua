--- confine.core: bounding and ambient sets, keep-caps, securebits and
-- no_new_privs.  Expectations come from the starting state: this
-- machine's bounding set, for one, lacks cap_sys_resource.

local h = require("spec.helper")
local core = require("confine.core")

local EPERM, EINVAL = 1, 22

-- Drop CAP_SETPCAP from the effective set inside a child body.
local NO_SETPCAP = [[
  local core = require("confine.core")
  assert(core.caps_get():set("effective", "setpcap", false):apply())
]]

local BAD_CAPS = {
  { -1, "cap: expected a whole number in 0..63, got -1" },
  { 64, "cap: expected a whole number in 0..63, got 64" },
  { 1.5, "got 1.5" },
  { 0/0, "got nan" },
  { "nosuch", 'cap: unknown capability string "nosuch"' },
  { "12", 'cap: unknown capability string "12"' },
  { "", "cap: unknown capability" },
  { true, "cap: expected a capability name or number, got boolean" },
  { {}, "got table" },
  { nil, "got nil" },
}


-- This process's status line `name` as a number (a hex mask for Cap*).
local function status(name, pid)
  local f = assert(io.open("/proc/" .. (pid or "self") .. "/status"))
  local s = f:read("*a")
  f:close()
  local v = s:match("\n" .. name .. ":%s*(%x+)")
  return tonumber(v, name:match("^Cap") and 16 or 10)
end


local function bit(mask, n)
  return math.floor(mask / 2^n) % 2 == 1
end


-- A capability in the bounding set that a spec may drop.
local function droppable()
  for _, name in ipairs({ "net_raw", "mknod", "audit_write", "kill" }) do
    if core.bound_get(name) then return core.cap_value(name) end
  end
end


describe("confine.core", function()

  describe("bound_get()", function()
    it("reads every bit of the bounding set", function()
      local mask = status("CapBnd", core.getpid())
      for cap = 0, core.cap_last() do
        assert.equals(bit(mask, cap), core.bound_get(cap))
      end
      assert.equals(core.bound_get(10), core.bound_get("net_bind_service"))
    end)

    it("returns nil, a message and EINVAL past the kernel's last", function()
      local cap = core.cap_last() + 1
      assert.same({ nil, "bound_get " .. core.cap_name(cap) ..
        ": Invalid argument", EINVAL }, { core.bound_get(cap) })
    end)
  end)


  describe("bound_drop()", function()
    h.it_root("drops one capability for good and leaves the rest", function()
      local cap = assert(droppable(), "nothing to drop in the bounding set")
      local last = core.cap_last()
      local res = h.child([[
        local core = require("confine.core")
        local cap = tonumber(os.getenv("CAP"))
        local last = core.cap_last()
        local before = {}
        for c = 0, last do before[c] = core.bound_get(c) end
        local a = core.bound_drop(cap)
        local b = core.bound_drop(cap)
        local lastok = core.bound_drop(last)
        local changed = {}
        for c = 0, last do
          if before[c] ~= core.bound_get(c) then
            changed[#changed + 1] = c
          end
        end
        return { a = a, b = b, lastok = lastok, changed = changed }
      ]], { env = "CAP=" .. cap })
      assert.is_true(res.ok, res.stderr)
      local want = { cap }
      if core.bound_get(last) and last ~= cap then want[2] = last end
      assert.same({ a = true, b = true, lastok = true, changed = want },
        res.result)
    end)

    it("returns nil, a message and EPERM without CAP_SETPCAP", function()
      local res = h.child(NO_SETPCAP .. [[
        return { core.bound_drop("kill") }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ nil, "bound_drop cap_kill: Operation not permitted",
        EPERM }, res.result)
    end)
  end)


  describe("capability arguments", function()
    for _, name in ipairs({ "bound_get", "bound_drop", "ambient_get",
                            "ambient_raise", "ambient_lower" }) do
      it(name .. " refuses what is not a capability", function()
        for _, case in ipairs(BAD_CAPS) do
          local ok, err = pcall(core[name], case[1])
          assert.is_false(ok, name .. " accepted " .. tostring(case[1]))
          assert.matches("bad argument #1", err, 1, true)
          assert.matches(case[2], err, 1, true)
        end
      end)
    end
  end)


  describe("the ambient set", function()
    it("ambient_get reads every bit", function()
      local mask = status("CapAmb", core.getpid())
      for cap = 0, core.cap_last() do
        assert.equals(bit(mask, cap), core.ambient_get(cap))
      end
    end)

    it("returns nil, a message and EINVAL past the kernel's last",
      function()
        local cap = core.cap_last() + 1
        local name = core.cap_name(cap)
        assert.same({ nil, "ambient_get " .. name .. ": Invalid argument",
          EINVAL }, { core.ambient_get(cap) })
        assert.same({ nil, "ambient_lower " .. name ..
          ": Invalid argument", EINVAL }, { core.ambient_lower(cap) })
      end)

    h.it_root("is raised, lowered and cleared", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.caps_get():set("inheritable",
          { "net_bind_service", "kill" }, true):apply())
        local out = {}
        out.raise = core.ambient_raise("net_bind_service")
        out.raise2 = core.ambient_raise(5)
        out.got = core.ambient_get(10) and core.ambient_get("kill")
        out.lower = core.ambient_lower(10)
        out.lowered = core.ambient_get(10)
        out.clear = core.ambient_clear()
        out.cleared = core.ambient_get("kill")
        out.refused = { core.ambient_raise("chown") }
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ raise = true, raise2 = true, got = true, lower = true,
        lowered = false, clear = true, cleared = false,
        refused = { nil, "ambient_raise cap_chown: Operation not permitted",
          EPERM } }, res.result)
    end)

    h.it_root("survives the uid change and execv with keep-caps", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.set_keepcaps(true))
        assert(core.setresgid(65534, 65534, 65534))
        assert(core.setgroups({}))
        assert(core.setresuid(65534, 65534, 65534))
        assert(core.set_keepcaps(false))
        assert(core.caps_from_text("cap_net_bind_service=eip"):apply())
        assert(core.ambient_raise("net_bind_service"))
        return { core.execv("/bin/sh", { "sh", "-c",
          "grep -E '^(Cap(Amb|Eff|Prm)|Uid):' /proc/self/status" }) }
      ]])
      assert.equals(0, res.code, res.stderr)
      assert.matches("CapPrm:%s+0000000000000400", res.stdout)
      assert.matches("CapEff:%s+0000000000000400", res.stdout)
      assert.matches("CapAmb:%s+0000000000000400", res.stdout)
      assert.matches("Uid:%s+65534%s+65534%s+65534", res.stdout)
    end)
  end)


  describe("keep-caps", function()
    it("is off, switches on and off, and refuses non-booleans", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = { start = core.get_keepcaps() }
        out.on = core.set_keepcaps(true)
        out.got = core.get_keepcaps()
        out.off = core.set_keepcaps(false)
        out.gone = core.get_keepcaps()
        out.errors = {}
        for i, v in ipairs({ 1, "true", {}, "nil" }) do
          if v == "nil" then v = nil end
          local ok, err = pcall(core.set_keepcaps, v)
          out.errors[i] = not ok and err:match("on: expected a boolean")
        end
        out.after = core.get_keepcaps()
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      local r = res.result
      assert.same({ false, true, true, true, false, false },
        { r.start, r.on, r.got, r.off, r.gone, r.after })
      assert.same({ "on: expected a boolean", "on: expected a boolean",
        "on: expected a boolean", "on: expected a boolean" }, r.errors)
    end)

    h.it_root("returns nil, a message and EPERM once locked", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.set_securebits(core.SECBIT_KEEP_CAPS_LOCKED))
        return { core.set_keepcaps(true) }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ nil, "set_keepcaps true: Operation not permitted",
        EPERM }, res.result)
    end)

    h.it_root("keeps the permitted set across the change from root",
      function()
        local res = h.child([[
          local core = require("confine.core")
          local keep = os.getenv("KEEP") == "1"
          assert(core.set_keepcaps(keep))
          assert(core.setresgid(65534, 65534, 65534))
          assert(core.setgroups({}))
          assert(core.setresuid(65534, 65534, 65534))
          local c = core.caps_get()
          return { prm = c:get("permitted", "net_bind_service"),
                   eff = c:get("effective", "net_bind_service") }
        ]], { env = "KEEP=1" })
        assert.is_true(res.ok, res.stderr)
        assert.same({ prm = true, eff = false }, res.result)
        res = h.child([[
          local core = require("confine.core")
          assert(core.setresgid(65534, 65534, 65534))
          assert(core.setgroups({}))
          assert(core.setresuid(65534, 65534, 65534))
          return { core.caps_get():to_text() }
        ]])
        assert.is_true(res.ok, res.stderr)
        assert.same({ "=" }, res.result)
      end)
  end)


  describe("securebits", function()
    it("has the kernel's values as constants", function()
      assert.same({ 1, 2, 4, 8, 16, 32, 64, 128 }, {
        core.SECBIT_NOROOT, core.SECBIT_NOROOT_LOCKED,
        core.SECBIT_NO_SETUID_FIXUP, core.SECBIT_NO_SETUID_FIXUP_LOCKED,
        core.SECBIT_KEEP_CAPS, core.SECBIT_KEEP_CAPS_LOCKED,
        core.SECBIT_NO_CAP_AMBIENT_RAISE,
        core.SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED })
    end)

    it("get_securebits reads this process's bits", function()
      local f = io.popen("capsh --print 2>/dev/null")
      local text = f:read("*a")
      f:close()
      local bits = core.get_securebits()
      assert.is_number(bits)
      local shown = text:match("[Ss]ecurebits: 0*(%d+)/")
      if shown then
        assert.equals(tonumber(shown, 8), bits)
      end
    end)

    h.it_root("are set, and locked ones cannot be unset", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = { start = core.get_securebits() }
        out.set = core.set_securebits(core.SECBIT_KEEP_CAPS)
        out.keep = core.get_securebits()
        out.keepcaps = core.get_keepcaps()
        local locked = core.SECBIT_NOROOT + core.SECBIT_NOROOT_LOCKED
        out.lock = core.set_securebits(locked)
        out.locked = core.get_securebits()
        out.unset = { core.set_securebits(0) }
        out.final = core.get_securebits()
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ start = core.get_securebits(), set = true, keep = 16,
        keepcaps = true, lock = true, locked = 3,
        unset = { nil, "set_securebits 0x0: Operation not permitted",
          EPERM }, final = 3 }, res.result)
    end)

    it("returns nil, a message and EPERM without CAP_SETPCAP", function()
      local res = h.child(NO_SETPCAP .. [[
        return { core.set_securebits(core.SECBIT_NOROOT) }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ nil, "set_securebits 0x1: Operation not permitted",
        EPERM }, res.result)
    end)

    it("refuses bits that are not a whole number in range", function()
      for _, v in ipairs({ -1, 2^31, 1.5, "1", true, nil, 0/0 }) do
        local ok, err = pcall(core.set_securebits, v)
        assert.is_false(ok)
        assert.matches("bits: expected a whole number in 0..2147483647",
          err, 1, true)
      end
    end)
  end)


  describe("no_new_privs", function()
    it("is set for good and survives execv", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.get_no_new_privs() == false)
        assert(core.set_no_new_privs() == true)
        assert(core.get_no_new_privs() == true)
        core.execv("/bin/grep", { "grep", "NoNewPrivs", "/proc/self/status" })
      ]])
      assert.equals(0, res.code, res.stderr)
      assert.matches("NoNewPrivs:%s+1", res.stdout)
    end)
  end)
end)
