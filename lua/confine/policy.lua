--- Policy validation: step 1 of the safe order.
--
-- A policy is a plain Lua table.  `check` reads it with raw access only
-- (a metatable cannot lie to it), refuses unknown fields, checks the type
-- and range of every value and returns a normalised copy; nothing after
-- this step ever looks at the caller's table again.  Nothing here changes
-- the process.
--
-- Errors read `confine: policy.FIELD: VALUE reason`, on one line, with
-- strings shown escaped and cut short.
-- @module confine.policy

local core = require("confine.core")

local M = {}

local byte, concat, find, floor, format, huge, match, sort,
  sub, tostring, type, next, rawget, error, ipairs =
  string.byte, table.concat, string.find, math.floor,
  string.format, math.huge, string.match, table.sort,
  string.sub, tostring, type, next, rawget, error, ipairs
local mathtype = math.type

--- The largest valid user or group id (2^32 - 2; 2^32 - 1 is "-1").
M.MAX_ID = 4294967294

-- Longest string shown in a message, in bytes, before it is cut short.
local SHOW_MAX = 48

-- Longest accepted name (user, group, module) and path, in bytes.
local NAME_MAX = 256
local PATH_MAX = 4096

-- Most supplementary groups the kernel accepts (NGROUPS_MAX).
local GROUPS_MAX = 65536


local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ['"'] = '\\"', ["\\"] = "\\\\" }

--- Show a value for a message: strings quoted with every byte outside
-- printable ASCII escaped (so NUL and newlines cannot break the line) and
-- cut after a few dozen bytes; numbers as written; other types by name.
-- @param v any value
-- @treturn string
function M.show(v)
  local t = type(v)
  if t == "string" then
    local s = sub(v, 1, SHOW_MAX)
    s = s:gsub('[%c"\\\128-\255]', function(c)
      return ESCAPES[c] or format("\\%d", byte(c))
    end)
    if #v > SHOW_MAX then
      return format('"%s"... (%d bytes)', s, #v)
    end
    return '"' .. s .. '"'
  elseif t == "number" then
    if v ~= v then return "nan" end
    if v == huge then return "inf" end
    if v == -huge then return "-inf" end
    if mathtype and mathtype(v) == "integer" then return format("%d", v) end
    if v == floor(v) and v >= -2^63 and v < 2^63 then
      return format("%.0f", v)
    end
    return format("%.17g", v)
  elseif t == "boolean" or t == "nil" then
    return tostring(v)
  end
  return "a " .. t
end
local show = M.show


-- Raise the one-line policy error for `field` (a path such as "user" or
-- "caps[2]").
local function fail(field, value, reason)
  error(format("confine: policy.%s: %s %s", field, show(value), reason), 0)
end


--- Raise the one-line error `confine: policy.FIELD: VALUE reason`; for
-- the layers behind `check` (plan's name resolution), so that every policy
-- error reads the same.
-- @function fail
-- @tparam string field the field's path, such as "user" or "caps[2]"
-- @param value the offending value (shown escaped and cut short)
-- @tparam string reason what is wrong with it
-- @raise always
M.fail = fail


-- Raise an error for a field that is missing (no value to show).
local function missing(field, reason)
  error(format("confine: policy.%s: missing (%s)", field, reason), 0)
end


--- True when `v` is a valid id: a whole number in 0..MAX_ID.
-- @param v any value
-- @treturn boolean
function M.is_id(v)
  return type(v) == "number" and v == v and v >= 0 and v <= M.MAX_ID
    and floor(v) == v
end
local is_id = M.is_id


-- An id as an integer (floats with integral values become integers on
-- Lua 5.3+, so plans print the same everywhere).
local function as_id(v)
  if mathtype then return math.tointeger(v) end
  return v
end


-- Check an account name: user or group (`kind`).  A string is always a
-- name, never a number: an all-digit string is refused, so "0" can never
-- become uid 0 by accident, and "0day" stays the name "0day".
local function check_name(field, v, kind, idword)
  if v == "" then
    fail(field, v, "is not a valid " .. kind .. " name (empty)")
  end
  if #v > NAME_MAX then
    fail(field, v, format("is not a valid %s name (longer than %d bytes)",
      kind, NAME_MAX))
  end
  if not find(v, "%D") then
    fail(field, v, format("looks like a %s, but a string is always a %s "
      .. "name (write the %s as a number)", idword, kind, idword))
  end
  if not match(v, "^[A-Za-z0-9_.][A-Za-z0-9_.%-]*%$?$") then
    fail(field, v, format("is not a valid %s name (letters, digits, "
      .. "'_', '.', '-', and a final '$' only)", kind))
  end
  return v
end


-- Check a user or group given by name or id.
local function check_account(field, v, kind, idword)
  local t = type(v)
  if t == "number" then
    if not is_id(v) then
      fail(field, v, format("is not a valid %s (0..%d)", idword, M.MAX_ID))
    end
    return as_id(v)
  elseif t == "string" then
    return check_name(field, v, kind, idword)
  end
  fail(field, v, format("is not a %s name or %s", kind, idword))
end


-- Read a list with raw access: a table whose keys are exactly 1..n.
-- Returns the values in order.
local function check_list(field, v, what)
  if type(v) ~= "table" then
    fail(field, v, "is not a list of " .. what)
  end
  local n = 0
  for k in next, v do
    if type(k) ~= "number" or k < 1 or k > GROUPS_MAX or floor(k) ~= k then
      error(format("confine: policy.%s: has the key %s; a list of %s "
        .. "takes positions 1..n only", field, show(k), what), 0)
    end
    n = n + 1
  end
  -- n keys, each a whole number in 1..GROUPS_MAX: a list when 1..n are
  -- all there
  local out = {}
  for i = 1, n do
    out[i] = rawget(v, i)
    if out[i] == nil then
      error(format("confine: policy.%s: has a hole at position %d (%d "
        .. "entries); a list of %s takes positions 1..n only", field, i, n,
        what), 0)
    end
  end
  return out
end


local function check_boolean(field, v, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then fail(field, v, "is not true or false") end
  return v
end


-- An absolute, normalised path without NUL, "." or "..".
local function check_path(field, v)
  if type(v) ~= "string" then fail(field, v, "is not a path (a string)") end
  if v == "" then fail(field, v, "is not a path (empty)") end
  if find(v, "\0", 1, true) then fail(field, v, "contains a NUL byte") end
  if #v > PATH_MAX then
    fail(field, v, format("is longer than %d bytes", PATH_MAX))
  end
  if sub(v, 1, 1) ~= "/" then fail(field, v, "is not an absolute path") end
  local parts = {}
  for part in v:gmatch("[^/]+") do
    if part == "." or part == ".." then
      fail(field, v, "has a \".\" or \"..\" component")
    end
    parts[#parts + 1] = part
  end
  return "/" .. concat(parts, "/")
end


-- A capability given by name: one name, never a text form ("=ep",
-- "cap_x+ep", "a,b") nor "all"; returns the canonical "cap_x" name.
local function check_cap(field, v)
  if type(v) == "number" then
    local name = core.cap_name and is_id(v) and v < 64 and core.cap_name(v)
    fail(field, v, format("is a number; write the capability's name%s",
      name and format(" (%s)", show(name)) or ""))
  end
  if type(v) ~= "string" then fail(field, v, "is not a capability name") end
  local lower = v:lower()
  if lower == "all" or lower == "cap_all" then
    fail(field, v, "would keep every capability; name each one kept")
  end
  if not match(v, "^[A-Za-z_][A-Za-z0-9_]*$") or #v > 64 then
    fail(field, v, "is not a capability name (one name such as "
      .. "\"net_bind_service\", never a text form like \"=ep\")")
  end
  local n = core.cap_value(v)
  if not n then fail(field, v, "is not a capability known to libcap") end
  return core.cap_name(n), n
end


-- Securebits: a name sets the bit; its "_locked" form sets and locks it.
-- "keep_caps" is confine's own business (on only across the uid change);
-- "keep_caps_locked" locks keep-caps off.
local SECUREBITS = {
  noroot = { "SECBIT_NOROOT" },
  noroot_locked = { "SECBIT_NOROOT", "SECBIT_NOROOT_LOCKED" },
  no_setuid_fixup = { "SECBIT_NO_SETUID_FIXUP" },
  no_setuid_fixup_locked = { "SECBIT_NO_SETUID_FIXUP",
    "SECBIT_NO_SETUID_FIXUP_LOCKED" },
  keep_caps_locked = { "SECBIT_KEEP_CAPS_LOCKED" },
  no_cap_ambient_raise = { "SECBIT_NO_CAP_AMBIENT_RAISE" },
  no_cap_ambient_raise_locked = { "SECBIT_NO_CAP_AMBIENT_RAISE",
    "SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED" },
}

--- The securebit names a policy may ask for, each mapped to the list of
-- `confine.core` constants (`SECBIT_*`) it sets.
M.SECUREBITS = SECUREBITS

local SECUREBIT_ORDER = { "noroot", "noroot_locked", "no_setuid_fixup",
  "no_setuid_fixup_locked", "keep_caps_locked", "no_cap_ambient_raise",
  "no_cap_ambient_raise_locked" }


--- The securebits word for a list of securebit names.
-- @tparam {string,...} names normalised names (see `check`)
-- @treturn integer
function M.securebits_value(names)
  local v = 0
  for _, name in ipairs(names) do
    for _, const in ipairs(SECUREBITS[name]) do
      local bit = core[const]
      if v % (2 * bit) < bit then v = v + bit end
    end
  end
  return v
end


-- A Lua module name: dotted identifiers (hyphens allowed, as in file names).
local function check_module(field, v)
  if type(v) ~= "string" then fail(field, v, "is not a module name") end
  local ok = #v <= NAME_MAX and sub(v, -1) ~= "."
  for part in (v .. "."):gmatch("([^.]*)%.") do
    ok = ok and match(part, "^[A-Za-z_][A-Za-z0-9_%-]*$") ~= nil
  end
  if not ok then
    fail(field, v, "is not a module name (dotted identifiers only)")
  end
  return v
end


local FIELDS = { "user", "group", "groups", "chroot", "chdir", "caps",
  "ambient", "no_new_privs", "securebits", "preload", "close_fds",
  "allow_root", "strict_jail", "on_error", "detach_tty" }
local KNOWN = {}
for _, f in ipairs(FIELDS) do KNOWN[f] = true end

--- The known policy fields, in the order the README documents them.
M.FIELDS = FIELDS


-- The field part of a message for a key that is not a known field.
local function key_text(k)
  if type(k) == "string" and #k <= SHOW_MAX
      and match(k, "^[A-Za-z_][A-Za-z0-9_]*$") then
    return "." .. k
  end
  return "[" .. show(k) .. "]"
end


-- Capabilities that give root back, or a way out of the jail, each with
-- the reason a policy needs allow_root to keep it.
local ROOT_CAPS = {
  cap_setuid = "lets the process become any user, root included",
  cap_setgid = "lets the process take any group, root's included",
  cap_setpcap = "lets the process change its securebits and add any "
    .. "bounding capability to its inheritable set",
  cap_setfcap = "gives any file any capability, for root to run",
  cap_sys_admin = "mounts filesystems and enters namespaces: most of "
    .. "root's powers",
  cap_sys_ptrace = "reads and writes the memory of any process, root's "
    .. "included",
  cap_sys_module = "loads code into the kernel",
  cap_sys_rawio = "reaches I/O ports and physical memory",
  cap_sys_boot = "loads a new kernel (kexec)",
  cap_sys_chroot = "chroots again, which walks out of any jail",
  cap_dac_override = "reads and writes any file whatever its mode",
  cap_dac_read_search = "reads any file, and open_by_handle_at walks out "
    .. "of any jail",
  cap_chown = "takes ownership of any file",
  cap_fowner = "changes the mode of any file",
  cap_fsetid = "keeps set-user-ID bits on changed files and sets "
    .. "set-group-ID for any group",
  cap_mknod = "creates device nodes, such as a raw disk",
  cap_bpf = "loads BPF programs that read kernel memory",
  cap_perfmon = "observes every process and the kernel with perf",
  cap_ipc_owner = "reads and writes any System V IPC object, root's "
    .. "shared memory included",
  cap_mac_admin = "changes the security module's policy",
  cap_mac_override = "overrides the security module's policy",
  cap_sys_tty_config = "rebinds the console's keys (KDSKBENT, "
    .. "KDSKBSENT), so root's next keystrokes run a command",
}

--- Capabilities a policy keeps only with `allow_root = true`, each mapped
-- to the reason: each gives root back or leads out of a jail.
M.ROOT_CAPS = ROOT_CAPS


-- Fold duplicates, keeping the first occurrence.
local function fold(list)
  local seen, out = {}, {}
  for _, v in ipairs(list) do
    if not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  return out
end


--- Validate a policy table and return a normalised copy.
--
-- Defaults are filled in (groups `{}`, caps `{}`, ambient false,
-- no_new_privs true, securebits `{}`, preload `{}`, close_fds false,
-- allow_root false, strict_jail true, on_error "exit", detach_tty true,
-- chdir "/" with a jail).  A capability of `ROOT_CAPS`,
-- no_new_privs = false and detach_tty = false need allow_root.  Caps
-- come back as canonical names ordered by number.
-- @tparam table t the policy
-- @treturn table the normalised copy
-- @raise `confine: policy.FIELD: VALUE reason`
function M.check(t)
  if type(t) ~= "table" then
    error(format("confine: policy: %s is not a table", show(t)), 0)
  end
  local k = next(t)
  while k ~= nil do
    if not KNOWN[k] then
      error(format("confine: policy%s: unknown field (known: %s)",
        key_text(k), concat(FIELDS, ", ")), 0)
    end
    k = next(t, k)
  end
  local function get(f) return rawget(t, f) end
  local p = {}
  p.allow_root = check_boolean("allow_root", get("allow_root"), false)

  if get("user") == nil then
    missing("user", "a user name or uid is required")
  end
  p.user = check_account("user", get("user"), "user", "uid")
  if get("group") ~= nil then
    p.group = check_account("group", get("group"), "group", "gid")
  end

  local groups = get("groups")
  if groups == nil then
    p.groups = {}
  elseif groups == "user" then
    p.groups = "user"
  elseif type(groups) == "string" then
    fail("groups", groups, "is not a list of groups or \"user\"")
  else
    local list = check_list("groups", groups, "group names or gids")
    for i, g in ipairs(list) do
      local field = format("groups[%d]", i)
      list[i] = check_account(field, g, "group", "gid")
      if list[i] == 0 and not p.allow_root then
        fail(field, g, "is root's group; set allow_root = true to keep it")
      end
    end
    p.groups = fold(list)
  end

  if get("chroot") ~= nil then
    p.chroot = check_path("chroot", get("chroot"))
    if p.chroot == "/" then
      fail("chroot", get("chroot"), "is not a jail (it is the root itself)")
    end
  end
  if get("chdir") ~= nil then
    p.chdir = check_path("chdir", get("chdir"))
  elseif p.chroot then
    p.chdir = "/"
  end

  local caps = get("caps")
  if caps == nil then
    p.caps = {}
  else
    if type(caps) == "string" then
      fail("caps", caps, "is not a list of capability names (write "
        .. "{ \"name\", ... })")
    end
    local list = check_list("caps", caps, "capability names")
    local byvalue, values = {}, {}
    for i, c in ipairs(list) do
      local name, n = check_cap(format("caps[%d]", i), c)
      if ROOT_CAPS[name] and not p.allow_root then
        fail(format("caps[%d]", i), c, format("%s%s; set allow_root = "
          .. "true to keep it", c == name and "" or "(" .. name .. ") ",
          ROOT_CAPS[name]))
      end
      if not byvalue[n] then
        byvalue[n] = name
        values[#values + 1] = n
      end
    end
    sort(values)
    p.caps = {}
    for i, n in ipairs(values) do p.caps[i] = byvalue[n] end
  end

  p.ambient = check_boolean("ambient", get("ambient"), false)
  p.no_new_privs = check_boolean("no_new_privs", get("no_new_privs"), true)
  if not p.no_new_privs and not p.allow_root then
    fail("no_new_privs", false, "lets an exec of a set-user-ID or "
      .. "file-capability program gain privilege again; set allow_root = "
      .. "true to allow it")
  end
  p.detach_tty = check_boolean("detach_tty", get("detach_tty"), true)
  if not p.detach_tty and not p.allow_root then
    fail("detach_tty", false, "keeps the controlling terminal, into "
      .. "which the process could type commands for the shell that "
      .. "started it (TIOCSTI); set allow_root = true to allow it")
  end
  p.strict_jail = check_boolean("strict_jail", get("strict_jail"), true)

  local sb = get("securebits")
  p.securebits = {}
  if sb ~= nil then
    if type(sb) == "string" then
      fail("securebits", sb, "is not a list of securebit names")
    end
    local list = check_list("securebits", sb, "securebit names")
    local want = {}
    for i, name in ipairs(list) do
      local field = format("securebits[%d]", i)
      if name == "keep_caps" then
        fail(field, name, "is managed by confine (keep-caps is on only "
          .. "across the uid change); \"keep_caps_locked\" locks it off")
      elseif type(name) ~= "string" or not SECUREBITS[name] then
        fail(field, name, "is not a securebit name (one of: "
          .. concat(SECUREBIT_ORDER, ", ") .. ")")
      end
      want[name] = true
    end
    -- keep only the strongest form of each bit ("x_locked" implies "x")
    local out = {}
    for _, name in ipairs(SECUREBIT_ORDER) do
      if want[name] and not want[name .. "_locked"] then
        out[#out + 1] = name
      end
    end
    p.securebits = out
  end
  local sbset = {}
  for _, name in ipairs(p.securebits) do sbset[name] = true end
  if sbset.keep_caps_locked and #p.caps > 0
      and not (sbset.no_setuid_fixup or sbset.no_setuid_fixup_locked) then
    fail("securebits", "keep_caps_locked", "locks keep-caps off, so the "
      .. "kept caps could not survive the uid change; add "
      .. "\"no_setuid_fixup\" or keep no caps")
  end
  if p.ambient and #p.caps > 0 and (sbset.no_cap_ambient_raise
      or sbset.no_cap_ambient_raise_locked) then
    fail("securebits", "no_cap_ambient_raise", "forbids the ambient raise "
      .. "that ambient = true asks for")
  end

  local preload = get("preload")
  if preload == nil then
    p.preload = {}
  else
    if type(preload) == "string" then
      fail("preload", preload, "is not a list of module names")
    end
    local list = check_list("preload", preload, "module names")
    for i, m in ipairs(list) do
      list[i] = check_module(format("preload[%d]", i), m)
    end
    p.preload = fold(list)
  end

  local cf = get("close_fds")
  if cf == nil or cf == false then
    p.close_fds = false
  elseif cf == true then
    p.close_fds = {}
  elseif type(cf) == "table" then
    local list = check_list("close_fds", cf, "descriptors to keep")
    for i, fd in ipairs(list) do
      if type(fd) ~= "number" or fd ~= fd or floor(fd) ~= fd or fd < 0
          or fd > 2147483647 then
        fail(format("close_fds[%d]", i), fd, "is not a descriptor "
          .. "number (0..2147483647)")
      end
      list[i] = as_id(fd)
    end
    sort(list)
    p.close_fds = fold(list)
  else
    fail("close_fds", cf, "is not true, false or a list of descriptors "
      .. "to keep")
  end

  local on_error = get("on_error")
  if on_error == nil then
    p.on_error = "exit"
  elseif on_error == "exit" or on_error == "error" then
    p.on_error = on_error
  else
    fail("on_error", on_error, "is not \"exit\" or \"error\"")
  end

  if p.user == 0 and not p.allow_root then
    fail("user", p.user, "is root; set allow_root = true to stay root")
  end
  if p.group == 0 and not p.allow_root then
    fail("group", p.group, "is root's group; set allow_root = true to "
      .. "keep it")
  end
  return p
end


--- Check a user or group given by name or id, as `check` does for the
-- `user` and `group` fields.
-- @function check_account
-- @tparam string field the field's path, for the message
-- @param v a name or an id
-- @tparam string kind "user" or "group", for the message
-- @tparam string idword "uid" or "gid", for the message
-- @return the id (an integer on Lua 5.3+) or the name
-- @raise `confine: policy.FIELD: VALUE reason`
M.check_account = check_account

return M
