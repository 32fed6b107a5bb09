-- confine.core's primitives for the attack review: the controlling
-- terminal (has_ctty, detach_tty, getsid), _exit, what fds() tells about
-- each descriptor, and dir:statfs().
local h = require("spec.helper")
local core = require("confine.core")


describe("confine.core", function()

  describe("getsid()", function()
    it("returns this process's session id", function()
      local r = h.child([[
        local core = require("confine.core")
        return { sid = core.getsid(), pid = core.getpid() }
      ]], { prefix = "setsid -w" })
      assert.is_true(r.ok, r.stderr)
      assert.are.equal(r.result.pid, r.result.sid)
      assert.are.equal("number", type(core.getsid()))
    end)
  end)


  describe("has_ctty() and detach_tty()", function()
    it("see no terminal in a new session, and detaching is a no-op there",
      function()
      local r = h.child([[
        local core = require("confine.core")
        return { before = core.has_ctty(), detach = core.detach_tty(),
          after = core.has_ctty() }
      ]], { prefix = "setsid -w" })
      assert.is_true(r.ok, r.stderr)
      assert.are.same({ before = false, detach = true, after = false },
        r.result)
    end)

    -- python3 makes a pty whose slave is the controlling terminal of a
    -- session of its own, then runs the child in a new session with the
    -- master open: TIOCGSID on the master answers with the slave's
    -- session, which is not the child's.
    local MASTER = [=[
import fcntl, os, subprocess, sys, termios
m, s = os.openpty()
ready_r, ready_w = os.pipe()
done_r, done_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    os.write(ready_w, b"x")
    os.read(done_r, 1)
    os._exit(0)
os.read(ready_r, 1)
for fd in (s, ready_r, ready_w, done_r):
    os.close(fd)
code = subprocess.run(["setsid", "-w"] + sys.argv[1:],
                      pass_fds=(m,)).returncode
os.write(done_w, b"x")
os.waitpid(pid, 0)
sys.exit(code)
]=]
    local rc = os.execute("python3 -c 'import termios' 2>/dev/null")
    local python = rc == true or rc == 0

    h.it_if(h.is_root() and python, "needs root and python3",
      "see no terminal through a pty master open in a jail without "
      .. "/dev/tty", function()
      local p = io.popen("mktemp -d /run/confine-spec.XXXXXX")
      local jail = p:read("*l")
      p:close()
      assert(jail:find("^/run/confine%-spec%."), jail)
      local py = os.tmpname()
      local f = assert(io.open(py, "w"))
      f:write(MASTER)
      f:close()
      local r = h.child([[
        local core = require("confine.core")
        local master
        for _, d in ipairs(core.fds()) do
          if d.kind == "char" and d.major == 5 and d.minor == 2 then
            master = d.fd
          end
        end
        assert(core.chroot(]] .. ("%q"):format(jail) .. [[))
        assert(core.chdir("/"))
        return { master = master, ctty = core.has_ctty(),
          detach = core.detach_tty(), sid = core.getsid() == core.getpid() }
      ]], { prefix = "python3 " .. h.shell_quote(py) })
      os.remove(py)
      os.execute("rm -rf " .. h.shell_quote(jail))
      assert.is_true(r.ok, r.stderr)
      assert.is_number(r.result.master)
      assert.is_true(r.result.sid)
      assert.is_false(r.result.ctty)
      assert.is_true(r.result.detach)
    end)

    it("return a boolean and true without arguments", function()
      assert.are.equal("boolean", type(core.has_ctty()))
    end)
  end)


  describe("_exit()", function()
    it("ends the process with the status, flushing C's streams, running "
      .. "no Lua code", function()
      local r = h.child([[
        local core = require("confine.core")
        os.exit = function() error("os.exit was called") end
        setmetatable({}, { __gc = function() io.stderr:write("gc\n") end })
        io.stdout:write("flushed")
        core._exit(121)
        return "carried on"
      ]])
      assert.are.equal(121, r.code)
      assert.is_false(r.ok)
      assert.are.equal("flushed", r.stdout)
      assert.are.equal("", r.stderr)
    end)

    it("refuses a status outside 0..255", function()
      for _, v in ipairs({ -1, 256, 1.5, "1" }) do
        local ok, err = pcall(core._exit, v)
        assert.is_false(ok)
        assert.matches("status: expected a whole number in 0..255", err,
          1, true)
      end
    end)
  end)


  describe("fds()", function()
    it("names the filesystem, the device numbers and the link of each "
      .. "descriptor", function()
      local f = assert(io.open("/dev/zero", "rb"))
      local zero
      for _, d in ipairs(core.fds()) do
        if d.kind == "char" and d.major == 1 and d.minor == 5 then zero = d end
      end
      f:close()
      assert.is_table(zero)
      assert.are.equal("number", type(zero.fstype))
      if zero.name then assert.are.equal("/dev/zero", zero.name) end
    end)

    local proc = io.open("/proc/self/status")
    if proc then proc:close() end

    h.it_if(proc ~= nil, "needs /proc",
      "tells a file on /proc by its filesystem", function()
      local f = assert(io.open("/proc/self/status", "rb"))
      local found
      for _, d in ipairs(core.fds()) do
        if d.fs == "proc" then found = d end
      end
      f:close()
      assert.is_table(found)
      assert.are.equal("regular", found.kind)
      assert.are.equal(0x9fa0, found.fstype)
    end)
  end)


  describe("dir:statfs()", function()
    it("gives the filesystem's magic number and, for /proc, its name",
      function()
      local d = assert(core.opendir_nofollow("/proc"))
      local s = d:statfs()
      d:close()
      assert.are.same({ type = 0x9fa0, name = "proc" }, s)
    end)

    it("refuses a closed handle", function()
      local d = assert(core.opendir_nofollow("/"))
      d:close()
      assert.has_error(function() d:statfs() end)
    end)
  end)
end)
