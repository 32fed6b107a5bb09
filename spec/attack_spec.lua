-- The attacks of the review (2026-12-04) that confine now holds, each
-- reproduced as it was found.  Every privileged body runs in a child
-- interpreter (a drop is one-way); refusals compare confine.status()
-- before and after.
local h = require("spec.helper")

local sh = h.sh

local q = h.shell_quote

-- A jail: every component root-owned and not group/other writable.
local function make_jail()
  local d = sh("mktemp -d /run/confine-spec.XXXXXX")
  assert(d:find("^/run/confine%-spec%."), d)
  assert(os.execute("chmod 755 " .. q(d)))
  return d
end

local function remove(d)
  if d and d:find("^/run/confine%-spec%.") then
    os.execute("rm -rf " .. q(d))
  end
end

local PRE = [[
local confine = require("confine")
local core = require("confine.core")
local function try(f, ...)
  local before = confine.status()
  local ok, err = pcall(f, ...)
  local after = confine.status()
  return { ok = ok, err = err, same = before.uid.effective
    == after.uid.effective and before.gid.effective == after.gid.effective
    and #before.caps.effective == #after.caps.effective
    and #before.groups == #after.groups }
end
]]

local INJECT, run = h.INJECT, h.run_child

-- Run argv on a fresh pseudo-terminal (python3's pty: the child leads a
-- new session with the terminal as its controlling one) and return all
-- it wrote there.
local PTY = [[
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
]]

local function in_pty(argv)
  local py = os.tmpname()
  local f = assert(io.open(py, "w"))
  f:write(PTY)
  f:close()
  local out = sh("python3 " .. q(py) .. " " .. argv .. " </dev/null")
  os.remove(py)
  return (out:gsub("\r", ""))
end

-- A script file for a child started without spec/helper (on a pty).
local function script(body)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(h.paths, "\n", body)
  f:close()
  os.execute("chmod 0644 " .. q(path))
  return path
end

local HAS_PYTHON
do
  local rc = os.execute("python3 -c 'import pty' 2>/dev/null")
  HAS_PYTHON = rc == true or rc == 0
end

local function legacy_tiocsti()
  local f = io.open("/proc/sys/dev/tty/legacy_tiocsti")
  if not f then return true end  -- older kernels: always allowed
  local v = f:read("*l")
  f:close()
  return v == "1"
end


describe("confine against the review's attacks", function()
  local jail
  before_each(function() jail = nil end)
  after_each(function() remove(jail) end)


  describe("1: TIOCSTI into the starting shell's terminal", function()
    -- bash on the pty runs the confined child, then reads what is left in
    -- the terminal's input: an injected line would be read there.
    local BODY = [[
local confine = require("confine")
local attack = require("confine_test_attack")
confine.apply({ user = "nobody", detach_tty = DETACH, allow_root = true })
local ok, msg, errno = attack.tiocsti(0, "echo INJECTED\n")
io.write("tiocsti:", tostring(ok), ":", tostring(errno), "\n")
io.write("ctty:", tostring(require("confine.core").has_ctty()), "\n")
]]

    local function attempt(detach)
      local path = script((BODY:gsub("DETACH", tostring(detach))))
      local out = in_pty("bash -c " .. q(h.lua .. " " .. q(path)
        .. "; read -t 1 line; echo \"read:[$line]\""))
      os.remove(path)
      return out
    end

    h.it_if(h.is_root() and HAS_PYTHON, "needs root and python3's pty",
      "types nothing: the confined process has no controlling terminal",
      function()
        local out = attempt(true)
        assert.truthy(out:find("tiocsti:nil:1\n", 1, true), out)
        assert.truthy(out:find("ctty:false\n", 1, true), out)
        assert.truthy(out:find("read:[]", 1, true), out)
        assert.falsy(out:find("INJECTED", 1, true), out)
      end)

    h.it_if(h.is_root() and HAS_PYTHON and legacy_tiocsti(),
      "needs root, python3's pty and TIOCSTI enabled in the kernel",
      "(the control: with detach_tty = false the injection works)",
      function()
        local out = attempt(false)
        assert.truthy(out:find("tiocsti:true:nil\n", 1, true), out)
        assert.truthy(out:find("read:[echo INJECTED]", 1, true), out)
      end)

    h.it_if(h.is_root() and HAS_PYTHON, "needs root and python3's pty",
      "refuses, changing nothing, a session leader with a terminal",
      function()
        local path = script(PRE .. [[
local r = try(confine.check, { user = "nobody" })
io.write("err:", tostring(r.err), "\n", "same:", tostring(r.same), "\n")
local ok = pcall(confine.check, { user = "nobody", allow_root = true,
  detach_tty = false })
io.write("kept:", tostring(ok), "\n")
]])
        local out = in_pty(h.lua .. " " .. q(path))
        os.remove(path)
        assert.truthy(out:find("err:confine: policy.detach_tty: true is "
          .. "impossible: this process leads the session of its "
          .. "controlling terminal", 1, true), out)
        assert.truthy(out:find("same:true\n", 1, true), out)
        assert.truthy(out:find("kept:true", 1, true), out)
      end)
  end)


  describe("3: a preload module from the current directory", function()
    h.it_root("is never searched there, and nothing of it runs", function()
      jail = make_jail()
      assert(os.execute(("mkdir -m 1777 %s/pub && printf %%s %s > "
        .. "%s/pub/sockets.lua && chown 65534 %s/pub/sockets.lua")
        :format(q(jail), q("io.open('" .. jail .. "/pwned', 'w'):close()"),
        q(jail), q(jail))))
      local r = run(PRE .. [[
        core.chdir(]] .. ("%q"):format(jail .. "/pub") .. [[)
        return try(confine.apply, { user = "nobody",
          preload = { "sockets" } })
      ]])
      assert.is_false(r.ok)
      assert.are.equal("confine: policy.preload: \"sockets\" is not found "
        .. "in the absolute entries of package.path or package.cpath "
        .. "(relative ones such as ./?.lua are never searched)", r.err)
      assert.is_true(r.same)
      assert.is_nil(io.open(jail .. "/pwned"))
    end)

    h.it_root("is refused when a user other than root owns it, or others "
      .. "can write it or its directory", function()
      jail = make_jail()
      assert(os.execute(("mkdir -m 0755 %s/lib %s/gw && chmod 0775 %s/gw"
        .. " && echo 'return 1' > %s/lib/theirs.lua && chown 65534 "
        .. "%s/lib/theirs.lua && echo 'return 1' > %s/lib/open.lua && "
        .. "chmod 0666 %s/lib/open.lua && echo 'return 1' > %s/gw/m.lua")
        :format(q(jail), q(jail), q(jail), q(jail), q(jail), q(jail),
        q(jail), q(jail))))
      local r = run(PRE .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        package.path = J .. "/lib/?.lua;" .. J .. "/gw/?.lua;"
          .. package.path
        local out = {}
        for _, m in ipairs({ "theirs", "open", "m" }) do
          out[m] = try(confine.check, { user = "nobody", preload = { m } })
        end
        return out
      ]])
      local function quoted(s) return ("%q"):format(s) end
      assert.are.equal("confine: policy.preload: \"theirs\" is unsafe: "
        .. quoted(jail .. "/lib/theirs.lua") .. " is owned by uid 65534 "
        .. "(not root or uid 0)", r.theirs.err)
      assert.are.equal("confine: policy.preload: \"open\" is unsafe: "
        .. quoted(jail .. "/lib/open.lua") .. " is writable by group or "
        .. "others (mode 0666)", r.open.err)
      assert.are.equal("confine: policy.preload: \"m\" is unsafe: "
        .. quoted(jail .. "/gw") .. " is writable by group or others "
        .. "(mode 0775)", r.m.err)
      assert.is_true(r.theirs.same and r.open.same and r.m.same)
    end)

    h.it_root("loads a safe module, but not the submodule it requires from "
      .. "the current directory", function()
      jail = make_jail()
      assert(os.execute(("mkdir -m 0755 %s/lib && mkdir -m 1777 %s/pub && "
        .. "echo 'return 42' > %s/lib/good.lua && echo 'return "
        .. "require(\"helperx\")' > %s/lib/needy.lua && printf %%s %s > "
        .. "%s/pub/helperx.lua")
        :format(q(jail), q(jail), q(jail), q(jail),
        q("io.open('" .. jail .. "/pwned', 'w'):close() return 1"),
        q(jail))))
      local r = run(PRE .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        package.path = J .. "/lib/?.lua;" .. package.path
        core.chdir(J .. "/pub")
        local path = package.path
        local a = try(confine.check, { user = "nobody",
          preload = { "good" } })
        local b = try(confine.apply, { user = "nobody",
          preload = { "needy" } })
        return { a = a, b = b, same_path = package.path == path,
          good = package.loaded.good }
      ]])
      assert.is_true(r.a.ok)
      assert.is_false(r.b.ok)
      assert.truthy(r.b.err:find("^confine: policy.preload: \"needy\" "
        .. "cannot be loaded %(.*module 'helperx' not found"), r.b.err)
      assert.is_true(r.b.same)
      assert.is_true(r.same_path)
      assert.is_nil(io.open(jail .. "/pwned"))
    end)

    -- A hostile file: creates `pwned` in the jail directory when run.
    local function hostile(dir, file)
      return ("printf %%s %s > %s/%s && chown 65534 %s/%s"):format(
        q("io.open('" .. jail .. "/pwned', 'w'):close() return 1"),
        q(dir), file, q(dir), file)
    end

    h.it_root("judges the submodule a safe module requires: one only "
      .. "others can change is refused and never runs", function()
      jail = make_jail()
      local pub = jail .. "/pub"
      assert(os.execute(("mkdir -m 0755 %s/lib && mkdir -m 1777 %s && "
        .. "echo 'return require(\"helperx\")' > %s/lib/needy.lua && %s")
        :format(q(jail), q(pub), q(jail), hostile(pub, "helperx.lua"))))
      local r = run(PRE .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        package.path = J .. "/lib/?.lua;" .. J .. "/pub/?.lua;"
          .. package.path
        local searchers = package.searchers or package.loaders
        local path = package.path
        local b = try(confine.apply, { user = "nobody",
          preload = { "needy" } })
        return { b = b, same_path = package.path == path,
          same_searchers = (package.searchers or package.loaders)
            == searchers, loaded = package.loaded.helperx ~= nil }
      ]])
      assert.is_false(r.b.ok)
      assert.are.equal(("confine: policy.preload: \"helperx\" is unsafe: "
        .. "%q is owned by uid 65534 (not root or uid 0)")
        :format(pub .. "/helperx.lua"), r.b.err)
      assert.is_true(r.b.same)
      assert.is_true(r.same_path and r.same_searchers)
      assert.is_false(r.loaded)
      assert.is_nil(io.open(jail .. "/pwned"))
    end)

    h.it_root("loads the very file it judged: one put in an earlier path "
      .. "entry after the check is judged (and refused) too", function()
      jail = make_jail()
      local pub = jail .. "/pub"
      assert(os.execute(("mkdir -m 0755 %s/lib && mkdir -m 1777 %s && "
        .. "echo 'return 42' > %s/lib/late.lua")
        :format(q(jail), q(pub), q(jail))))
      local r = run(PRE .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        package.path = J .. "/pub/?.lua;" .. J .. "/lib/?.lua;"
          .. package.path
        local lines = {}
        -- the log runs between the check phase and the preload: the
        -- moment an attacker who can write pub/ would strike
        local function log(line)
          lines[#lines + 1] = line
          if #lines == 1 then
            os.execute(]] .. ("%q"):format(hostile(pub, "late.lua"))
              .. [[)
          end
        end
        local b = try(confine.apply, { user = "nobody",
          preload = { "late" } }, { log = log })
        return { b = b, first = lines[1], loaded = package.loaded.late }
      ]])
      assert.truthy(r.first:find("^confine: checked"), r.first)
      assert.is_false(r.b.ok)
      assert.are.equal(("confine: policy.preload: \"late\" is unsafe: "
        .. "%q is owned by uid 65534 (not root or uid 0)")
        :format(pub .. "/late.lua"), r.b.err)
      assert.is_true(r.b.same)
      assert.is_nil(r.loaded)
      assert.is_nil(io.open(jail .. "/pwned"))
    end)
  end)


  describe("4: capabilities that give root back or leave the jail",
    function()
    h.it_root("are refused before anything changes", function()
      jail = make_jail()
      local r = run(PRE .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        return {
          chroot = try(confine.apply, { user = "nobody", chroot = J,
            caps = { "sys_chroot" } }),
          dac = try(confine.apply, { user = "nobody", chroot = J,
            caps = { "dac_read_search" } }),
        }
      ]])
      assert.are.equal("confine: policy.caps[1]: \"sys_chroot\" "
        .. "(cap_sys_chroot) chroots again, which walks out of any jail; "
        .. "set allow_root = true to keep it", r.chroot.err)
      assert.truthy(r.dac.err:find("open_by_handle_at walks out of any "
        .. "jail; set allow_root = true", 1, true), r.dac.err)
      assert.is_true(r.chroot.same and r.dac.same)
    end)
  end)


  describe("5: descriptors that survive the drop", function()
    h.it_root("refuses a kernel object unless close_fds names or closes "
      .. "it, changing nothing", function()
      local r = run(PRE .. [[
        local attack = require("confine_test_attack")
        local ev = attack.eventfd()
        local out = { fd = ev }
        out.eventfd = try(confine.apply, { user = "nobody" })
        -- named in close_fds: kept on purpose, so allowed
        out.kept = pcall(confine.check, { user = "nobody",
          close_fds = { ev } })
        -- closed by close_fds = true: allowed
        out.closed = pcall(confine.check, { user = "nobody",
          close_fds = true })
        return out
      ]])
      assert.is_false(r.eventfd.ok)
      assert.is_true(r.eventfd.same)
      assert.are.equal(("confine: descriptor %d is a kernel object "
        .. "(anon_inode:[eventfd]) that may carry the credentials of "
        .. "whoever made it (as an io_uring does) (close it first, set "
        .. "close_fds, or name it in close_fds to keep it)")
        :format(r.fd), r.eventfd.err)
      assert.is_true(r.kept)
      assert.is_true(r.closed)
    end)

    h.it_root("refuses a pseudo-terminal master (it types into the "
      .. "shell on its slave) unless close_fds names it", function()
      local r = run(PRE .. [[
        local out = { apply = try(confine.apply, { user = "nobody" }) }
        out.kept = pcall(confine.check, { user = "nobody",
          close_fds = { 3 } })
        out.closed = pcall(confine.check, { user = "nobody",
          close_fds = true })
        return out
      ]], { prefix = "sh -c 'exec 3<>/dev/ptmx && exec \"$0\" \"$@\"'" })
      assert.is_false(r.apply.ok)
      assert.is_true(r.apply.same)
      assert.truthy(r.apply.err:find("^confine: descriptor 3 is a "
        .. "pseudo%-terminal master %(5:2"), r.apply.err)
      assert.truthy(r.apply.err:find("typed into the terminal on its "
        .. "other side", 1, true), r.apply.err)
      assert.is_true(r.kept)
      assert.is_true(r.closed)
    end)

    h.it_root("refuses an epoll descriptor too", function()
      local r = run(PRE .. [[
        local fd = require("confine_test_attack").epoll()
        local _, err = pcall(confine.check, { user = "nobody" })
        return { fd = fd, err = err }
      ]])
      assert.truthy(r.err:find(("descriptor %d is a kernel object "
        .. "(anon_inode:[eventpoll])"):format(r.fd), 1, true), r.err)
    end)

    h.it_root("refuses a block device, a dangerous character device and a "
      .. "/proc file, allows /dev/zero and, without a jail, a directory",
      function()
      local r = run(PRE .. [[
        local function opened(path)
          local f = io.open(path, "rb")
          if not f then return "absent" end
          local ok, err = pcall(confine.check, { user = "nobody" })
          f:close()
          return ok and "allowed" or err
        end
        return { block = opened("/dev/loop0"), kmsg = opened("/dev/kmsg"),
          proc = opened("/proc/self/status"), zero = opened("/dev/zero"),
          dir = opened("/tmp") }
      ]])
      if r.block ~= "absent" then
        assert.truthy(r.block:find("is the block device 7:0 (raw disk "
          .. "access)", 1, true), r.block)
      end
      if r.kmsg ~= "absent" then
        assert.truthy(r.kmsg:find("is the character device 1:11 "
          .. "(/dev/kmsg), not one of null, zero, full, random, urandom "
          .. "or a terminal", 1, true), r.kmsg)
      end
      assert.truthy(r.proc:find("is a file on proc (/proc/", 1, true),
        r.proc)
      assert.are.equal("allowed", r.zero)
      assert.are.equal("allowed", r.dir)
    end)

    h.it_root("refuses a directory with a jail even when named in "
      .. "close_fds", function()
      jail = make_jail()
      local r = run(PRE .. [[
        local d = core.opendir_nofollow("/tmp")
        local fd = d:fileno()
        local ok, err = pcall(confine.check, { user = "nobody",
          chroot = ]] .. ("%q"):format(jail) .. [[, close_fds = { fd } })
        return { ok = ok, err = err, fd = fd }
      ]])
      assert.is_false(r.ok)
      assert.are.equal(("confine: descriptor %d is an open directory, "
        .. "which leads out of the jail, so it cannot be kept even when "
        .. "named in close_fds (close it first, or leave it out of "
        .. "close_fds)"):format(r.fd), r.err)
    end)
  end)


  describe("8: fail closed whatever the error or the program does",
    function()
    local FAIL = INJECT .. [[
      inject({ setresuid = function() error(ERR) end })
      local confine = require("confine")
    ]]

    for name, err in pairs({
      ["a __tostring that raises"] =
        "setmetatable({}, { __tostring = function() error('nope') end })",
      ["a __tostring that returns a table"] =
        "setmetatable({}, { __tostring = function() return {} end })",
      ["a table"] = "{}",
    }) do
      h.it_root("ends the process for an error object with " .. name,
        function()
        local r = h.child((FAIL:gsub("ERR", err)) .. [[
          local ok = pcall(confine.apply, { user = "nobody" })
          return "carried on " .. tostring(ok)
        ]])
        assert.are.equal(121, r.code)
        assert.is_false(r.ok)
        assert.truthy(r.stderr:find("^confine: setresuid failed: .*; the "
          .. "process is half%-confined\n$"), r.stderr)
      end)
    end

    h.it_root("ends the process with 121 although os.exit, io.stderr and "
      .. "EXIT_STATUS were replaced", function()
      local r = h.child(INJECT .. [[
        inject({ setresuid = function()
          return nil, "setresuid 65534: Operation not permitted", 1
        end })
        local confine = require("confine")
        os.exit = function() end
        require("confine.apply").EXIT_STATUS = 0
        io.stderr = io.stdout
        getmetatable(io.stdout).__index.flush = function() error("no") end
        local ok = pcall(confine.apply, { user = "nobody" })
        return "carried on " .. tostring(ok)
      ]])
      assert.are.equal(121, r.code)
      assert.is_false(r.ok)
    end)
  end)


  describe("9: verify", function()
    h.it_root("refuses a thread started by the log function after the "
      .. "thread check, changing nothing", function()
      local r = run(PRE .. [[
        return try(confine.apply, { user = "nobody" }, { log =
          function(l)
            if l:find("prepared") then
              require("confine_test_thread").start()
            end
          end })
      ]])
      assert.is_false(r.ok)
      assert.truthy(r.err:find("^confine: this process has 2 threads"),
        r.err)
      assert.is_true(r.same)
    end)

    h.it_root("fails closed when the chroot did not happen", function()
      jail = make_jail()
      local r = run(INJECT .. [[
        local first = true
        inject({ chroot = function(p)
          if first then first = false return true end
          return real.chroot(p)
        end })
        local confine = require("confine")
        local s, msg, step = confine.apply({ user = "nobody",
          on_error = "error", chroot = ]] .. ("%q"):format(jail) .. [[ })
        return { s = s, msg = msg, step = step }
      ]])
      assert.are.equal("verify", r.step)
      assert.truthy(r.msg:find("^confine: verify failed: verify: the root "
        .. "directory is not the jail %(dev %d+ ino %d+, expected dev %d+ "
        .. "ino %d+%)"), r.msg)
    end)
  end)


  describe("10: a final directory the new user cannot enter", function()
    h.it_root("is refused by the check, changing nothing", function()
      jail = make_jail()
      assert(os.execute(("mkdir -m 0700 %s/private && mkdir -m 0755 "
        .. "%s/open && ln -s /etc %s/etclink"):format(q(jail), q(jail),
        q(jail))))
      local r = run(PRE .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        return {
          private = try(confine.check, { user = "nobody", chroot = J,
            chdir = "/private" }),
          link = try(confine.check, { user = "nobody", chroot = J,
            chdir = "/etclink" }),
          root = try(confine.check, { user = "nobody", chdir = "/root" }),
          hostlink = try(confine.check, { user = "nobody",
            chdir = "/proc/self" }),
          open = try(confine.check, { user = "nobody", chroot = J,
            chdir = "/open" }),
          owner = try(confine.check, { user = "nobody", chroot = J,
            chdir = "/private", allow_root = true,
            caps = { "dac_read_search" } }),
        }
      ]])
      assert.are.equal(("confine: policy.chdir: \"/private\" cannot be "
        .. "entered by uid 65534: %q (mode 0700, owner 0, group 0) is not "
        .. "searchable for it"):format(jail .. "/private"), r.private.err)
      assert.truthy(r.link.err:find("^confine: policy.chdir: \"/etclink\" "
        .. "cannot be entered in the jail %(.*; a link is refused%)$"),
        r.link.err)
      assert.truthy(r.root.err:find("^confine: policy.chdir: \"/root\" "
        .. "cannot be entered by uid 65534: \"/root\" %(mode 07%d%d"),
        r.root.err)
      assert.are.equal("confine: policy.chdir: \"/proc/self\" goes through "
        .. "the link \"/proc/self\"; write the path it leads to",
        r.hostlink.err)
      assert.is_true(r.open.ok, r.open.err)
      assert.is_true(r.owner.ok, r.owner.err)
      assert.is_true(r.private.same and r.link.same and r.root.same)
    end)

    h.it_root("makes `confine check` exit 2", function()
      local p = os.tmpname()
      local f = assert(io.open(p, "w"))
      f:write('return { user = "nobody", chdir = "/root" }\n')
      f:close()
      local out = sh(("CONFINE_BUILD=%s %s %s/bin/confine check %s 2>&1; "
        .. "echo status=$?"):format(q(h.build), h.lua, q(h.root), q(p)))
      os.remove(p)
      assert.truthy(out:find("status=2$"), out)
      assert.truthy(out:find("policy.chdir: \"/root\" cannot be entered",
        1, true), out)
    end)
  end)


  describe("14: a jail on a pseudo-filesystem", function()
    h.it_root("is refused for /proc and /sys", function()
      local r = run(PRE .. [[
        return {
          proc = try(confine.check, { user = "nobody", chroot = "/proc" }),
          sys = try(confine.check, { user = "nobody", chroot = "/sys" }),
        }
      ]])
      assert.are.equal("confine: policy.chroot: \"/proc\" is on a proc "
        .. "filesystem, which exposes the kernel or other processes; a "
        .. "jail must be an ordinary directory", r.proc.err)
      assert.are.equal("confine: policy.chroot: \"/sys\" is on a sysfs "
        .. "filesystem, which exposes the kernel or other processes; a "
        .. "jail must be an ordinary directory", r.sys.err)
      assert.is_true(r.proc.same and r.sys.same)
    end)

    h.it_root("is refused for the device filesystem", function()
      local r = run(PRE .. [[
        local null = core.stat("/dev/null")
        local dev = core.stat("/dev")
        return { devfs = null and dev and null.dev == dev.dev,
          r = try(confine.check, { user = "nobody", chroot = "/dev" }) }
      ]])
      if r.devfs then
        assert.are.equal("confine: policy.chroot: \"/dev\" is on the "
          .. "device filesystem (that of /dev/null); a jail must not hold "
          .. "the host's device nodes", r.r.err)
      else
        assert.is_false(r.r.ok)
      end
    end)
  end)
end)
