--- Shared spec support: child interpreters and the root-only guard.
--
-- Changing ids is one-way, so every spec that drops privilege runs its body
-- in a fresh interpreter (the one named by CONFINE_LUA, lua5.4 by default)
-- with the built module and lua/ on its paths, and reads back what the body
-- returned.  The busted process itself never changes identity.

local M = {}

local getenv = os.getenv
local format = string.format

local function script_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:match("^@(.*)/spec/helper%.lua$")
  return dir or "."
end

--- The repository's top directory (absolute when busted ran from it).
M.root = script_dir()
if M.root == "." or M.root:sub(1, 1) ~= "/" then
  local pwd = getenv("PWD") or "."
  M.root = M.root == "." and pwd or (pwd .. "/" .. M.root)
end

--- The interpreter children run on (CONFINE_LUA, default lua5.4).
M.lua = getenv("CONFINE_LUA") or "lua5.4"

--- The build directory holding confine/core.so (CONFINE_BUILD).
M.build = getenv("CONFINE_BUILD") or (M.root .. "/build")

--- package.path and package.cpath for a child, as Lua source.
M.paths = format(
  "package.path=%q..';'..package.path; package.cpath=%q..';'..package.cpath",
  M.root .. "/lua/?.lua;" .. M.root .. "/lua/?/init.lua",
  M.build .. "/?.so")

--- True when the spec process runs as root.
local root_cache
function M.is_root()
  if root_cache == nil then
    local p = io.popen("id -u")
    root_cache = p:read("*l") == "0"
    p:close()
  end
  return root_cache
end

--- True under CI, where a privileged spec may not be skipped.
function M.in_ci()
  return getenv("CI") == "true"
end


-- The serialiser, as source: children get the same text, so the two sides
-- cannot drift apart.  It handles tables, strings, numbers and booleans.
local SERIALISER = [[
local format = string.format
local function ser(v, seen)
  local t = type(v)
  if t == "string" then return format("%q", v)
  elseif t == "number" then
    if v ~= v then return "(0/0)" end
    if v == math.huge then return "math.huge" end
    if v == -math.huge then return "-math.huge" end
    if math.type and math.type(v) == "integer" then return tostring(v) end
    if v == math.floor(v) and v > -2^53 and v < 2^53 then
      return format("%.0f", v)
    end
    return format("%.17g", v)
  elseif t == "boolean" or t == "nil" then return tostring(v)
  elseif t == "table" then
    seen = seen or {}
    if seen[v] then error("cannot serialise a cycle") end
    seen[v] = true
    local parts = {}
    for k, x in pairs(v) do
      parts[#parts + 1] = "[" .. ser(k, seen) .. "]=" .. ser(x, seen)
    end
    seen[v] = nil
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return format("%q", tostring(v))
end
return ser
]]

local load_source = loadstring or load
M.serialise = load_source(SERIALISER)()

local MARK = "\1confine-spec-result\1"

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  os.remove(path)
  return s
end

--- Run a shell command and return its output without the last newline.
function M.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  return (out:gsub("\n$", ""))
end


local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

-- os.execute's results as one exit status on every runtime (5.1 and
-- LuaJIT return the wait status; a signal is 128 + its number).
local function exit_code(a, b, c)
  if type(a) == "number" then
    return a >= 256 and math.floor(a / 256) or a
  end
  return (b == "exit") and c or (128 + (c or 0))
end


--- Run a shell command with no input.
-- @return its exit status, stdout and stderr
function M.run(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local code = exit_code(os.execute(format("%s >%s 2>%s </dev/null", cmd,
    out, err)))
  return code, read_all(out), read_all(err)
end


--- Run `body` (Lua source) in a fresh child interpreter.
--
-- The body runs with the built module on its paths; what it returns is
-- serialised back.  `opts.prefix` is a shell prefix for the command (for
-- example `capsh --drop=cap_setuid --`), `opts.env` a string of VAR=value
-- assignments.
-- @return a table { code = exit status, result = returned value (or nil),
--   stdout = text before the result, stderr = text, ok = body finished }
function M.child(body, opts)
  opts = opts or {}
  local script = os.tmpname()
  local out, err = os.tmpname(), os.tmpname()

  local f = assert(io.open(script, "wb"))
  f:write(M.paths, "\n")
  f:write("local __SER = (function()\n", SERIALISER, "\nend)()\n")
  f:write("local __body = function(...)\n", body, "\nend\n")
  f:write("local __v = __body(...)\n")
  f:write("io.stdout:write(", format("%q", MARK), ", __SER(__v), '\\n')\n")
  f:write("io.stdout:flush()\n")
  f:close()

  -- A prefix may change the uid before the interpreter reads the script.
  os.execute("chmod 0644 " .. shell_quote(script))

  local cmd = format("%s %s %s %s >%s 2>%s </dev/null",
    opts.env or "", opts.prefix or "", M.lua, shell_quote(script),
    out, err)
  local code = exit_code(os.execute(cmd))
  os.remove(script)

  local stdout, stderr = read_all(out), read_all(err)
  local res = { code = code, stderr = stderr, stdout = stdout, ok = false }
  local i = stdout:find(MARK, 1, true)
  if i then
    res.stdout = stdout:sub(1, i - 1)
    local text = stdout:sub(i + #MARK):gsub("\n$", "")
    local chunk = (loadstring or load)("return " .. text)
    res.result = chunk()
    res.ok = true
  end
  return res
end

--- Like child(), but a body that did not finish is an error at the
-- caller's line.
-- @return what the body returned, and child()'s whole result
function M.run_child(body, opts)
  local r = M.child(body, opts)
  if not r.ok then
    error(("child failed (status %s): %s%s"):format(tostring(r.code),
      r.stderr, r.stdout), 2)
  end
  return r.result, r
end


--- Lua source for a child body: `inject(fake)` makes the next
-- require "confine" see a core whose named functions are `fake`'s (the
-- rest are the real ones), to stage a failure at a chosen step.
M.INJECT = [[
local real = require("confine.core")
local function inject(fake)
  package.loaded["confine.core"] = setmetatable(fake, { __index = real })
end
]]


-- Busted's `it` and `pending` live in the spec files' environment (one
-- proxy table for the whole run), not in _G.  Find it on the stack: when a
-- spec file requires this module its main chunk is there.
local function find_busted_env()
  local ok, compat = pcall(require, "busted.compatibility")
  if not ok then return nil end
  for level = 2, 40 do
    local info = debug.getinfo(level, "f")
    if not info then break end
    local env = compat.getfenv(info.func)
    if type(env) == "table" and env.it and env.pending then
      return env
    end
  end
end

local spec_env = find_busted_env()

local function busted_env()
  spec_env = spec_env or find_busted_env()
  if not spec_env then
    error("spec.helper: require it from a spec file", 3)
  end
  return spec_env
end


--- Declare a spec that runs only when `cond` holds.
--
-- Otherwise it is pending with `reason`, except under CI=true, where a spec
-- that cannot run is a failure, never a skip.
function M.it_if(cond, reason, name, fn)
  local env = busted_env()
  if cond then
    return env.it(name, fn)
  elseif M.in_ci() then
    return env.it(name, function()
      error(reason .. ", and CI=true forbids skipping it", 0)
    end)
  end
  return env.pending(name .. " (" .. reason .. ")")
end


--- Declare a spec that needs root (see it_if).
function M.it_root(name, fn)
  return M.it_if(M.is_root(), "needs root", name, fn)
end

return M
