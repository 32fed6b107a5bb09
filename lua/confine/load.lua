--- Reading a policy from a Lua file.
--
-- The file must be a regular file owned by root or by the process's
-- effective uid and not writable by group or others; so must every
-- directory above it (a sticky directory such as /tmp may be writable by
-- others: nobody else can rename or replace a file they do not own in it).
-- Then nobody but root or the caller can swap the file between the check
-- and the read, and the owner and mode are judged once more on the very
-- descriptor the text is read from.  The file runs as text only, in a
-- fresh environment with the base functions that compute values, string,
-- table, math, utf8 and os.getenv: it can compute a policy but reaches
-- nothing else.
-- @module confine.load

local core = require("confine.core")
local policy = require("confine.policy")

local M = {}

local error, format, ipairs, pairs, pcall, tostring, type =
  error, string.format, ipairs, pairs, pcall, tostring, type
local sub = string.sub
-- The metatable every string shares: its __index is the string library.
local STRING_MT = getmetatable("")
local unpack = table.unpack or unpack
local show = policy.show

-- Largest policy file read, in bytes.
local SIZE_MAX = 1024 * 1024

-- Most Lua instructions a policy file may run (in steps of STEP): a loop
-- that never ends is an error, not a hung launcher.
local STEP = 1000
local STEPS_MAX = 100000

-- Most memory a policy file may take, in bytes, above what the state
-- used before it ran: a string.rep of a gigabyte, or a string doubled in
-- a loop, is an error, not a process that eats the machine.
-- XXX: in process, C work that allocates nothing (a backtracking
-- pattern) or frees as it goes is bounded by neither limit; bin/confine
-- adds a processor-time limit that ends the process (core.limit_cpu).
-- XXX: on LuaJIT, a refused allocation inside a large host state once
-- ended the host with "not enough memory" (seen only under busted).
local MEMORY_MAX = 64 * 1024 * 1024

-- Base functions a policy file may call: pure computation only.  load,
-- loadfile, dofile, require, getmetatable (which reaches the shared string
-- metatable), setmetatable, rawset, collectgarbage and print stay out.
local BASE = { "assert", "error", "ipairs", "next", "pairs", "pcall",
  "rawequal", "rawget", "rawlen", "select", "tonumber", "tostring", "type",
  "unpack", "xpcall" }


-- One clean line for a message: no newline, no control byte (C0, DEL,
-- or C1 as UTF-8: U+0080..U+009F).
local function one_line(s)
  return (s:gsub("[\r\n]+", " "):gsub("%c", "?"):gsub("\194[\128-\159]",
    "?"))
end


local function refuse(path, fmt, ...)
  error(one_line("confine: " .. path .. ": " .. format(fmt, ...)), 0)
end


-- The rest of safe_xpcall: the handler runs after pcall has returned.
local function handled(handler, ok, ...)
  if ok then
    return true, ...
  end
  local _, value = pcall(handler, (...))
  return false, value
end


-- xpcall for policy files.  The real one runs the message handler inside
-- the failing call; when the error is run_limited's "runs too long",
-- raised from the count hook, hooks are off there, so a handler that
-- loops would never be stopped.  Here the handler is ordinary code, run
-- after the error has unwound (so it sees no traceback, which a policy
-- file cannot read anyway).  An error in the handler is its result.
local function safe_xpcall(f, handler, ...)
  return handled(handler, pcall(f, ...))
end


-- A copy of a library table, so a policy file cannot change the caller's.
local function copy(t, without)
  local c = {}
  for k, v in pairs(t) do
    if k ~= without then c[k] = v end
  end
  return c
end


--- The environment a policy file runs in (a new table each time).
-- @treturn table
function M.environment()
  local env = {}
  for _, name in ipairs(BASE) do env[name] = _G[name] end
  env.xpcall = safe_xpcall
  env._VERSION = _VERSION
  env.string = copy(string, "dump")
  env.table = copy(table)
  env.math = copy(math)
  if utf8 then env.utf8 = copy(utf8) end
  env.os = { getenv = os.getenv }
  env._G = env
  return env
end


-- Judge one stat table: owner root or `uid`, not writable by group or
-- others (unless `sticky_ok` and the sticky bit is set).
local function unsafe(st, uid, sticky_ok)
  if st.uid ~= 0 and st.uid ~= uid then
    return format("is owned by uid %d (not root or uid %d)", st.uid, uid)
  end
  local writable = st.mode % 32 >= 16 or st.mode % 4 >= 2
  if writable and not (sticky_ok and st.mode % 1024 >= 512) then
    return format("is writable by group or others (mode %04o)", st.mode)
  end
end


-- Check the file and every directory above it; returns the file's lstat.
local function check_path(path, shown)
  local _, euid = core.getresuid()
  local parts = {}
  for part in path:gmatch("[^/]+") do parts[#parts + 1] = part end
  local dir = ""
  for i = 0, #parts - 1 do
    if i > 0 then dir = dir .. "/" .. parts[i] end
    local here = dir == "" and "/" or dir
    local lst, msg = core.lstat(here)
    if not lst then refuse(shown, "cannot be checked (%s)", tostring(msg)) end
    if lst.type == "link" then
      -- XXX: the link's target is checked, not the directories above it
      local why = unsafe(lst, euid, false)
      if why then
        refuse(shown, "is unsafe: the link %s %s", show(here), why)
      end
      lst, msg = core.stat(here)
      if not lst then
        refuse(shown, "cannot be checked (%s)", tostring(msg))
      end
    end
    local why = unsafe(lst, euid, true)
    if why then
      refuse(shown, "is unsafe: the directory %s %s", show(here), why)
    end
  end
  local st, msg = core.lstat(path)
  if not st then refuse(shown, "cannot be read (%s)", tostring(msg)) end
  if st.type ~= "regular" then
    refuse(shown, "is not a regular file (it is a %s)", st.type)
  end
  local why = unsafe(st, euid, false)
  if why then refuse(shown, "is unsafe: it %s", why) end
  return st
end


-- Compile the text in `env`, on any Lua from 5.1 on; text only.
local function compile(src, chunkname, env)
  if sub(src, 1, 1) == "\27" then
    return nil, "is precompiled bytecode; only source is accepted"
  end
  if sub(src, 1, 1) == "#" then
    src = src:gsub("^[^\n]*", "", 1)
  end
  if setfenv then
    local f, msg = loadstring(src, chunkname)
    if f then setfenv(f, env) end
    return f, msg
  end
  return load(src, chunkname, "t", env)
end


-- Run the chunk with an instruction budget and a memory ceiling,
-- restoring any hook the caller had (a debugger, a coverage tool).
-- LuaJIT calls no count hook in compiled code, so there the file's
-- functions stay interpreted.  While it runs, the string metatable's
-- __index is the file's own string table (no dump): ("").dump would
-- reach the real one.  What runs here before the pcall returns uses
-- locals only, never a string method.
local function run_limited(chunk, source, env)
  if rawget(_G, "jit") and jit.off then jit.off(chunk, true) end
  local sethook, gethook, getinfo = debug.sethook, debug.gethook,
    debug.getinfo
  local memory_hit = core.limit_memory_hit
  local old = { gethook() }
  local steps, over = 0, nil
  local function hook(event)
    if not over then
      if event == "count" then steps = steps + 1 end
      -- A file that catches "not enough memory" and tries again is
      -- stopped like an endless loop: each try may cost a collection, or
      -- (on 5.1) the 64 MiB built up before the refusal.
      if memory_hit() then
        over = format("uses too much memory (more than %d MiB)",
          MEMORY_MAX / 1024 / 1024)
      elseif steps > STEPS_MAX then
        over = format("runs too long (more than %d Lua instructions)",
          STEP * STEPS_MAX)
      end
      -- from now on every instruction raises, so a pcall in the file
      -- cannot swallow the error and go on
      if over then sethook(hook, "", 1) end
    end
    -- raise only in the file's own code, never in ours after it returned:
    -- by its name, and not in run_limited, whose name can be the same
    -- (a policy file at confine/load.lua, beside a program that carries
    -- this module under that name)
    if over then
      local info = getinfo(2, "Sf")
      if info.source == source and info.func ~= run_limited then
        error(over, 2)
      end
    end
  end
  local index = STRING_MT.__index
  core.limit_memory(MEMORY_MAX)
  STRING_MT.__index = env.string
  sethook(hook, "c", STEP)
  local ok, res = pcall(chunk)
  sethook(unpack(old))
  STRING_MT.__index = index
  if core.limit_memory(nil) then
    return false, format("uses too much memory (more than %d MiB)",
      MEMORY_MAX / 1024 / 1024)
  end
  return ok, res
end


--- Load a policy table from a Lua file.
-- @tparam string path the file
-- @treturn table what the file returned (a table; validate it with
--   `confine.policy`)
-- @raise `confine: FILE:LINE: message` or `confine: FILE: message`, one
--   line
function M.load(path)
  if type(path) ~= "string" or path == "" or path:find("\0", 1, true) then
    error(one_line("confine: load: " .. show(path) .. " is not a path"), 0)
  end
  local full = path
  if sub(path, 1, 1) ~= "/" then
    local cwd, msg = core.getcwd()
    if not cwd then refuse(path, "cannot be found (%s)", tostring(msg)) end
    full = (cwd == "/" and "" or cwd) .. "/" .. path
  end
  local before = check_path(full, path)

  -- The opened file is judged again: its stat comes from the descriptor
  -- the text was read from, so no swap between check and read counts.
  local src, st = core.read_file(full, SIZE_MAX)
  if not src then refuse(path, "cannot be read (%s)", tostring(st)) end
  local _, euid = core.getresuid()
  local why = unsafe(st, euid, false)
  if why then refuse(path, "is unsafe: it %s", why) end
  if st.dev ~= before.dev or st.ino ~= before.ino then
    refuse(path, "changed while it was read")
  end

  local env = M.environment()
  local chunk, err = compile(src, "@" .. path, env)
  if not chunk then
    err = tostring(err)
    if sub(err, 1, #path + 1) == path .. ":" then
      error(one_line("confine: " .. err), 0)
    end
    refuse(path, "%s", err)
  end
  local ok, res = run_limited(chunk, "@" .. path, env)
  if not ok then
    if type(res) ~= "string" then
      refuse(path, "raised %s", show(res))
    end
    if sub(res, 1, #path + 1) == path .. ":" then
      error(one_line("confine: " .. res), 0)
    end
    refuse(path, "%s", res)
  end
  if type(res) ~= "table" then
    refuse(path, "returned %s, not a policy table", show(res))
  end
  return res
end

return M
