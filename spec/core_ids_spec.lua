--- confine.core: user and group ids, supplementary groups.
--
-- Every call that could change an id runs in a child interpreter, so the
-- busted process keeps its identity even if a check were wrong.

local h = require("spec.helper")
local core = require("confine.core")

local EPERM = 1

-- Values that must never reach the kernel as an id, and how each is
-- described in the error.
local BAD_IDS = {
  { "-1", "-1" },
  { "4294967295", "4294967295" },
  { "2^32", "4294967296" },
  { "2^53", "9007199254740992" },
  { "-2^31", "-2147483648" },
  { "1.5", "1.5" },
  { "-0.5", "-0.5" },
  { "0/0", "nan" },
  { "math.huge", "inf" },
  { "-math.huge", "-inf" },
  { '"0"', 'string "0"' },
  { '"1000"', 'string "1000"' },
  { '""', 'string ""' },
  { "true", "boolean" },
  { "{}", "table" },
  { "print", "function" },
}


-- Run `calls` (Lua expressions using `core` and `v`) for every bad id in
-- a child; return { { ok, message }, ... } and the ids before and after.
local function misuse_in_child(call)
  local cases = {}
  for i, bad in ipairs(BAD_IDS) do
    cases[i] = "function() local v = " .. bad[1] .. "; return " .. call ..
      " end"
  end
  local res = h.child([[
    local core = require("confine.core")
    local function ids()
      local r, e, s = core.getresuid()
      local a, b, c = core.getresgid()
      return table.concat({ r, e, s, a, b, c,
        table.concat(core.getgroups(), ",") }, " ")
    end
    local before = ids()
    local out = {}
    for i, f in ipairs({ ]] .. table.concat(cases, ",\n") .. [[ }) do
      local ok, err = pcall(f)
      out[i] = { ok = ok, err = tostring(err) }
    end
    return { before = before, after = ids(), out = out }
  ]])
  assert.is_true(res.ok, res.stderr)
  return res.result
end


-- Assert that `call` raised an argument error for each bad id.
local function assert_all_refused(call, argn, what)
  local r = misuse_in_child(call)
  for i, bad in ipairs(BAD_IDS) do
    local o = r.out[i]
    assert.is_false(o.ok, call .. " accepted " .. bad[1])
    assert.matches("bad argument #" .. argn, o.err, 1, true)
    assert.matches(what .. ": expected an id in 0..4294967294, got " ..
      bad[2], o.err, 1, true)
  end
  assert.equals(r.before, r.after)
end


describe("confine.core", function()

  describe("getresuid() and getresgid()", function()
    it("return the three ids of this process", function()
      local r, e, s = core.getresuid()
      local p = io.popen("id -u")
      local uid = tonumber(p:read("*l"))
      p:close()
      assert.equals(uid, e)
      assert.equals(math.floor(r), r)
      assert.equals(math.floor(s), s)
      local a, b, c = core.getresgid()
      assert.is_number(a)
      assert.is_number(b)
      assert.is_number(c)
    end)
  end)


  describe("setresuid()", function()
    for pos, what in ipairs({ "ruid", "euid", "suid" }) do
      it("refuses each bad id as " .. what .. " with nothing changed",
        function()
          local args = { "nil", "nil", "nil" }
          args[pos] = "v"
          assert_all_refused("core.setresuid(" .. table.concat(args, ", ") ..
            ")", pos, what)
        end)
    end

    h.it_root("returns nil, a message and EPERM when not root", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.setresgid(65534, 65534, 65534))
        assert(core.setgroups({}))
        assert(core.setresuid(65534, 65534, 65534))
        local out = {}
        for i, args in ipairs({ { 0, 0, 0 }, { nil, 0, nil },
                                { 0, nil, nil }, { nil, nil, 0 } }) do
          local ok, msg, err = core.setresuid(args[1], args[2], args[3])
          out[i] = { ok = ok, msg = msg, err = err }
        end
        out.ids = { core.getresuid() }
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      local out = res.result
      for i = 1, 4 do
        assert.is_nil(out[i].ok)
        assert.equals(EPERM, out[i].err)
        assert.matches("^setresuid .*: Operation not permitted$", out[i].msg)
      end
      assert.equals("setresuid 0 0 0: Operation not permitted", out[1].msg)
      assert.equals("setresuid nil 0 nil: Operation not permitted",
        out[2].msg)
      assert.same({ 65534, 65534, 65534 }, out.ids)
    end)

    h.it_root("sets all three uids, and nil leaves one unchanged", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = {}
        assert(core.setresuid(nil, 1, nil))
        out.partial = { core.getresuid() }
        assert(core.setresuid(nil, 0, nil))
        assert(core.setresuid())
        out.none = { core.getresuid() }
        out.ret = core.setresuid(65534, 65534, 65534)
        out.all = { core.getresuid() }
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ 0, 1, 0 }, res.result.partial)
      assert.same({ 0, 0, 0 }, res.result.none)
      assert.is_true(res.result.ret)
      assert.same({ 65534, 65534, 65534 }, res.result.all)
    end)
  end)


  describe("setresgid()", function()
    for pos, what in ipairs({ "rgid", "egid", "sgid" }) do
      it("refuses each bad id as " .. what .. " with nothing changed",
        function()
          local args = { "nil", "nil", "nil" }
          args[pos] = "v"
          assert_all_refused("core.setresgid(" .. table.concat(args, ", ") ..
            ")", pos, what)
        end)
    end

    h.it_root("sets all three gids", function()
      local res = h.child([[
        local core = require("confine.core")
        local ok = core.setresgid(65534, 65534, 65534)
        return { ok = ok, ids = { core.getresgid() } }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.is_true(res.result.ok)
      assert.same({ 65534, 65534, 65534 }, res.result.ids)
    end)

    h.it_root("returns nil, a message and EPERM when not root", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.setresgid(65534, 65534, 65534))
        assert(core.setgroups({}))
        assert(core.setresuid(65534, 65534, 65534))
        local ok, msg, err = core.setresgid(0, 0, 0)
        return { ok = ok, msg = msg, err = err, ids = { core.getresgid() } }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.is_nil(res.result.ok)
      assert.equals("setresgid 0 0 0: Operation not permitted",
        res.result.msg)
      assert.equals(EPERM, res.result.err)
      assert.same({ 65534, 65534, 65534 }, res.result.ids)
    end)
  end)


  describe("setuid() and setgid()", function()
    it("refuse each bad id with nothing changed", function()
      assert_all_refused("core.setuid(v)", 1, "uid")
      assert_all_refused("core.setgid(v)", 1, "gid")
    end)

    h.it_root("set the ids as root", function()
      local res = h.child([[
        local core = require("confine.core")
        local a = core.setgid(65534)
        local b = core.setuid(65534)
        return { a = a, b = b, gid = { core.getresgid() },
                 uid = { core.getresuid() } }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.is_true(res.result.a)
      assert.is_true(res.result.b)
      assert.same({ 65534, 65534, 65534 }, res.result.uid)
      assert.same({ 65534, 65534, 65534 }, res.result.gid)
    end)

    h.it_root("return nil, a message and EPERM after the drop", function()
      local res = h.child([[
        local core = require("confine.core")
        assert(core.setresgid(65534, 65534, 65534))
        assert(core.setgroups({}))
        assert(core.setresuid(65534, 65534, 65534))
        local _, m1, e1 = core.setuid(0)
        local _, m2, e2 = core.setgid(0)
        return { m1 = m1, e1 = e1, m2 = m2, e2 = e2 }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.equals("setuid 0: Operation not permitted", res.result.m1)
      assert.equals(EPERM, res.result.e1)
      assert.equals("setgid 0: Operation not permitted", res.result.m2)
      assert.equals(EPERM, res.result.e2)
    end)
  end)


  describe("getgroups() and setgroups()", function()
    it("getgroups returns a list of numbers", function()
      local groups = core.getgroups()
      assert.is_table(groups)
      for _, g in ipairs(groups) do
        assert.is_number(g)
      end
    end)

    h.it_root("setgroups sets the list, and {} clears it", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = {}
        out.a = core.setgroups({ 4, 6, 65534 })
        out.set = core.getgroups()
        out.b = core.setgroups({})
        out.cleared = core.getgroups()
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.is_true(res.result.a)
      table.sort(res.result.set)
      assert.same({ 4, 6, 65534 }, res.result.set)
      assert.is_true(res.result.b)
      assert.same({}, res.result.cleared)
    end)

    h.it_root("setgroups returns nil, a message and EPERM when not root",
      function()
        local res = h.child([[
          local core = require("confine.core")
          assert(core.setresgid(65534, 65534, 65534))
          assert(core.setgroups({}))
          assert(core.setresuid(65534, 65534, 65534))
          local ok, msg, err = core.setgroups({ 0, 4 })
          return { ok = ok, msg = msg, err = err, groups = core.getgroups() }
        ]])
        assert.is_true(res.ok, res.stderr)
        assert.is_nil(res.result.ok)
        assert.equals("setgroups 0,4: Operation not permitted",
          res.result.msg)
        assert.equals(EPERM, res.result.err)
        assert.same({}, res.result.groups)
      end)

    it("setgroups refuses each bad id in the list with nothing changed",
      function()
        local r = misuse_in_child("core.setgroups({ 4, v })")
        for i, bad in ipairs(BAD_IDS) do
          assert.is_false(r.out[i].ok, "accepted " .. bad[1])
          assert.matches("bad argument #1", r.out[i].err, 1, true)
          assert.matches("list[2]: expected an id in 0..4294967294, got " ..
            bad[2], r.out[i].err, 1, true)
        end
        assert.equals(r.before, r.after)
      end)

    it("setgroups refuses what is not a list", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = {}
        for i, v in ipairs({ "nil", 4, "4", true }) do
          if v == "nil" then v = nil end
          local ok, err = pcall(core.setgroups, v)
          out[i] = { ok = ok, err = err }
        end
        local ok, err = pcall(core.setgroups, { 4, nil, 6 })
        out.hole = { ok = ok, err = err }
        ok, err = pcall(core.setgroups, { 4, x = 6 })
        out.key = { ok = ok, err = err }
        out.groups = table.concat(core.getgroups(), ",")
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      for i = 1, 4 do
        assert.is_false(res.result[i].ok)
        assert.matches("bad argument #1 to .* %(table expected",
          res.result[i].err)
      end
      assert.is_false(res.result.hole.ok)
      assert.matches("list[2]: missing", res.result.hole.err, 1, true)
      assert.is_false(res.result.key.ok)
      assert.matches("list[2]: missing", res.result.key.err, 1, true)
      assert.equals(table.concat(core.getgroups(), ","), res.result.groups)
    end)
  end)
end)
