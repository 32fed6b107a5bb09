--- confine.core: capability sets, names and the kernel's last capability.

local h = require("spec.helper")
local core = require("confine.core")

local EPERM, EINVAL, ENOENT, ENODATA = 1, 22, 2, 61
local SETS = { "effective", "permitted", "inheritable" }


local sh = h.sh


-- Every capability number of `caps` in `set`, as a list.
local function members(caps, set)
  local out = {}
  for cap = 0, core.cap_last() do
    if caps:get(set, cap) then out[#out + 1] = cap end
  end
  return out
end


local function all_but(skip)
  local out = {}
  for cap = 0, core.cap_last() do
    if cap ~= skip then out[#out + 1] = cap end
  end
  return out
end


describe("confine.core", function()

  describe("cap_value() and cap_name()", function()
    it("accept the three spellings of a name", function()
      for _, n in ipairs({ "net_bind_service", "cap_net_bind_service",
                           "CAP_NET_BIND_SERVICE", "Cap_Net_Bind_Service" }) do
        assert.equals(10, core.cap_value(n))
      end
      assert.equals(0, core.cap_value("chown"))
      assert.equals(21, core.cap_value("sys_admin"))
    end)

    it("cap_value returns nil and a message for an unknown name",
      function()
        for _, n in ipairs({ "nosuch", "cap_nosuch", "12", "cap_12", "all",
            "net bind service", "cap_", "net_bind_service+ep" }) do
          local v, msg = core.cap_value(n)
          assert.is_nil(v)
          assert.equals("cap_value " .. n .. ": unknown capability", msg)
        end
      end)

    it("cap_value refuses what is not a name", function()
      for _, v in ipairs({ 10, true, {}, "", "chown\0x" }) do
        local ok, err = pcall(core.cap_value, v)
        assert.is_false(ok)
        assert.matches("bad argument #1", err, 1, true)
        assert.matches("name: ", err, 1, true)
      end
    end)

    it("cap_name gives libcap's name, and round-trips every capability",
      function()
        assert.equals("cap_net_bind_service", core.cap_name(10))
        assert.equals("cap_chown", core.cap_name(0.0))
        for cap = 0, core.cap_last() do
          local name = core.cap_name(cap)
          if not name:match("^%d+$") then
            assert.equals(cap, core.cap_value(name))
          end
        end
      end)

    it("cap_name refuses numbers outside 0..63", function()
      for _, v in ipairs({ -1, 64, 1.5, "10", 0/0, nil }) do
        local ok, err = pcall(core.cap_name, v)
        assert.is_false(ok)
        assert.matches("cap: expected a whole number in 0..63", err, 1,
          true)
      end
    end)
  end)


  describe("cap_last()", function()
    it("matches the kernel's cap_last_cap", function()
      local want = tonumber(sh("cat /proc/sys/kernel/cap_last_cap"))
      assert.equals(want, core.cap_last())
    end)

    it("is the last capability the bounding set can be asked about",
      function()
        assert.is_boolean(core.bound_get(core.cap_last()))
        assert.is_nil(core.bound_get(core.cap_last() + 1))
      end)
  end)


  describe("cap_bits()", function()
    it("agrees with caps:get, bound_get and ambient_get for every "
      .. "capability", function()
      local last = core.cap_last()
      local bits, c = core.cap_bits(last), core.caps_get()
      for n = 0, last do
        local want = (c:get("effective", n) and 1 or 0)
          + (c:get("permitted", n) and 2 or 0)
          + (c:get("inheritable", n) and 4 or 0)
          + (core.bound_get(n) and 8 or 0)
          + (core.ambient_get(n) and 16 or 0)
        assert.equals(want ~= 0 and want or nil, bits[n], "cap " .. n)
      end
      for n in pairs(bits) do
        assert.is_true(n >= 0 and n <= last, "key " .. tostring(n))
      end
    end)

    h.it_root("reads the sets of a confined process", function()
      local r = h.child([[
        local core = require("confine.core")
        local n = core.cap_value("net_raw")
        assert(core.bound_drop("cap_chown"))
        assert(core.set_keepcaps(true))
        assert(core.setresuid(65534, 65534, 65534))
        local c = core.caps_new()
        c:set("permitted", { n, "cap_chown" }, true)
        c:set("effective", n, true)
        c:set("inheritable", n, true)
        assert(c:apply())
        assert(core.ambient_raise(n))
        local bits = core.cap_bits(core.cap_last())
        return { net_raw = bits[n], chown = bits[0], kill = bits[5] }
      ]])
      assert.is_true(r.ok, r.stderr)
      assert.same({ net_raw = 31, chown = 2, kill = 8 }, r.result)
    end)

    it("raises for a last capability outside 0..63", function()
      for _, bad in ipairs({ -1, 64, 1.5, "40" }) do
        assert.has_error(function() core.cap_bits(bad) end)
      end
    end)

    it("is nil, a message and EINVAL above the kernel's last", function()
      local last = core.cap_last()
      if last >= 63 then return end
      local bits, msg, errno = core.cap_bits(last + 1)
      assert.is_nil(bits)
      assert.equals("bound_get " .. core.cap_name(last + 1) .. ": Invalid "
        .. "argument", msg)
      assert.equals(EINVAL, errno)
    end)
  end)


  describe("caps_from_text()", function()
    it('reads "=" as the empty set', function()
      local c = core.caps_from_text("=")
      assert.equals(core.caps_new(), c)
      for _, set in ipairs(SETS) do assert.same({}, members(c, set)) end
      assert.equals("=", c:to_text())
    end)

    it('reads "=ep" as every capability effective and permitted', function()
      local c = core.caps_from_text("=ep")
      assert.same(all_but(-1), members(c, "effective"))
      assert.same(all_but(-1), members(c, "permitted"))
      assert.same({}, members(c, "inheritable"))
      assert.equals(core.caps_from_text("all=ep"), c)
    end)

    it('reads "all=ep cap_sys_admin-ep" as all but one', function()
      local c = core.caps_from_text("all=ep cap_sys_admin-ep")
      assert.same(all_but(21), members(c, "effective"))
      assert.same(all_but(21), members(c, "permitted"))
      assert.is_false(c:get("permitted", "sys_admin"))
    end)

    it('reads "+ep" from empty like "=ep"', function()
      assert.equals(core.caps_from_text("cap_net_bind_service=ep"),
        core.caps_from_text("cap_net_bind_service+ep"))
      local c = core.caps_from_text("cap_net_bind_service+ep")
      assert.same({ 10 }, members(c, "effective"))
      assert.same({}, members(c, "inheritable"))
    end)

    it("gives text that reads back the same", function()
      for _, t in ipairs({ "=", "=ep", "all=ep cap_sys_admin-ep",
          "cap_chown,cap_kill+ep", "cap_net_raw=eip cap_kill+p",
          "cap_setuid,cap_setgid=p cap_setuid+e", "=i cap_chown-i" }) do
        local once = core.caps_from_text(t)
        local text = once:to_text()
        local twice = core.caps_from_text(text)
        assert.equals(once, twice)
        assert.equals(text, twice:to_text())
        assert.equals(text, tostring(twice))
      end
    end)

    it("returns nil and a message for an unknown or numeric name",
      function()
        for _, case in ipairs({
          { "cap_foo+ep", "cap_foo" },
          { "cap_chown,bogus+ep", "bogus" },
          { "cap_chown+ep bogus=e", "bogus" },
          { "12+ep", "12" },
          { "40+ep", "40" },
          { "cap_chown,63=p", "63" },
        }) do
          local c, msg, err = core.caps_from_text(case[1])
          assert.is_nil(c)
          assert.equals("caps_from_text " .. case[1] ..
            ": unknown capability " .. case[2], msg)
          assert.is_nil(err)
        end
      end)

    it("returns nil, a message and EINVAL for bad syntax", function()
      for _, t in ipairs({ "cap_chown", "cap_chown+x", "cap_chown+ep+" }) do
        local c, msg, err = core.caps_from_text(t)
        if c == nil then
          assert.equals("caps_from_text " .. t .. ": Invalid argument", msg)
          assert.equals(EINVAL, err)
        end
      end
      assert.is_nil(core.caps_from_text("cap_chown"))
    end)

    it("refuses what is not text", function()
      for _, v in ipairs({ nil, 1, true, {}, "", "=ep\0" }) do
        local ok, err = pcall(core.caps_from_text, v)
        assert.is_false(ok)
        assert.matches("bad argument #1", err, 1, true)
        assert.matches("text: ", err, 1, true)
      end
    end)
  end)


  describe("a capability set", function()
    it("caps_new is empty and caps_get is this process's", function()
      assert.equals("=", core.caps_new():to_text())
      local mine = core.caps_get()
      local line = sh("grep CapEff /proc/" .. core.getpid() .. "/status")
      local mask = tonumber(line:match("%x+$"), 16)
      for cap = 0, core.cap_last() do
        assert.equals(math.floor(mask / 2^cap) % 2 == 1,
          mine:get("effective", cap))
      end
    end)

    it("set() takes a name, a number or a list, and returns itself",
      function()
        local c = core.caps_new()
        assert.equals(c, c:set("permitted", "chown", true))
        c:set("permitted", { "kill", 10, "CAP_SETUID" }, true)
        c:set("effective", 7, true)
        assert.same({ 0, 5, 7, 10 }, members(c, "permitted"))
        assert.same({ 7 }, members(c, "effective"))
        c:set("permitted", { 0, "kill" }, false)
        assert.same({ 7, 10 }, members(c, "permitted"))
        assert.is_true(c:get("permitted", "net_bind_service"))
        assert.is_false(c:get("inheritable", 10))
      end)

    it("takes capabilities above libcap's last by number", function()
      local c = core.caps_new():set("permitted", 63, true)
      assert.is_true(c:get("permitted", 63))
      assert.is_false(c:get("permitted", 62))
    end)

    it("clear() empties it and dup() copies it", function()
      local c = core.caps_from_text("=ep")
      local d = c:dup()
      assert.equals(c, c:clear())
      assert.equals("=", c:to_text())
      assert.equals("=ep", d:to_text())
      assert.not_equals(c, d)
    end)

    it("compares with == and not with other values", function()
      assert.equals(core.caps_from_text("cap_kill=p"),
        core.caps_new():set("permitted", "kill", true))
      assert.not_equals(core.caps_from_text("cap_kill=p"),
        core.caps_from_text("cap_kill=e"))
      assert.is_false(core.caps_new() == core.opendir_nofollow("/"))
      assert.is_false(core.caps_new() == "=")
    end)

    it("refuses a bad set name, capability or flag with nothing changed",
      function()
        local c = core.caps_from_text("cap_chown=p")
        local cases = {
          { "get", { "bogus", 0 }, 1, 'set: expected "effective"' },
          { "get", { 1, 0 }, 1, "set: expected" },
          { "get", { "permitted", 64 }, 2, "cap: expected a whole number" },
          { "get", { "permitted", -1 }, 2, "cap: expected a whole number" },
          { "get", { "permitted", 1.5 }, 2, "got 1.5" },
          { "get", { "permitted", "nosuch" }, 2,
            'cap: unknown capability string "nosuch"' },
          { "get", { "permitted", "12" }, 2, "unknown capability" },
          { "get", { "permitted", true }, 2,
            "cap: expected a capability name or number, got boolean" },
          { "get", { "permitted" }, 2, "got nil" },
          { "set", { "permitted", { "kill", "nosuch" }, true }, 2,
            'caps[2]: unknown capability string "nosuch"' },
          { "set", { "permitted", { "kill", nil, 3 }, true }, 2,
            "caps[2]: missing" },
          { "set", { "permitted", "kill" }, 3,
            "on: expected a boolean, got nil" },
          { "set", { "permitted", "kill", 1 }, 3,
            "on: expected a boolean, got 1" },
          { "set", { "every", "kill", true }, 1, "set: expected" },
        }
        for _, case in ipairs(cases) do
          local a = case[2]
          local ok, err = pcall(c[case[1]], c, a[1], a[2], a[3])
          assert.is_false(ok, case[1] .. " accepted")
          assert.matches("bad argument #" .. (case[3] + 1), err, 1, true)
          assert.matches(case[4], err, 1, true)
        end
        assert.equals("cap_chown=p", c:to_text())
      end)

    it("refuses use once closed", function()
      local c = core.caps_new()
      getmetatable(c).__close(c)
      assert.equals("confine.caps (closed)", tostring(c))
      for _, m in ipairs({ "get", "set", "clear", "dup", "to_text",
                           "apply", "set_file" }) do
        local ok, err = pcall(c[m], c, "permitted", 1, true)
        assert.is_false(ok)
        assert.matches("capability set is closed", err, 1, true)
      end
      getmetatable(c).__gc(c)  -- freeing twice is harmless
    end)

    it("is freed by a <close> variable ", function()
      local x = core.caps_get()
      getmetatable(x).__close(x)  -- a plain function before 5.4
      assert.equals("confine.caps (closed)", tostring(x))
      if _VERSION ~= "Lua 5.4" then return end
      local f = assert(load([[
        local core = ...
        local keep
        do
          local d <close> = core.caps_get()
          keep = d
        end
        return tostring(keep)
      ]]))
      assert.equals("confine.caps (closed)", f(core))
    end)

    it("methods refuse what is not a capability set", function()
      local c = core.caps_new()
      local ok, err = pcall(c.to_text, {})
      assert.is_false(ok)
      assert.matches("confine.caps expected", err, 1, true)
    end)
  end)


  describe("apply()", function()
    h.it_root("sets this thread's capabilities", function()
      local res = h.child([[
        local core = require("confine.core")
        local want = core.caps_from_text("cap_net_bind_service,cap_kill=ep")
        local ok = want:apply()
        return { ok = ok, same = core.caps_get() == want,
                 text = core.caps_get():to_text() }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ ok = true, same = true,
        text = "cap_kill,cap_net_bind_service=ep" }, res.result)
    end)

    h.it_root("returns nil, a message and EPERM when raising", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.caps_from_text("cap_kill=ep"):apply())
        return { core.caps_from_text("cap_kill,cap_chown=ep"):apply() }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ nil, "caps:apply: Operation not permitted", EPERM },
        res.result)
    end)
  end)


  describe("caps_get_file() and set_file()", function()
    h.it_root("write and read file capabilities", function()
      local dir = sh("mktemp -d /run/confine-spec.XXXXXX")
      local file = dir .. "/prog"
      assert(os.execute("cp /bin/true " .. file))
      local c = core.caps_from_text("cap_net_raw=ep")
      assert.is_true(c:set_file(file))
      local got = core.caps_get_file(file)
      local getcap = sh("getcap " .. file)
      os.execute("rm -rf " .. dir)
      assert.equals(c, got)
      assert.matches("cap_net_raw=ep", getcap, 1, true)
    end)

    it("return nil, a message and the errno", function()
      assert.same({ nil, "caps_get_file /nonexistent: " ..
        "No such file or directory", ENOENT },
        { core.caps_get_file("/nonexistent") })
      local c, msg, err = core.caps_get_file("/etc/passwd")
      assert.is_nil(c)
      assert.equals("caps_get_file /etc/passwd: No data available", msg)
      assert.equals(ENODATA, err)
      assert.same({ nil, "caps:set_file /nonexistent: " ..
        "No such file or directory", ENOENT },
        { core.caps_new():set_file("/nonexistent") })
    end)

    it("set_file returns EPERM without CAP_SETFCAP", function()
      local dir = sh("mktemp -d")
      assert(os.execute("cp /bin/true " .. dir .. "/prog"))
      local res = h.child([[
        local core = require("confine.core")
        assert(core.caps_get():set("effective", "setfcap", false)
          :set("permitted", "setfcap", false):apply())
        return { core.caps_from_text("cap_kill=p"):set_file(
          os.getenv("FILE")) }
      ]], { env = "FILE=" .. dir .. "/prog" })
      os.execute("rm -rf " .. dir)
      assert.is_true(res.ok, res.stderr)
      assert.equals(EPERM, res.result[3])
      assert.matches("^caps:set_file .*: Operation not permitted$",
        res.result[2])
    end)

    it("refuse what is not a path", function()
      for _, v in ipairs({ nil, 1, "", "/x\0y" }) do
        assert.is_false(pcall(core.caps_get_file, v))
        assert.is_false(pcall(core.caps_new().set_file, core.caps_new(), v))
      end
    end)
  end)
end)
