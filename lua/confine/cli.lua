--- confine.cli: the launcher's commands, `show`, `check` and `run`.
--
-- `confine.cli.main(args)` parses the command line (without the program
-- name), runs the command and ends the process with its exit status; it
-- never returns.  Both launchers call it: bin/confine, the Lua script
-- that runs on any interpreter, and the `confine` program CMake builds
-- (src/launcher.c), which carries this module and the rest of confine
-- compiled into it.  The exit statuses are those bin/confine lists.
-- @module confine.cli

local M = {}


local concat, sort = table.concat, table.sort
local format = string.format
local floor, huge = math.floor, math.huge
local stderr, stdout = io.stderr, io.stdout
local getenv, exit = os.getenv, os.exit
local tostring, type, pairs, ipairs = tostring, type, pairs, ipairs
local pcall, xpcall, require = pcall, xpcall, require
local rawget, rawset = rawget, rawset

local ENOENT = 2
local PATH_DEFAULT = "/usr/local/bin:/usr/bin:/bin"

-- Exit statuses (see the top of the file).
-- EXIT_HALF is confine.apply's own (its EXIT_STATUS).
local EXIT_STATE, EXIT_USAGE, EXIT_HALF = 1, 2, 121
local EXIT_NOEXEC, EXIT_NOTFOUND = 126, 127

-- Most processor time a policy file may take to compute its table.
local CPU_SECONDS = 3

-- Most arguments confine.core's execvp takes.
local ARGV_MAX = 65536

-- Variables a confined command inherits from the caller; every other one
-- is dropped (HOME, USER, LOGNAME and PATH are set separately).
local KEEP_ENV = { TERM = true, LANG = true, LANGUAGE = true, TZ = true }


--[[ Messages ]]--------------------------------------------------------------

-- Reduce an error value to one line without "confine: " (added back by
-- die), a traceback or the position of the Lua line that raised it.
local function clean(err)
  local msg = tostring(err)
  msg = msg:gsub("\nstack traceback:.*$", "")
  msg = msg:gsub("^[^\n]-%.lua:%d+: (confine: )", "%1")
  msg = msg:gsub("^confine: ", "")
  msg = msg:gsub("%s*\n%s*", "; ")
  return msg
end


-- The length of the well-formed UTF-8 sequence at byte i of s, or 0.
local function utf8_len(s, i)
  local c = s:byte(i)
  local len, lo, hi
  lo, hi = 0x80, 0xBF
  if c < 0x80 then
    return 1
  elseif c >= 0xC2 and c <= 0xDF then
    len = 2
  elseif c >= 0xE0 and c <= 0xEF then
    len = 3
    if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
  elseif c >= 0xF0 and c <= 0xF4 then
    len = 4
    if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
  else
    return 0
  end
  for j = 1, len - 1 do
    local b = s:byte(i + j)
    if not b or b < (j == 1 and lo or 0x80)
        or b > (j == 1 and hi or 0xBF) then
      return 0
    end
  end
  return len
end


-- Characters a terminal acts on although they are well-formed UTF-8:
-- the C1 controls (U+0080..U+009F), and the marks that reorder or split
-- a line (U+061C, U+200E, U+200F, U+2028..U+202E, U+2066..U+2069).
local function acted_on(ch)
  local a, b, c = ch:byte(1, 3)
  if a == 0xC2 then
    return b <= 0x9F
  elseif a == 0xD8 then
    return b == 0x9C
  elseif a == 0xE2 and b == 0x80 then
    return c == 0x8E or c == 0x8F or (c >= 0xA8 and c <= 0xAE)
  elseif a == 0xE2 and b == 0x81 then
    return c >= 0xA6 and c <= 0xA9
  end
  return false
end


local function octal_escape(s)
  return (s:gsub(".", function(c) return format("\\%03d", c:byte()) end))
end


-- A string safe to print on a terminal: C0 controls, DEL, C1 controls
-- (a raw byte or UTF-8), the line-reordering marks above and every byte
-- that is not well-formed UTF-8 become \ddd, byte by byte; so does a
-- backslash, unless `keep_backslash` (for a message whose parts were
-- made printable already).  The same rule serves paths, messages and
-- plans.
local function printable(s, keep_backslash)
  s = tostring(s)
  local special = keep_backslash and "[%c\128-\255]" or "[%c\\\128-\255]"
  if not s:find(special) then
    return s
  end
  local out, i, n = {}, 1, #s
  while i <= n do
    local len = utf8_len(s, i)
    local ch = s:sub(i, i + (len > 0 and len or 1) - 1)
    if len == 0 or (len == 1 and ch:find("%c"))
        or (len > 1 and acted_on(ch)) then
      out[#out + 1] = octal_escape(ch)
    elseif ch == "\\" and not keep_backslash then
      out[#out + 1] = "\\\\"
    else
      out[#out + 1] = ch
    end
    i = i + #ch
  end
  return concat(out)
end


-- Print one line on stderr and end the process.
local function die(code, msg)
  stderr:write("confine: ", printable(msg, true), "\n")
  stderr:flush()
  exit(code)
end


-- Load a module the launcher cannot work without, or die with one line.
local function need(name)
  local ok, mod = pcall(require, name)
  if not ok then
    local msg = tostring(mod)
    if msg:find("^module '[^']*' not found") then
      msg = "not found on package.path or package.cpath (in a checkout,"
        .. " build first: cmake -S . -B build && cmake --build build)"
    end
    die(EXIT_STATE, "cannot load " .. name .. ": " .. clean(msg))
  end
  return mod
end


--[[ JSON ]]------------------------------------------------------------------

local JSON_ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

-- Replace every byte that is not part of a well-formed UTF-8 sequence
-- with U+FFFD, so the output is valid JSON whatever a path holds.
local function utf8_valid(s)
  if not s:find("[\128-\255]") then
    return s
  end
  local out, i, n = {}, 1, #s
  while i <= n do
    local len = utf8_len(s, i)
    if len > 0 then
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = "\239\191\189"
      i = i + 1
    end
  end
  return concat(out)
end


local function json_escape(c)
  return JSON_ESCAPES[c] or format("\\u%04x", c:byte())
end


-- True when t is a list: keys 1..#t and nothing else.  An empty table is
-- a list, so empty sets come out as [].
local function is_list(t)
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n == #t
end


--- Encode a Lua value (tables, strings, numbers, booleans, nil) as JSON.
-- Object keys are sorted, so the output is stable.
local function json(v)
  local t = type(v)
  if t == "string" then
    return '"' .. utf8_valid(v):gsub('[%c"\\]', json_escape) .. '"'
  elseif t == "number" then
    if v ~= v or v == huge or v == -huge then
      return "null"
    elseif v == floor(v) and v > -2^53 and v < 2^53 then
      return format("%.0f", v)
    end
    return format("%.17g", v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "nil" then
    return "null"
  elseif t == "table" then
    local parts = {}
    if is_list(v) then
      for i = 1, #v do
        parts[i] = json(v[i])
      end
      return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do
      keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    for i, k in ipairs(keys) do
      local x = v[k]
      if x == nil then
        x = v[tonumber(k)]
      end
      parts[i] = json(k) .. ":" .. json(x)
    end
    return "{" .. concat(parts, ",") .. "}"
  end
  error("cannot encode a " .. t .. " as JSON", 0)
end


--[[ Usage ]]-----------------------------------------------------------------

local HELP = {
  main = [[
Usage: confine [-v] COMMAND ...

Give up root the safe way, under a policy written in Lua.

Commands:
  show [--json]                   print this process's identity and
                                  confinement (like setpriv --dump)
  check POLICY                    validate POLICY and print its plan;
                                  changes nothing
  run POLICY [--] COMMAND [ARG...]
                                  apply POLICY, then execute COMMAND

Options:
  -v, --verbose   one line per phase on stderr
  -h, --help      this text; `confine COMMAND --help` for a command
  --version       print the version

Exit status: 0 done; 2 usage, policy or check error (nothing changed);
121 failure after the first irreversible step; 126 COMMAND not
executable; 127 COMMAND not found.
]],
  show = [[
Usage: confine show [--json]

Print this process's real, effective and saved uid and gid, supplementary
groups, the five capability sets, keep-caps, securebits, no_new_privs,
root directory, working directory and thread count.

  --json   one JSON object instead of text
]],
  check = [[
Usage: confine check [-v] POLICY

Load the policy file POLICY, validate it, resolve its names, check its
jail and this process's privileges (as `run` would, before its first
change), and print the plan step by step.  Nothing changes.  As in `run`,
`ambient` is taken as true unless the policy sets it.

Exit status: 0 when the policy is valid, otherwise 2 with one line naming
the file, the field and the value.
]],
  run = [[
Usage: confine run [-v] POLICY [--] COMMAND [ARG...]

Load and apply the policy file POLICY, then execute COMMAND (looked up on
PATH inside the jail, if there is one).  Kept capabilities survive the
exec through the ambient set unless the policy says `ambient = false`.

The command's environment holds HOME, USER and LOGNAME for the new user,
PATH (the caller's, or ]] .. PATH_DEFAULT .. [[), and TERM, LANG, LANGUAGE,
TZ and LC_* when the caller has them; nothing else.

POLICY must be owned by root (or by the caller) and writable by no one
else.

  -v, --verbose   one line per phase on stderr

Exit status: 2 a usage, policy or check error (nothing changed); 121 a
failure after the first irreversible step; 126 COMMAND not executable;
127 COMMAND not found; otherwise COMMAND's own.
]],
}


local function usage_error(cmd, msg)
  local see = cmd and ("confine " .. cmd .. " --help") or "confine --help"
  die(EXIT_USAGE, (cmd and (cmd .. ": ") or "") .. msg
    .. " (see " .. see .. ")")
end


-- Split a command's arguments into options (from `allowed`, a set of
-- option names mapped to their canonical name) and operands.  Options
-- stop at the first operand or at "--"; with `stop_early` everything
-- after the first operand is an operand, so COMMAND's own options are
-- left alone.
local function parse(cmd, args, allowed, stop_early)
  local opts, rest = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do
        rest[#rest + 1] = args[j]
      end
      opts["--"] = true
      break
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      local name = allowed[a]
      if not name then
        usage_error(cmd, "unknown option " .. a)
      end
      opts[name] = true
    else
      rest[#rest + 1] = a
      if stop_early then
        for j = i + 1, #args do
          rest[#rest + 1] = args[j]
        end
        break
      end
    end
    i = i + 1
  end
  return opts, rest
end


--[[ Policies ]]--------------------------------------------------------------

-- Prefix a message with the policy file's name unless it names it already.
local function in_file(path, msg)
  msg = clean(msg)
  -- confine.load shows a control byte in a name as "?".
  if msg:find(path, 1, true)
      or msg:find((path:gsub("%c", "?")), 1, true) then
    return msg
  end
  return path .. ": " .. msg
end


-- Load a policy file; on any error die with status 2.  As the launcher
-- will exec, kept capabilities go to the ambient set unless the policy
-- says otherwise.
local function load_policy(confine, core, path)
  -- The file's own instruction budget and memory ceiling cannot stop a
  -- loop inside C (a pattern that backtracks): the processor time is
  -- bounded too, and its end ends the process with one line.
  local armed, why = core.limit_cpu(CPU_SECONDS, EXIT_USAGE,
    "confine: " .. printable(path, true) .. format(": runs too long (more"
    .. " than %d s of processor time)", CPU_SECONDS))
  if not armed then
    die(EXIT_STATE, "cannot bound the policy file's processor time: "
      .. clean(why))
  end
  local ok, t = pcall(confine.load, path)
  core.limit_cpu(nil)
  if not ok then
    die(EXIT_USAGE, in_file(path, t))
  end
  if type(t) ~= "table" then
    die(EXIT_USAGE, in_file(path, "the policy is a " .. type(t)
      .. ", not a table"))
  end
  if rawget(t, "ambient") == nil then
    rawset(t, "ambient", true)
  end
  return t
end


-- The account a plan switches to, as the plan resolved it while /etc was
-- visible: name and home directory for HOME, USER and LOGNAME.  A uid
-- with no passwd entry gets its number as name and "/" as home.
local function account(target)
  local home = target.home
  return {
    name = target.name or format("%.0f", target.uid),
    dir = (home and home ~= "") and home or "/",
  }
end


-- The command's environment, as a list of "NAME=value".
local function environment(who)
  local env = {}
  for name in pairs(KEEP_ENV) do
    local v = getenv(name)
    if v then
      env[#env + 1] = name .. "=" .. v
    end
  end
  for _, name in ipairs({ "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME",
    "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES", "LC_PAPER", "LC_NAME",
    "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
    "LC_IDENTIFICATION" }) do
    local v = getenv(name)
    if v then
      env[#env + 1] = name .. "=" .. v
    end
  end
  sort(env)
  env[#env + 1] = "PATH=" .. (getenv("PATH") or PATH_DEFAULT)
  env[#env + 1] = "HOME=" .. who.dir
  env[#env + 1] = "USER=" .. who.name
  env[#env + 1] = "LOGNAME=" .. who.name
  return env
end


--[[ Commands ]]--------------------------------------------------------------

-- Read the root directory as the kernel reports it; nil when /proc is
-- not there (inside a jail, for one).
local function root_dir(core)
  return (core.readlink("/proc/self/root"))
end


-- A capability set for people: "none", "all" when it holds every
-- capability the kernel knows, else the names.
local function caps_text(list, last)
  if #list == 0 then
    return "none"
  elseif last and #list == last + 1 then
    return "all"
  end
  return concat(list, ",")
end


local function cmd_show(args, confine, core)
  local opts, rest = parse("show", args,
    { ["--json"] = "json", ["-h"] = "help", ["--help"] = "help" })
  if opts.help then
    stdout:write(HELP.show)
    return 0
  end
  if #rest > 0 then
    usage_error("show", "unexpected argument " .. rest[1])
  end
  local ok, st = pcall(confine.status)
  if not ok or type(st) ~= "table" then
    die(EXIT_STATE, "show: " .. clean(st))
  end
  st.root = root_dir(core)
  if opts.json then
    stdout:write(json(st), "\n")
    return 0
  end
  local last = core.cap_last and core.cap_last()
  local function ids(t)
    return format("real %s, effective %s, saved %s",
      tostring(t.real), tostring(t.effective), tostring(t.saved))
  end
  local caps = st.caps or {}
  local bits = st.securebits or 0
  local names = st.securebits_names or {}
  local lines = {
    "uid:          " .. ids(st.uid),
    "gid:          " .. ids(st.gid),
    "groups:       " .. (#st.groups > 0 and concat(st.groups, ",")
      or "none"),
    "effective:    " .. caps_text(caps.effective or {}, last),
    "permitted:    " .. caps_text(caps.permitted or {}, last),
    "inheritable:  " .. caps_text(caps.inheritable or {}, last),
    "bounding:     " .. caps_text(caps.bounding or {}, last),
    "ambient:      " .. caps_text(caps.ambient or {}, last),
    "keepcaps:     " .. (st.keepcaps and "yes" or "no"),
    "securebits:   " .. format("0x%x", bits)
      .. (#names > 0 and (" (" .. concat(names, ",") .. ")") or ""),
    "no_new_privs: " .. (st.no_new_privs and "yes" or "no"),
    "root:         " .. (st.root and printable(st.root)
      or "unknown (no /proc)"),
    "cwd:          " .. printable(st.cwd),
    "threads:      " .. tostring(st.threads),
  }
  stdout:write(concat(lines, "\n"), "\n")
  return 0
end


local VERBOSE_OPTS = {
  ["-v"] = "verbose", ["--verbose"] = "verbose",
  ["-h"] = "help", ["--help"] = "help",
}


local function cmd_check(args, confine, core, verbose)
  local opts, rest = parse("check", args, VERBOSE_OPTS)
  if opts.help then
    stdout:write(HELP.check)
    return 0
  end
  if #rest ~= 1 then
    usage_error("check", #rest == 0 and "POLICY is missing"
      or "unexpected argument " .. rest[2])
  end
  local path = rest[1]
  local policy = load_policy(confine, core, path)
  if opts.verbose or verbose then
    stderr:write("confine: loaded ", printable(path), "\n")
  end
  -- Every check apply makes before its first change (the jail, the
  -- final directory, privileges, threads, descriptors), and nothing else.
  local ok, plan = pcall(confine.check, policy)
  if not ok then
    die(EXIT_USAGE, in_file(path, plan))
  end
  for line in tostring(plan):gmatch("[^\n]+") do
    stdout:write(printable(line, true), "\n")
  end
  return 0
end


local function cmd_run(args, confine, core, verbose)
  local opts, rest = parse("run", args, VERBOSE_OPTS, true)
  if opts.help then
    stdout:write(HELP.run)
    return 0
  end
  local path = table.remove(rest, 1)
  if rest[1] == "--" and not opts["--"] then
    table.remove(rest, 1)
  end
  if not path then
    usage_error("run", "POLICY is missing")
  elseif #rest == 0 then
    usage_error("run", "COMMAND is missing")
  end
  -- Everything execvp would refuse as an argument error is refused here,
  -- before anything changes: after the drop it could only end the
  -- process half-way.
  if rest[1] == "" then
    usage_error("run", "COMMAND is an empty string")
  elseif #rest > ARGV_MAX then
    usage_error("run", format("more than %d arguments", ARGV_MAX))
  end
  verbose = verbose or opts.verbose
  local function log(line)
    line = tostring(line)
    if line:sub(1, 9) == "confine: " then
      line = line:sub(10)
    end
    stderr:write("confine: ", printable(line, true), "\n")
  end

  local policy = load_policy(confine, core, path)
  if verbose then
    log("loaded " .. printable(path))
  end

  -- Validate and resolve names now, while /etc is visible; apply then
  -- carries out this very plan.
  local ok, plan = pcall(confine.plan, policy)
  if not ok then
    die(EXIT_USAGE, in_file(path, plan))
  end
  local env = environment(account(plan.target))
  for i, v in ipairs(env) do
    if not v:find("^[^=]+=") or v:find("\0", 1, true) then
      die(EXIT_USAGE, format("run: environment entry %d is not"
        .. " NAME=value: %s", i, printable(v)))
    end
  end

  local status, msg
  local applied = need("confine.apply")
  ok, status, msg = pcall(confine.apply, plan,
    { log = verbose and log or nil })
  if not ok and applied.began then
    -- apply fails closed itself; should anything raise all the same once
    -- the drop has begun, it is still no "nothing changed"
    die(EXIT_HALF, clean(status))
  elseif not ok then
    die(EXIT_USAGE, in_file(path, status))
  elseif status == nil then
    -- on_error = "error": the process is half-confined; end it as apply
    -- would have.
    die(EXIT_HALF, clean(msg))
  end

  if verbose then
    log("exec " .. printable(concat(rest, " ")))
  end
  stdout:flush()
  stderr:flush()
  -- pcall: a bug here must still end in one line, never a traceback.
  local called, raised, err, eno = pcall(core.execvp, rest[1], rest, env)
  if not called then
    err = raised
  end
  die(eno == ENOENT and EXIT_NOTFOUND or EXIT_NOEXEC, clean(err))
end


--[[ Main ]]------------------------------------------------------------------

local COMMANDS = { show = cmd_show, check = cmd_check, run = cmd_run }


local function main(args)
  local opts, rest = parse(nil, args, {
    ["-v"] = "verbose", ["--verbose"] = "verbose",
    ["-h"] = "help", ["--help"] = "help", ["--version"] = "version",
  }, true)
  if opts.help then
    stdout:write(HELP.main)
    return 0
  end
  local name = table.remove(rest, 1)
  if opts.version then
    local core = need("confine.core")
    stdout:write(format("confine %s (%s)\n", tostring(core.version),
      _VERSION))
    return 0
  end
  if not name then
    usage_error(nil, "a command is missing")
  end
  local fn = COMMANDS[name]
  if not fn then
    usage_error(nil, "unknown command " .. name)
  end
  local confine = need("confine")
  local core = need("confine.core")
  return fn(rest, confine, core, opts.verbose)
end


--- Run the launcher: parse `args`, run the command, and end the process
-- with its exit status.
-- @tparam {string,...} args the command line without the program name
function M.main(args)
  -- An error that escapes a command is a bug in confine, not in the
  -- caller's input; it still gets one line, never a traceback.
  local ok, code = xpcall(function() return main(args) end, function(e)
    return e
  end)
  if not ok then
    die(EXIT_STATE, "internal error: " .. clean(code))
  end
  -- what show, check and --help wrote must have reached its reader (a
  -- full disk, a closed pipe): else say so, and fail
  local flushed, err = stdout:flush()
  if not flushed then
    die(EXIT_STATE, "cannot write the output: " .. tostring(err))
  end
  exit(code or 0)
end


return M
