--- confine.core: descriptors, threads, getpid, tzset.

local h = require("spec.helper")
local core = require("confine.core")


local sh = h.sh


-- Under valgrind a child also holds valgrind's own descriptors, at the
-- top of the descriptor table; the specs leave those out.
local OURS = [[
  local preload = os.getenv("LD_PRELOAD") or ""
  local function ours(fd)
    return not preload:find("vgpreload", 1, true) or fd < 1024
  end
  local function count_ours(list)
    local n = 0
    for _, e in ipairs(list) do
      if ours(e.fd) then n = n + 1 end
    end
    return n
  end
]]


-- Body text that opens one descriptor of each kind it can and returns
-- their numbers by kind, as `opened`.
local OPEN_KINDS = OURS .. [[
  local core = require("confine.core")
  local opened = {}
  local function newest(before)
    local seen = {}
    for _, e in ipairs(before) do seen[e.fd] = true end
    for _, e in ipairs(core.fds()) do
      if not seen[e.fd] then return e.fd end
    end
  end
  local keep = {}
  local before = core.fds()
  keep.file = assert(io.open("/etc/passwd"))
  opened.regular = newest(before)
  before = core.fds()
  keep.dir = assert(core.opendir_nofollow("/usr"))
  opened.directory = keep.dir:fileno()
  before = core.fds()
  keep.pipe = assert(io.popen("true"))
  opened.pipe = newest(before)
  before = core.fds()
  keep.null = assert(io.open("/dev/null"))
  opened.char = newest(before)
  local ok, socket = pcall(require, "socket")
  if ok then
    before = core.fds()
    keep.sock = socket.tcp()
    opened.socket = newest(before)
  end
]]


describe("confine.core", function()

  describe("fds()", function()
    it("lists the standard descriptors first", function()
      local list = core.fds()
      assert.is_true(#list >= 3)
      for i = 1, 3 do
        assert.equals(i - 1, list[i].fd)
        assert.is_string(list[i].kind)
      end
      for i = 2, #list do
        assert.is_true(list[i].fd > list[i - 1].fd)
      end
    end)

    it("finds a descriptor far above the others", function()
      local res = h.child(OURS .. [[
        local core = require("confine.core")
        local fds = {}
        for _, e in ipairs(core.fds()) do
          if ours(e.fd) then fds[#fds + 1] = { e.fd, e.kind } end
        end
        return fds
      ]], { prefix = [[bash -c 'exec 900</etc/passwd; exec "$0" "$@"']] })
      assert.is_true(res.ok, res.stderr)
      local last = res.result[#res.result]
      assert.same({ 900, "regular" }, last)
      for i = 2, #res.result do
        assert.is_true(res.result[i][1] > res.result[i - 1][1])
      end
    end)

    it("lists every descriptor when hundreds are open", function()
      -- more than fds.c lists from /proc/self/fd in one go (256): the
      -- count must not depend on which way they were found
      local res = h.child(OURS .. [[
        local core = require("confine.core")
        local before, keep = count_ours(core.fds()), {}
        for i = 1, 300 do keep[i] = assert(io.open("/etc/passwd")) end
        local after = count_ours(core.fds())
        for i = 1, 300 do keep[i]:close() end
        return { before, after }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.equals(res.result[1] + 300, res.result[2])
    end)

    it("names the kind of each descriptor", function()
      local res = h.child(OPEN_KINDS .. [[
        local kinds = {}
        for _, e in ipairs(core.fds()) do kinds[e.fd] = e.kind end
        local out = {}
        for kind, fd in pairs(opened) do out[kind] = kinds[fd] end
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      for kind, got in pairs(res.result) do
        assert.equals(kind, got)
      end
      assert.is_not_nil(res.result.directory)
      assert.is_not_nil(res.result.pipe)
    end)

    h.it_root("works without /proc, inside a jail", function()
      local jail = sh("mktemp -d /run/confine-spec.XXXXXX")
      os.execute("chmod 755 " .. jail)
      local res = h.child([[
        local core = require("confine.core")
        local d = assert(core.opendir_nofollow("/usr"))
        assert(core.chroot(os.getenv("JAIL")))
        assert(core.chdir("/"))
        local kind
        for _, e in ipairs(core.fds()) do
          if e.fd == d:fileno() then kind = e.kind end
        end
        local n, msg = core.thread_count()
        return { kind = kind, proc = core.stat("/proc") == nil, n = n,
                 msg = msg }
      ]], { env = "JAIL=" .. jail })
      os.remove(jail)
      assert.is_true(res.ok, res.stderr)
      assert.same({ kind = "directory", proc = true,
        msg = "thread_count /proc/self/status: No such file or directory" },
        res.result)
    end)
  end)


  describe("close_fds()", function()
    it("closes every descriptor from 3 up but those kept", function()
      local res = h.child(OPEN_KINDS .. [[
        local ok = core.close_fds({ opened.directory, 1 })
        local left = {}
        for _, e in ipairs(core.fds()) do
          if ours(e.fd) then left[#left + 1] = e.fd end
        end
        return { ok = ok, left = left, dir = opened.directory }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.is_true(res.result.ok)
      assert.same({ 0, 1, 2, res.result.dir }, res.result.left)
    end)

    it("closes all from 3 up with an empty list or nil", function()
      local res = h.child(OPEN_KINDS .. [[
        local function count() return count_ours(core.fds()) end
        local a = core.close_fds({})
        local n1 = count()
        keep.f2 = io.open("/etc/passwd")
        local b = core.close_fds()
        return { a = a, b = b, n1 = n1, n2 = count() }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ a = true, b = true, n1 = 3, n2 = 3 }, res.result)
    end)

    it("refuses a keep list that is not a list of descriptors", function()
      local cases = {
        { { -1 }, "keep[1]: expected a whole number in 0..2147483646" },
        { { 1.5 }, "keep[1]: expected a whole number" },
        { { "3" }, 'keep[1]: expected a whole number in 0..2147483646, ' ..
          'got string "3"' },
        { { 3, nil, 5 }, "keep[2]: missing" },
        { { 3, x = 4 }, "keep[2]: missing" },
        { { 2^31 }, "got 2147483648" },
        { "3", "table expected" },
        { 3, "table expected" },
      }
      -- A handle an earlier spec dropped (a directory, a file) must not be
      -- collected between the two listings: collect it now.
      collectgarbage()
      collectgarbage()
      local before = core.fds()
      for _, case in ipairs(cases) do
        local ok, err = pcall(core.close_fds, case[1])
        assert.is_false(ok)
        assert.matches("bad argument #1", err, 1, true)
        assert.matches(case[2], err, 1, true)
      end
      assert.same(before, core.fds())
    end)
  end)


  describe("thread_count()", function()
    it("counts one thread, then two with a second started", function()
      local res = h.child([[
        local core = require("confine.core")
        local one = core.thread_count()
        assert(require("confine_test_thread").start())
        return { one = one, two = core.thread_count() }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ one = 1, two = 2 }, res.result)
    end)
  end)


  describe("getpid() and tzset()", function()
    it("getpid returns this process's id", function()
      local res = h.child([[
        local core = require("confine.core")
        local f = io.open("/proc/self/stat")
        local pid = tonumber(f:read("*l"):match("^%d+"))
        f:close()
        return { core.getpid(), pid }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.equals(res.result[2], res.result[1])
    end)

    it("tzset returns true", function()
      assert.is_true(core.tzset())
    end)
  end)
end)
