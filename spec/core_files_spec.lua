--- confine.core: chroot, chdir, getcwd, stat, umask, opendir_nofollow,
-- read_file, readlink.

local h = require("spec.helper")
local core = require("confine.core")

local ENOENT, EPERM, ENOTDIR, EACCES, ELOOP = 2, 1, 20, 13, 40

local BAD_PATHS = {
  { nil, "expected a string, got nil" },
  { 1, "expected a string, got 1" },
  { true, "expected a string, got boolean" },
  { {}, "expected a string, got table" },
  { "", "empty string" },
  { "/tmp\0/x", "contains a NUL byte" },
}


local sh = h.sh


-- A fresh directory: in /run (root-owned all the way down) for jails,
-- else in /tmp.
local function tempdir(jail)
  local dir = sh(jail and "mktemp -d /run/confine-spec.XXXXXX"
    or "mktemp -d")
  assert(dir ~= "")
  os.execute("chmod 755 " .. h.shell_quote(dir))
  return dir
end


local function remove(dir)
  os.execute("rm -rf " .. h.shell_quote(dir))
end


-- Assert that f(bad) raises "bad argument #argn ... what: reason".
local function assert_bad_paths(f, argn, what)
  for _, case in ipairs(BAD_PATHS) do
    local ok, err = pcall(f, case[1])
    assert.is_false(ok, "accepted " .. tostring(case[1]))
    assert.matches("bad argument #" .. argn, err, 1, true)
    assert.matches(what .. ": " .. case[2], err, 1, true)
  end
end


-- Drop to nobody inside a child body, before the rest of it runs.
local DROP = [[
  local core = require("confine.core")
  assert(core.setresgid(65534, 65534, 65534))
  assert(core.setgroups({}))
  assert(core.setresuid(65534, 65534, 65534))
]]


describe("confine.core", function()

  describe("chroot()", function()
    it("returns nil, a message and ENOENT for a missing directory",
      function()
        local res = h.child([[
          local core = require("confine.core")
          local ok, msg, err = core.chroot("/nonexistent")
          return { ok = ok, msg = msg, err = err }
        ]])
        assert.is_true(res.ok, res.stderr)
        assert.same({ msg = "chroot /nonexistent: No such file or directory",
          err = ENOENT }, res.result)
      end)

    h.it_root("returns nil, a message and EPERM when not root", function()
      local res = h.child(DROP .. [[
        local ok, msg, err = core.chroot("/tmp")
        return { ok = ok, msg = msg, err = err }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ msg = "chroot /tmp: Operation not permitted",
        err = EPERM }, res.result)
    end)

    it("refuses what is not a path", function()
      assert_bad_paths(core.chroot, 1, "path")
    end)

    h.it_root("changes the root directory", function()
      local jail = tempdir(true)
      local ino = core.stat(jail).ino
      local res = h.child([[
        local core = require("confine.core")
        local a = core.chroot(os.getenv("JAIL"))
        local b = core.chdir("/")
        return { a = a, b = b, cwd = core.getcwd(), ino = core.stat("/").ino,
                 etc = core.stat("/etc") == nil }
      ]], { env = "JAIL=" .. jail })
      remove(jail)
      assert.is_true(res.ok, res.stderr)
      assert.same({ a = true, b = true, cwd = "/", ino = ino, etc = true },
        res.result)
    end)
  end)


  describe("chdir() and getcwd()", function()
    it("change and report the working directory", function()
      local res = h.child([[
        local core = require("confine.core")
        local ok = core.chdir("/usr/share")
        return { ok = ok, cwd = core.getcwd() }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ ok = true, cwd = "/usr/share" }, res.result)
    end)

    it("chdir returns nil, a message and the errno", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = {}
        out[1] = { core.chdir("/nonexistent") }
        out[2] = { core.chdir("/etc/passwd") }
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({
        { nil, "chdir /nonexistent: No such file or directory", ENOENT },
        { nil, "chdir /etc/passwd: Not a directory", ENOTDIR },
      }, res.result)
    end)

    it("getcwd returns nil, a message and ENOENT when the directory is gone",
      function()
        local dir = tempdir()
        local res = h.child([[
          local core = require("confine.core")
          assert(core.chdir(os.getenv("DIR")))
          assert(os.remove(os.getenv("DIR")))
          return { core.getcwd() }
        ]], { env = "DIR=" .. dir })
        assert.is_true(res.ok, res.stderr)
        assert.same({ nil, "getcwd: No such file or directory", ENOENT },
          res.result)
      end)

    it("getcwd returns the current directory", function()
      assert.equals(sh("pwd -P"), core.getcwd())
    end)

    it("chdir refuses what is not a path", function()
      assert_bad_paths(core.chdir, 1, "path")
    end)
  end)


  describe("stat() and lstat()", function()
    local dir

    setup(function()
      dir = tempdir()
      local q = h.shell_quote(dir)
      assert(os.execute("cd " .. q .. " && touch file && chmod 640 file" ..
        " && ln -s file link && mkfifo fifo && mkdir sub && chmod 2750 sub"))
    end)

    teardown(function()
      remove(dir)
    end)

    it("report type, permission bits, owner, device and inode", function()
      local st = core.stat(dir .. "/file")
      local file = dir .. "/file"
      assert.same({ type = "regular", mode = tonumber("640", 8),
        uid = tonumber(sh("stat -c %u " .. file)),
        gid = tonumber(sh("stat -c %g " .. file)),
        dev = tonumber(sh("stat -c %d " .. dir .. "/file")),
        ino = tonumber(sh("stat -c %i " .. dir .. "/file")) }, st)
      assert.equals(tonumber("2750", 8), core.stat(dir .. "/sub").mode)
    end)

    it("name every kind of file", function()
      assert.equals("directory", core.stat(dir).type)
      assert.equals("fifo", core.stat(dir .. "/fifo").type)
      assert.equals("char", core.stat("/dev/null").type)
      assert.equals("regular", core.stat(dir .. "/link").type)
      assert.equals("link", core.lstat(dir .. "/link").type)
      local block = sh("find /dev -maxdepth 1 -type b | head -n 1")
      if block ~= "" then
        assert.equals("block", core.stat(block).type)
      end
      local sock = sh("find /run -maxdepth 2 -type s 2>/dev/null | head -n 1")
      if sock ~= "" then
        assert.equals("socket", core.stat(sock).type)
      end
    end)

    it("return nil, a message and the errno", function()
      assert.same({ nil, "stat /nonexistent: No such file or directory",
        ENOENT }, { core.stat("/nonexistent") })
      assert.same({ nil, "lstat /etc/passwd/x: Not a directory", ENOTDIR },
        { core.lstat("/etc/passwd/x") })
    end)

    it("refuse what is not a path", function()
      assert_bad_paths(core.stat, 1, "path")
      assert_bad_paths(core.lstat, 1, "path")
    end)
  end)


  describe("umask()", function()
    it("sets the mask and returns the previous one", function()
      local old = core.umask(tonumber("027", 8))
      assert.equals(tonumber("027", 8), core.umask(old))
    end)

    it("refuses masks outside 0..0777", function()
      for _, v in ipairs({ -1, 512, 1.5, "022", 0/0, nil }) do
        local ok, err = pcall(core.umask, v)
        assert.is_false(ok)
        assert.matches("mask: expected a whole number in 0..511", err, 1,
          true)
      end
    end)
  end)


  describe("opendir_nofollow()", function()
    local dir

    setup(function()
      dir = tempdir()
      local q = h.shell_quote(dir)
      assert(os.execute("cd " .. q .. " && mkdir -p real/sub && " ..
        "ln -s real link && ln -s real/sub sublink && touch file"))
    end)

    teardown(function()
      remove(dir)
    end)

    it("opens the directory and stats every component", function()
      local d, comps = core.opendir_nofollow("/usr/share")
      assert.equals("confine.dir (fd " .. d:fileno() .. ")", tostring(d))
      assert.equals(3, #comps)
      for i, p in ipairs({ "/", "/usr", "/usr/share" }) do
        local st = core.stat(p)
        st.path = p
        assert.same(st, comps[i])
      end
      local st = d:stat()
      assert.equals(core.stat("/usr/share").ino, st.ino)
      assert.equals("directory", st.type)
      assert.is_true(d:close())
    end)

    it("accepts doubled and trailing slashes", function()
      local d, comps = core.opendir_nofollow("//usr//share/")
      assert.equals("/usr/share", comps[3].path)
      d:close()
      d, comps = core.opendir_nofollow("/")
      assert.equals(1, #comps)
      assert.equals("/", comps[1].path)
      d:close()
    end)

    it("lists its descriptor as a directory in fds()", function()
      local d = core.opendir_nofollow("/usr")
      local fd, kind = d:fileno(), nil
      for _, e in ipairs(core.fds()) do
        if e.fd == fd then kind = e.kind end
      end
      d:close()
      assert.equals("directory", kind)
      for _, e in ipairs(core.fds()) do
        assert.not_equals(fd, e.fd)
      end
    end)

    it("refuses a link anywhere in the path", function()
      for _, p in ipairs({ "/link", "/link/sub", "/sublink" }) do
        local d, msg, err = core.opendir_nofollow(dir .. p)
        assert.is_nil(d)
        assert.is_true(err == ENOTDIR or err == ELOOP)
        assert.matches("^opendir_nofollow " .. dir .. "/%a*link: ", msg)
      end
      local d = assert(core.opendir_nofollow(dir .. "/real/sub"))
      d:close()
    end)

    it("returns nil, a message and the errno", function()
      assert.same({ nil, "opendir_nofollow " .. dir ..
        "/missing: No such file or directory", ENOENT },
        { core.opendir_nofollow(dir .. "/missing/x") })
      assert.same({ nil, "opendir_nofollow " .. dir ..
        "/file: Not a directory", ENOTDIR },
        { core.opendir_nofollow(dir .. "/file") })
    end)

    h.it_root("returns EACCES for a directory the caller cannot search",
      function()
        local res = h.child(DROP .. [[
          return { core.opendir_nofollow("/root/x") }
        ]])
        assert.is_true(res.ok, res.stderr)
        assert.same({ nil, "opendir_nofollow /root/x: Permission denied",
          EACCES }, res.result)
      end)

    it("refuses relative paths and . or .. components", function()
      assert_bad_paths(core.opendir_nofollow, 1, "path")
      for _, p in ipairs({ "usr", "./usr", "/usr/..", "/usr/../etc",
                           "/./usr", "/usr/." }) do
        local ok, err = pcall(core.opendir_nofollow, p)
        assert.is_false(ok)
        assert.matches("bad argument #1", err, 1, true)
        assert.matches('path: "' .. p .. '"', err, 1, true)
      end
    end)

    it("closes once, and a closed handle is refused", function()
      local d = core.opendir_nofollow("/usr")
      assert.is_true(d:close())
      assert.is_true(d:close())
      assert.equals("confine.dir (closed)", tostring(d))
      for _, m in ipairs({ "fchdir", "stat", "fileno" }) do
        local ok, err = pcall(d[m], d)
        assert.is_false(ok)
        assert.matches("directory is closed", err, 1, true)
      end
      local ok, err = pcall(core.fchdir, d)
      assert.is_false(ok)
      assert.matches("directory is closed", err, 1, true)
    end)

    it("is closed by a <close> variable ", function()
      local x = core.opendir_nofollow("/usr")
      getmetatable(x).__close(x)  -- a plain function before 5.4
      assert.equals("confine.dir (closed)", tostring(x))
      if _VERSION ~= "Lua 5.4" then return end
      local f = assert(load([[
        local core = ...
        local keep
        do
          local d <close> = core.opendir_nofollow("/usr")
          keep = d
        end
        return tostring(keep)
      ]]))
      assert.equals("confine.dir (closed)", f(core))
    end)

    it("is closed by the collector", function()
      local fd = core.opendir_nofollow("/usr"):fileno()
      collectgarbage()
      collectgarbage()
      for _, e in ipairs(core.fds()) do assert.not_equals(fd, e.fd) end
    end)
  end)


  describe("fchdir()", function()
    it("enters the opened directory, as a function or a method", function()
      local res = h.child([[
        local core = require("confine.core")
        local d = core.opendir_nofollow("/usr/share")
        local a = core.fchdir(d)
        local cwd1 = core.getcwd()
        assert(core.chdir("/"))
        local b = d:fchdir()
        return { a = a, b = b, cwd1 = cwd1, cwd2 = core.getcwd() }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ a = true, b = true, cwd1 = "/usr/share",
        cwd2 = "/usr/share" }, res.result)
    end)

    h.it_root("returns nil, a message and EACCES for a directory the " ..
      "caller cannot search", function()
        local res = h.child(DROP .. [[
          local d = assert(core.opendir_nofollow("/root"))
          local ok, msg, err = d:fchdir()
          return { ok = ok, msg = msg and msg:gsub("%d+", "N"), err = err,
                   cwd = core.getcwd() }
        ]])
        assert.is_true(res.ok, res.stderr)
        assert.same({ msg = "fchdir fd N: Permission denied", err = EACCES,
          cwd = h.root }, res.result)
      end)

    it("refuses what is not a directory handle", function()
      for _, v in ipairs({ 3, "/usr", io.stdout, core.caps_new() }) do
        local ok, err = pcall(core.fchdir, v)
        assert.is_false(ok)
        assert.matches("bad argument #1", err, 1, true)
        assert.matches("confine.dir expected", err, 1, true)
      end
    end)

    h.it_root("enters a jail with no gap between check and use", function()
      local jail = tempdir(true)
      local ino = core.stat(jail).ino
      local res = h.child([[
        local core = require("confine.core")
        local d, comps = assert(core.opendir_nofollow(os.getenv("JAIL")))
        assert(d:fchdir())
        assert(core.chroot("."))
        assert(core.chdir("/"))
        assert(d:close())
        return { n = #comps, last = comps[#comps].path,
                 cwd = core.getcwd(), ino = core.stat("/").ino }
      ]], { env = "JAIL=" .. jail })
      remove(jail)
      assert.is_true(res.ok, res.stderr)
      assert.same({ n = 3, last = jail, cwd = "/", ino = ino },
        res.result)
    end)
  end)


  describe("read_file()", function()
    local dir

    before_each(function() dir = tempdir() end)
    after_each(function() remove(dir) end)

    local function write(name, text)
      local f = assert(io.open(dir .. "/" .. name, "wb"))
      f:write(text)
      f:close()
      return dir .. "/" .. name
    end

    it("returns the text and the stat of the file it read", function()
      local p = write("p.lua", "return {}\0tail")
      local text, st = core.read_file(p, 100)
      assert.are.equal("return {}\0tail", text)
      local lst = core.lstat(p)
      assert.are.equal("regular", st.type)
      assert.are.same({ lst.dev, lst.ino, lst.uid, lst.mode },
        { st.dev, st.ino, st.uid, st.mode })
    end)

    it("reads a file of exactly max bytes and refuses one byte more",
      function()
        local p = write("big", ("x"):rep(5000))
        assert.are.equal(5000, #core.read_file(p, 5000))
        local ok, msg, err = core.read_file(p, 4999)
        assert.is_nil(ok)
        assert.are.equal("read_file " .. p .. ": larger than 4999 bytes",
          msg)
        assert.are.equal(27, err)  -- EFBIG
      end)

    it("does not follow a final symbolic link", function()
      local p = write("real", "x")
      os.execute("ln -s real " .. h.shell_quote(dir .. "/link"))
      local ok, msg, err = core.read_file(dir .. "/link", 10)
      assert.is_nil(ok)
      assert.matches("^read_file .*/link: ", msg)
      assert.are.equal(ELOOP, err)
      assert.are.equal("x", core.read_file(p, 10))
    end)

    it("refuses a directory and a FIFO without blocking", function()
      local ok, msg, err = core.read_file(dir, 10)
      assert.is_nil(ok)
      assert.are.equal("read_file " .. dir ..
        ": not a regular file (a directory)", msg)
      assert.are.equal(22, err)  -- EINVAL
      os.execute("mkfifo " .. h.shell_quote(dir .. "/fifo"))
      ok, msg = core.read_file(dir .. "/fifo", 10)
      assert.is_nil(ok)
      assert.matches("not a regular file %(a fifo%)", msg)
    end)

    it("returns nil, a message and ENOENT for a missing file", function()
      local ok, msg, err = core.read_file(dir .. "/none", 10)
      assert.is_nil(ok)
      assert.are.equal("read_file " .. dir ..
        "/none: No such file or directory", msg)
      assert.are.equal(ENOENT, err)
    end)

    it("refuses bad arguments", function()
      assert_bad_paths(function(p) return core.read_file(p, 10) end, 1,
        "path")
      for _, max in ipairs({ -1, 1.5, 0 / 0, "10", 2 ^ 31 }) do
        local ok, err = pcall(core.read_file, "/etc/hostname", max)
        assert.is_false(ok)
        assert.matches("bad argument #2", err, 1, true)
        assert.matches("max: expected a whole number", err, 1, true)
      end
    end)
  end)


  describe("readlink()", function()
    it("returns the target of a link without following it", function()
      local dir = tempdir()
      os.execute("ln -s ../some/where " .. h.shell_quote(dir .. "/l"))
      assert.are.equal("../some/where", core.readlink(dir .. "/l"))
      remove(dir)
    end)

    it("returns nil, a message and EINVAL for what is not a link",
      function()
        local ok, msg, err = core.readlink("/")
        assert.is_nil(ok)
        assert.are.equal("readlink /: Invalid argument", msg)
        assert.are.equal(22, err)
      end)

    it("refuses bad arguments", function()
      assert_bad_paths(core.readlink, 1, "path")
    end)
  end)
end)
