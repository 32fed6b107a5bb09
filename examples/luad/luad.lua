#!/usr/bin/env lua5.4
--- A Lua daemon that confines itself, in process.
--
-- It starts as root, loads lua-socket, and calls confine.apply: nobody and
-- nogroup, no supplementary group, a chroot jail, and one capability kept,
-- CAP_NET_BIND_SERVICE.  Only then does it bind a port below 1024 on
-- 127.0.0.1, answer one HTTP request with what it is, and exit.
--
--     sudo lua5.4 examples/luad/luad.lua JAIL PORT
--
-- JAIL is a root-owned directory; it may be empty, because everything the
-- daemon needs is loaded before the jail hides the file system.
-- examples/luad/run prepares one, starts this script and looks at it from
-- the outside.

-- Find confine in the checkout this script belongs to.  Relative entries
-- (./?.lua, ./?.so) go: as root, nothing may load from the caller's
-- working directory.
do
  local function absolute_only(list)
    local kept = {}
    for entry in list:gmatch("[^;]+") do
      if entry:sub(1, 1) == "/" then kept[#kept + 1] = entry end
    end
    return table.concat(kept, ";")
  end
  local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
  local top = here .. "/../.."
  local build = os.getenv("CONFINE_BUILD") or (top .. "/build")
  package.path = top .. "/lua/?.lua;" .. top .. "/lua/?/init.lua;"
    .. absolute_only(package.path)
  package.cpath = build .. "/?.so;" .. absolute_only(package.cpath)
end

local confine = require("confine")

local format = string.format

local jail, port = arg[1], tonumber(arg[2])
if not jail or not port then
  io.stderr:write("usage: luad.lua JAIL PORT\n")
  os.exit(2)
end

-- The one call that gives root up.  Names are resolved and lua-socket
-- (its Lua files and its C library) is loaded while /etc and /usr are
-- still visible; the jail is checked before anything changes; and the
-- result is read back from the kernel.  On any failure after the first
-- irreversible step, apply ends the process.
local state = confine.apply({
  user = "nobody",
  group = "nogroup",
  chroot = jail,
  caps = { "net_bind_service" },
  preload = { "socket" },
})

-- From the jail's package.loaded: the jail has no /usr/share/lua.
local socket = require("socket")

local server = assert(socket.bind("127.0.0.1", port))
io.stdout:write(format("luad: listening on 127.0.0.1:%d as uid %d, gid %d,"
  .. " cwd %s\n", port, state.uid.real, state.gid.real, state.cwd))
io.stdout:flush()

local client = assert(server:accept())
client:settimeout(5)
local request = client:receive("*l") or ""
repeat
  local line = client:receive("*l")
until not line or line == ""

local body = format("hello from luad: %s\nuid %d %d %d, gid %d %d %d,"
  .. " groups {%s}\neffective caps {%s}, bounding {%s}, no_new_privs %s\n",
  request, state.uid.real, state.uid.effective, state.uid.saved,
  state.gid.real, state.gid.effective, state.gid.saved,
  table.concat(state.groups, ","),
  table.concat(state.caps.effective, ","),
  table.concat(state.caps.bounding, ","), tostring(state.no_new_privs))
client:send(format("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
  .. "Content-Length: %d\r\nConnection: close\r\n\r\n%s", #body, body))
client:close()
server:close()
