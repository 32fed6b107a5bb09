--- Planning: step 2 of the safe order (resolve names) and the plan itself.
--
-- `build` validates a policy, resolves every name while /etc is still
-- visible, and returns the ordered list of steps that `confine.apply`
-- executes: the very same table, so a spec asserting on a plan asserts on
-- what runs.  Each step is `{ step = "setresuid", args = {...}, why =
-- "..." , phase = "check" | "prepare" | "drop" | "verify" }`.  Building a
-- plan reads the account databases and the kernel's last capability; it
-- changes nothing.
-- @module confine.plan

local core = require("confine.core")
local policy = require("confine.policy")

local M = {}

local concat, format, ipairs, pairs, sort, type, error, setmetatable,
  tostring = table.concat, string.format, ipairs, pairs, table.sort, type,
  error, setmetatable, tostring
local show = policy.show


-- Render step arguments on one line: list values first, then named ones
-- in key order.  Strings are shown escaped, so a plan prints safely.
local function render(v)
  if type(v) ~= "table" then return show(v) end
  local parts, keys = {}, {}
  for i, x in ipairs(v) do parts[i] = render(x) end
  for k in pairs(v) do
    if type(k) ~= "number" or k > #v or k < 1 then keys[#keys + 1] = k end
  end
  sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    parts[#parts + 1] = tostring(k) .. "=" .. render(v[k])
  end
  return "{" .. concat(parts, ", ") .. "}"
end


local Plan = {}
Plan.__index = Plan

--- One line per step: number, phase, name, arguments and reason.
-- @treturn string
function Plan:__tostring()
  local lines = {}
  for i, s in ipairs(self) do
    local args = render(s.args):sub(2, -2)
    lines[i] = format("%2d %-7s %-16s %s  -- %s", i, s.phase, s.step,
      args, s.why)
  end
  return concat(lines, "\n")
end


--- True when `v` is a plan made by `build`.
-- @param v any value
-- @treturn boolean
function M.is_plan(v)
  return type(v) == "table" and getmetatable(v) == Plan
end


-- Raise a resolution error in the policy's message shape.
local function fail(field, value, reason)
  error(format("confine: policy.%s: %s %s", field, show(value), reason), 0)
end


-- Look up a group given by name or gid; returns the gid.
local function resolve_group(field, g)
  if type(g) == "number" then return g end
  local gr, msg = core.getgrnam(g)
  if not gr then
    fail(field, g, format("is not a known group (%s)", msg or "no entry"))
  end
  if not policy.is_id(gr.gid) then
    fail(field, g, format("resolves to gid %s, which is not a valid gid",
      show(gr.gid)))
  end
  return gr.gid
end


--- Resolve the names of a normalised policy (step 2).
--
-- A user given by name must exist; a uid without a passwd entry needs
-- `group`; `groups = "user"` takes the user's group list from the group
-- database.  Supplementary groups are `{}` unless asked for.
-- @tparam table p a policy normalised by `confine.policy`
-- @treturn table `{ uid, gid, groups, name, home }`
-- @raise `confine: policy.FIELD: VALUE reason`
function M.resolve(p)
  local r = {}
  local pw, msg
  if type(p.user) == "number" then
    r.uid = p.user
    pw = core.getpwuid(p.user)
  else
    pw, msg = core.getpwnam(p.user)
    if not pw then
      fail("user", p.user, format("is not a known user (%s)",
        msg or "no entry"))
    end
    r.uid = pw.uid
    if not policy.is_id(r.uid) then
      fail("user", p.user, format("resolves to uid %s, which is not a "
        .. "valid uid", show(r.uid)))
    end
  end
  if pw then
    r.name, r.home = pw.name, pw.dir
  end

  if p.group ~= nil then
    r.gid = resolve_group("group", p.group)
  elseif pw then
    r.gid = pw.gid
    if not policy.is_id(r.gid) then
      fail("user", p.user, format("has the primary gid %s, which is not "
        .. "a valid gid", show(r.gid)))
    end
  else
    error(format("confine: policy.group: missing (uid %d has no passwd "
      .. "entry, so its group must be given)", r.uid), 0)
  end

  r.groups = {}
  if p.groups == "user" then
    if not pw then
      fail("groups", "user", format("needs a user with a passwd entry "
        .. "(uid %d has none)", r.uid))
    end
    local list, err = core.getgrouplist(pw.name, r.gid)
    if not list then
      fail("groups", "user", format("could not be read (%s)", tostring(err)))
    end
    local seen = {}
    for _, g in ipairs(list) do
      if not policy.is_id(g) then
        fail("groups", "user", format("includes gid %s, which is not a "
          .. "valid gid", show(g)))
      end
      if not seen[g] then
        seen[g] = true
        r.groups[#r.groups + 1] = g
      end
    end
  else
    local seen = {}
    for i, g in ipairs(p.groups) do
      local gid = resolve_group(format("groups[%d]", i), g)
      if gid == 0 and not p.allow_root then
        fail(format("groups[%d]", i), g, "resolves to gid 0 (root's "
          .. "group); set allow_root = true to keep it")
      end
      if not seen[gid] then
        seen[gid] = true
        r.groups[#r.groups + 1] = gid
      end
    end
  end

  if #r.groups > 65536 then
    fail("groups", p.groups == "user" and "user" or #r.groups, "is more "
      .. "groups than the kernel accepts (65536)")
  end
  if not p.allow_root then
    if r.uid == 0 then
      fail("user", p.user, "resolves to uid 0; set allow_root = true to "
        .. "stay root")
    end
    if r.gid == 0 then
      fail(p.group ~= nil and "group" or "user", p.group or p.user,
        "resolves to gid 0 (root's group); set allow_root = true to keep "
        .. "it")
    end
    for _, g in ipairs(r.groups) do
      if g == 0 then
        fail("groups", p.groups == "user" and "user" or 0, "includes gid "
          .. "0 (root's group); set allow_root = true to keep it")
      end
    end
  end
  return r
end


--- True when bit `bit` (a power of two) is set in `v`.
-- @tparam integer v a flag word
-- @tparam integer bit a power of two
-- @treturn boolean
function M.bit_set(v, bit)
  return v % (2 * bit) >= bit
end
local bit_set = M.bit_set


-- Whether a securebit name (or its locked form) is in the list.
local function has_bit(names, name)
  for _, n in ipairs(names) do
    if n == name or n == name .. "_locked" then return true end
  end
  return false
end


--- Build the plan for a policy: validate (step 1), resolve (step 2) and
-- lay out every later step in order.
-- @tparam table t a policy table
-- @treturn table the plan: a list of steps, with `policy` (normalised) and
--   `target` (resolved ids) fields; `tostring` prints one step per line
-- @raise `confine: policy.FIELD: VALUE reason`
function M.build(t)
  local p = policy.check(t)
  local r = M.resolve(p)
  local last = core.cap_last()
  -- the process's own securebits count too: a parent may have set and
  -- locked some (reading them changes nothing)
  local cur = core.get_securebits()
  local fixup = not has_bit(p.securebits, "no_setuid_fixup")
    and not bit_set(cur, core.SECBIT_NO_SETUID_FIXUP)
  local keepcaps = #p.caps > 0 and fixup and r.uid ~= 0
  local keep_locked = has_bit(p.securebits, "keep_caps_locked")
    or bit_set(cur, core.SECBIT_KEEP_CAPS_LOCKED)

  local plan = setmetatable({ policy = p, target = r }, Plan)
  local function add(phase, step, args, why)
    plan[#plan + 1] = { phase = phase, step = step, args = args, why = why }
  end

  -- Steps 3-4: checks, nothing changes
  if p.chroot then
    add("check", "check_jail", { p.chroot, strict = p.strict_jail },
      "open the jail without following links; checked here, entered later")
  end
  if p.chdir then
    add("check", "check_chdir", { p.chdir, jail = p.chroot, uid = r.uid,
      gid = r.gid, groups = r.groups, caps = p.caps },
      "the new user can enter the final directory (no link on the way), "
      .. "before anything changes")
  end
  if #p.preload > 0 then
    add("check", "check_preload", p.preload, "each module is found "
      .. "through absolute paths in files only root or we can change")
  end
  if p.detach_tty then
    add("check", "check_tty", {}, "the controlling terminal can be given "
      .. "up without hanging it up")
  end
  local need = { "cap_setgid", "cap_setuid" }
  if p.chroot then need[#need + 1] = "cap_sys_chroot" end
  add("check", "check_privileges", { need = need, keep = p.caps,
    securebits = p.securebits, keepcaps = keepcaps,
    keep_locked = keep_locked,
    ambient = p.ambient, last = last },
    "every later step has the privilege it needs, so none fails halfway")

  -- Step 5: load what the jail would hide
  if #p.preload > 0 then
    add("prepare", "preload", p.preload,
      "modules are read from the filesystem the jail hides")
  end
  add("prepare", "tzset", {}, "load zone data so local time survives "
    .. "the jail")
  add("prepare", "check_threads", {}, "ids and caps are per thread; "
    .. "another thread would keep root (after preload: it may start one)")
  add("prepare", "check_fds", { keep = p.close_fds or nil,
    jail = p.chroot ~= nil }, "no descriptor that survives leads out of "
    .. "the jail or to the kernel, a device or a root credential")
  if p.close_fds then
    add("prepare", "close_fds", { keep = p.close_fds },
      "close every other descriptor >= 3 (the jail's own stays open)")
  end
  if p.detach_tty then
    add("prepare", "detach_tty", {}, "no TIOCSTI can type commands into "
      .. "the terminal's shell")
  end

  -- Steps 6-9: the drop; from here a failure leaves the process half done
  add("drop", "setgroups", { r.groups }, "shed root's groups while we still "
    .. "may (needs CAP_SETGID, gone after the uid change)")
  if p.chroot then
    add("drop", "fchdir", { p.chroot }, "enter the very directory checked "
      .. "above: no gap between check and use")
    add("drop", "chroot", { "." }, "make it the root while still root")
    add("drop", "chdir", { "/" }, "leave no cwd outside the new root")
    add("drop", "close_jail", {}, "no descriptor to the jail stays open")
  end
  add("drop", "bound_drop", { keep = p.caps, last = last },
    "drop every other bounding bit up to the kernel's last, so no exec "
    .. "regains them (needs CAP_SETPCAP, gone after the uid change)")
  if #p.securebits > 0 then
    add("drop", "securebits", p.securebits,
      "set (and lock) securebits while CAP_SETPCAP is still held")
  end
  if keepcaps then
    add("drop", "set_keepcaps", { true }, "let the permitted set survive "
      .. "the uid change, since caps are kept")
  end
  add("drop", "setresgid", { r.gid, r.gid, r.gid }, "gid before uid: "
    .. "after the uid change CAP_SETGID is gone; saved gid too")
  add("drop", "setresuid", { r.uid, r.uid, r.uid }, "real, effective and "
    .. "saved: no way back to root")
  if not keep_locked then
    add("drop", "set_keepcaps", { false }, "keep-caps is off from here on, "
      .. "whoever turned it on")
  end
  add("drop", "caps_set", { effective = p.caps, permitted = p.caps,
    inheritable = p.ambient and p.caps or {} },
    "only the kept caps remain; inheritable cleared unless ambient")
  add("drop", "ambient_clear", {}, "no ambient cap survives unless asked")
  if p.ambient and #p.caps > 0 then
    add("drop", "ambient_raise", p.caps, "kept caps survive exec")
  end
  if p.no_new_privs then
    add("drop", "no_new_privs", {}, "no exec (setuid, file caps) can gain "
      .. "privilege again")
  end
  if p.chdir then
    add("drop", "chdir", { p.chdir }, "enter the final directory as the "
      .. "new user")
  end

  -- Step 10: prove it
  add("verify", "verify", { uid = r.uid, gid = r.gid, groups = r.groups,
    caps = p.caps, ambient = p.ambient, securebits = p.securebits,
    no_new_privs = p.no_new_privs, cwd = p.chdir, last = last,
    jail = p.chroot ~= nil, detach_tty = p.detach_tty },
    "read every id, group, set, bit and flag back; try to regain root")
  return plan
end

return M
