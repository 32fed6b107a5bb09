--- confine.core: users and groups from the name service.

local h = require("spec.helper")
local core = require("confine.core")

-- Values that are not a name, and how each is described in the error.
local BAD_NAMES = {
  { nil, "expected a string, got nil" },
  { 0, "expected a string, got 0" },
  { true, "expected a string, got boolean" },
  { {}, "expected a string, got table" },
  { "", "empty string" },
  { "root\0x", "contains a NUL byte" },
}

local BAD_IDS = { -1, 4294967295, 2^32, 1.5, 0/0, "0", true }


-- Assert that f(bad) raises an argument error for every bad name.
local function assert_bad_names(f, argn, prefix)
  for _, case in ipairs(BAD_NAMES) do
    local args = { case[1] }
    if prefix then args = { case[1], 0 } end
    local ok, err = pcall(f, args[1], args[2])
    assert.is_false(ok, "accepted " .. tostring(case[1]))
    assert.matches("bad argument #" .. argn, err, 1, true)
    assert.matches("name: " .. case[2], err, 1, true)
  end
end


-- Assert that f(bad) raises an argument error for every bad id.
local function assert_bad_ids(f, argn, what, first)
  for _, v in ipairs(BAD_IDS) do
    local ok, err
    if first ~= nil then
      ok, err = pcall(f, first, v)
    else
      ok, err = pcall(f, v)
    end
    assert.is_false(ok, "accepted " .. tostring(v))
    assert.matches("bad argument #" .. argn, err, 1, true)
    assert.matches(what .. ": expected an id in 0..4294967294", err, 1, true)
  end
end


describe("confine.core", function()

  describe("getpwnam()", function()
    it("returns root's entry", function()
      assert.same({ name = "root", uid = 0, gid = 0, dir = "/root",
        shell = core.getpwnam("root").shell }, core.getpwnam("root"))
      assert.is_string(core.getpwnam("root").shell)
    end)

    it("returns nobody as 65534", function()
      local pw = core.getpwnam("nobody")
      assert.equals(65534, pw.uid)
      assert.equals("nobody", pw.name)
    end)

    it("returns nil and a message naming the user when there is none",
      function()
        local pw, msg, err = core.getpwnam("confine-nosuchuser")
        assert.is_nil(pw)
        assert.equals("getpwnam confine-nosuchuser: no such user", msg)
        assert.is_nil(err)
      end)

    it("does not read a numeric-looking name as a uid", function()
      local pw, msg = core.getpwnam("0")
      assert.is_nil(pw)
      assert.equals("getpwnam 0: no such user", msg)
      assert.is_nil(core.getpwnam("0day"))
    end)

    it("refuses what is not a name", function()
      assert_bad_names(core.getpwnam, 1)
    end)

    h.it_root("finds nothing once /etc is out of sight", function()
      local p = io.popen("mktemp -d /run/confine-spec.XXXXXX")
      local jail = p:read("*l")
      p:close()
      local res = h.child([[
        local core = require("confine.core")
        local jail = os.getenv("JAIL")
        assert(core.chroot(jail))
        assert(core.chdir("/"))
        local pw, msg, err = core.getpwnam("root")
        return { pw = pw, msg = msg, err = err }
      ]], { env = "JAIL=" .. jail })
      os.remove(jail)
      assert.is_true(res.ok, res.stderr)
      assert.is_nil(res.result.pw)
      assert.matches("^getpwnam root: ", res.result.msg)
    end)
  end)


  describe("getpwuid()", function()
    it("returns root's entry for 0", function()
      assert.equals("root", core.getpwuid(0).name)
      assert.equals("nobody", core.getpwuid(65534.0).name)
    end)

    it("returns nil and a message naming the uid when there is none",
      function()
        local pw, msg, err = core.getpwuid(4294967294)
        assert.is_nil(pw)
        assert.equals("getpwuid 4294967294: no such user", msg)
        assert.is_nil(err)
      end)

    it("refuses bad ids", function()
      assert_bad_ids(core.getpwuid, 1, "uid")
    end)
  end)


  describe("getgrnam() and getgrgid()", function()
    it("return the group with its members", function()
      local gr = core.getgrnam("root")
      assert.equals("root", gr.name)
      assert.equals(0, gr.gid)
      assert.is_table(gr.members)
      assert.equals(65534, core.getgrnam("nogroup").gid)
      assert.same(core.getgrnam("nogroup"), core.getgrgid(65534))
    end)

    it("list the members of a group", function()
      local f = assert(io.open("/etc/group"))
      local name, list
      for line in f:lines() do
        local n, l = line:match("^([^:]+):[^:]*:%d+:(.+)$")
        if n then name, list = n, l break end
      end
      f:close()
      if not name then return end  -- no group with members here
      local members = {}
      for m in list:gmatch("[^,]+") do members[#members + 1] = m end
      assert.same(members, core.getgrnam(name).members)
    end)

    it("return nil and a message naming the group when there is none",
      function()
        local gr, msg, err = core.getgrnam("confine-nosuchgroup")
        assert.is_nil(gr)
        assert.equals("getgrnam confine-nosuchgroup: no such group", msg)
        assert.is_nil(err)
        gr, msg, err = core.getgrgid(4294967294)
        assert.is_nil(gr)
        assert.equals("getgrgid 4294967294: no such group", msg)
        assert.is_nil(err)
      end)

    it("refuse bad names and ids", function()
      assert_bad_names(core.getgrnam, 1)
      assert_bad_ids(core.getgrgid, 1, "gid")
    end)
  end)


  describe("getgrouplist()", function()
    it("lists the user's groups with the given gid first", function()
      local list = core.getgrouplist("root", 0)
      assert.equals(0, list[1])
      local p = io.popen("id -G root")
      local want = {}
      for g in p:read("*l"):gmatch("%d+") do want[#want + 1] = tonumber(g) end
      p:close()
      table.sort(list)
      table.sort(want)
      assert.same(want, list)
    end)

    it("gives an unknown user just the gid", function()
      assert.same({ 12345 }, core.getgrouplist("confine-nosuchuser", 12345))
    end)

    it("refuses bad names and gids", function()
      assert_bad_names(core.getgrouplist, 1, true)
      assert_bad_ids(core.getgrouplist, 2, "gid", "root")
    end)
  end)
end)
