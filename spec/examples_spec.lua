--- examples/: the jailed web server and the Lua daemon, end to end.
--
-- Each example runs as root in a child shell, on 127.0.0.1 only, with its
-- jail in a fresh directory under /run (every component of a jail must be
-- root-owned and writable by no one else, which /tmp is not).  The run
-- scripts check the daemon from the outside; these specs read what they
-- printed from /proc/PID/status and check it again.

local h = require("spec.helper")

local format = string.format
local q = h.shell_quote

local NET_BIND_SERVICE = "0000000000000400"
local NONE = "0000000000000000"


-- Run a shell command; return its exit status, stdout and stderr.
local sh = h.run


-- The TCP ports something listens on.
local function listening()
  local used = {}
  for _, file in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local f = io.open(file, "r")
    if f then
      for line in f:lines() do
        local port, state = line:match("^%s*%d+: %x+:(%x+) %x+:%x+ (%x+)")
        if state == "0A" then
          used[tonumber(port, 16)] = true
        end
      end
      f:close()
    end
  end
  return used
end


-- True when process `pid` itself holds a socket listening on `port`.
local function listens(pid, port)
  local inodes = {}
  for _, file in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local f = io.open(file, "r")
    if f then
      for line in f:lines() do
        local p, state, inode = line:match("^%s*%d+: %x+:(%x+) %x+:%x+"
          .. " (%x+)%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+(%d+)")
        if state == "0A" and tonumber(p, 16) == port then
          inodes["socket:[" .. inode .. "]"] = true
        end
      end
      f:close()
    end
  end
  local p = io.popen("ls /proc/" .. pid .. "/fd 2>/dev/null")
  for fd in p:lines() do
    local l = io.popen("readlink /proc/" .. pid .. "/fd/" .. fd
      .. " 2>/dev/null")
    local link = l:read("*l")
    l:close()
    if link and inodes[link] then
      p:close()
      return true
    end
  end
  p:close()
  return false
end


-- A random generator of our own, seeded from /dev/urandom: suites that
-- run at the same time must not draw the same ports.
local random
do
  local f = assert(io.open("/dev/urandom", "rb"))
  local a, b, c = f:read(3):byte(1, 3)
  f:close()
  local state = a * 65536 + b * 256 + c
  random = function(n)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n + 1
  end
end


-- A port below 1024 that nothing listens on, drawn at random from
-- 900..1023.
local function free_port()
  local used = listening()
  local free = {}
  for port = 900, 1023 do
    if not used[port] then
      free[#free + 1] = port
    end
  end
  assert(#free > 0, "no free port in 900..1023")
  return free[random(#free)]
end


-- True when no process `pid` exists any more.
local function gone(pid)
  local f = io.open("/proc/" .. pid .. "/status", "r")
  if f then f:close() end
  return f == nil
end


-- A fresh root-owned directory under /run, removed after the spec, along
-- with whatever `also` (a function) cleans up: busted keeps only the last
-- `finally` of a spec.
local function scratch(also)
  local p = io.popen("mktemp -d /run/confine-spec.XXXXXX")
  local dir = p:read("*l")
  p:close()
  assert.matches("^/run/confine%-spec%.", dir)
  finally(function()
    if also then also() end
    os.execute("rm -rf " .. q(dir))
  end)
  return dir
end


-- Run an example's run script with DIR and PORT; give up after a minute.
local function example(name, dir, port)
  return sh(format("CONFINE_LUA=%s CONFINE_BUILD=%s timeout -k 5 60"
    .. " %s %s %d", q(h.lua), q(h.build),
    q(h.root .. "/examples/" .. name .. "/run"), q(dir), port))
end


-- The /proc/PID/status lines and Root line a run script printed.
local function fields(out)
  local t = {}
  for name, value in out:gmatch("\n(%a+):\t([^\n]*)") do
    t[name] = value:gsub("%s+", " "):gsub(" $", "")
  end
  return t
end


-- Assert the confinement a run script reported: nobody's ids four times,
-- no groups, no_new_privs, the jail as root, and the capability sets
-- `caps` gives (CapInh, CapPrm, CapEff, CapBnd, CapAmb).
local function assert_confined(t, dir, caps)
  assert.equal("65534 65534 65534 65534", t.Uid)
  assert.equal("65534 65534 65534 65534", t.Gid)
  assert.equal("", t.Groups)
  for _, set in ipairs({ "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" }) do
    assert.equal(caps[set], t[set], set)
  end
  assert.equal("1", t.NoNewPrivs)
  assert.equal(dir .. "/root", t.Root)
end


describe("examples", function()

  describe("httpd", function()
    h.it_root("serves the page from the jail as nobody, keeping only"
      .. " cap_net_bind_service", function()
        local dir, port = scratch(), free_port()
        local code, out, err = example("httpd", dir, port)
        assert.equal("", err)
        assert.equal(0, code)
        assert.matches("Served from a jail", out)
        assert_confined(fields(out), dir, { CapInh = NET_BIND_SERVICE,
          CapPrm = NET_BIND_SERVICE, CapEff = NET_BIND_SERVICE,
          CapBnd = NET_BIND_SERVICE, CapAmb = NET_BIND_SERVICE })
        assert.matches("\nhttpd: ok", out)
        -- the daemon was stopped (not: nothing on the port, which another
        -- suite may use by now)
        assert.is_true(gone(assert(out:match("/proc/(%d+)/status"))))
      end)

    h.it_root("fails clearly when the port is taken", function()
      local pid
      local dir = scratch(function()
        if pid then os.execute("kill " .. pid) end
      end)
      local port = free_port()
      local p = io.popen(format("busybox httpd -f -p 127.0.0.1:%d -h %s"
        .. " >/dev/null 2>&1 & echo $!", port, q(dir)))
      pid = assert(tonumber(p:read("*l")))
      p:close()
      for _ = 1, 50 do
        if listens(pid, port) then break end
        os.execute("sleep 0.1")
      end
      assert.is_true(listens(pid, port))
      local code, out, err = example("httpd", dir, port)
      assert.equal(1, code)
      assert.equal("", out)
      assert.matches("httpd: port: something already listens on port "
        .. port, err)
    end)

    h.it_root("refuses a jail under /tmp before anything changes",
      function()
        local p = io.popen("mktemp -d /tmp/confine-spec.XXXXXX")
        local dir = p:read("*l")
        p:close()
        finally(function() os.execute("rm -rf " .. q(dir)) end)
        local port = free_port()
        local code, _, err = example("httpd", dir, port)
        assert.equal(1, code)
        assert.matches("\nconfine: [^\n]*/tmp", "\n" .. err)
        assert.matches("did not start listening", err)
        assert.is_true(gone(assert(err:match("daemon %(pid (%d+)%)"))))
      end)
  end)


  describe("luad", function()
    h.it_root("confines itself in process and answers one request",
      function()
        local dir, port = scratch(), free_port()
        local code, out, err = example("luad", dir, port)
        assert.equal("", err)
        assert.equal(0, code)
        assert.matches("luad: listening on 127%.0%.0%.1:" .. port
          .. " as uid 65534", out)
        assert_confined(fields(out), dir, { CapInh = NONE,
          CapPrm = NET_BIND_SERVICE, CapEff = NET_BIND_SERVICE,
          CapBnd = NET_BIND_SERVICE, CapAmb = NONE })
        assert.matches("hello from luad: GET / HTTP/1%.1\n"
          .. "uid 65534 65534 65534, gid 65534 65534 65534, groups {}\n"
          .. "effective caps {cap_net_bind_service},"
          .. " bounding {cap_net_bind_service}, no_new_privs true", out)
        assert.matches("\nluad: ok", out)
        assert.is_true(gone(assert(out:match("/proc/(%d+)/status"))))
      end)
  end)
end)
