--- Carrying out a plan: steps 3 to 10 of the safe order.
--
-- The checks (phase "check") and the preparation (phase "prepare") raise
-- a Lua error and leave the process's privilege as it was.  From the first
-- step of phase "drop" on, a failure leaves the process half-confined: it
-- switches keep-caps off first, then either ends the process after one
-- line on stderr (on_error = "exit", status 121) or returns `nil, message,
-- step, errno` (on_error = "error").  A Lua error raised inside a drop step
-- is handled the same way: it can never unwind into a caller that carries
-- on as if the drop had worked.
-- @module confine.apply

local core = require("confine.core")
local policy = require("confine.policy")
local plan = require("confine.plan")
local verify = require("confine.verify")

local M = {}

--- The exit status of a process ended by a failed drop.
M.EXIT_STATUS = 121

local error, format, ipairs, pcall, require, tostring, type =
  error, string.format, ipairs, pcall, require, tostring, type
local concat = table.concat
local unpack = table.unpack or unpack
local show, bit_set = policy.show, plan.bit_set


-- Raise a check failure (nothing has changed).
local function refuse(fmt, ...)
  error("confine: " .. format(fmt, ...), 0)
end


-- The set bits of a capability set as a lookup by name.
local function names_set(list)
  local t = {}
  for _, n in ipairs(list) do t[n] = true end
  return t
end


local RUN = {}

-- Step 3: open the jail one component at a time without following links
-- and judge every component.  The descriptor is kept for fchdir later.
function RUN.check_jail(a, ctx)
  local path = a[1]
  local dir, comps = core.opendir_nofollow(path)
  if not dir then
    refuse("policy.chroot: %s cannot be used as a jail (%s)", show(path),
      tostring(comps))
  end
  ctx.jail = dir
  if not a.strict then return true end
  for _, st in ipairs(comps) do
    if st.type ~= "directory" then
      refuse("policy.chroot: %s is unsafe: %s is not a directory",
        show(path), show(st.path))
    end
    if st.uid ~= 0 then
      refuse("policy.chroot: %s is unsafe: %s is owned by uid %d, not "
        .. "root (strict_jail)", show(path), show(st.path), st.uid)
    end
    if st.mode % 32 >= 16 or st.mode % 4 >= 2 then
      refuse("policy.chroot: %s is unsafe: %s is writable by group or "
        .. "others (mode %04o; strict_jail)", show(path), show(st.path),
        st.mode)
    end
  end
  return true
end


-- Pre-flight for the final chdir, so a typo fails before any change.
-- XXX: a symbolic link inside the jail is followed as the host sees it, so
-- an absolute link target can be judged against the wrong root.
function RUN.check_chdir(a)
  local path, jail = a[1], a.jail
  if jail and path == "/" then return true end
  local full = jail and (jail .. path) or path
  local st, msg = core.stat(full)
  if not st then
    refuse("policy.chdir: %s cannot be entered (%s)", show(path),
      tostring(msg))
  end
  if st.type ~= "directory" then
    refuse("policy.chdir: %s is not a directory", show(path))
  end
  return true
end


-- Step 4: every later step has the privilege it needs.
function RUN.check_privileges(a)
  local caps = core.caps_get()
  local last = a.last
  local keep = {}
  for _, name in ipairs(a.keep) do
    local n = core.cap_value(name)
    if n > last then
      refuse("policy.caps: %s is not known to this kernel (last "
        .. "capability %d)", show(name), last)
    end
    keep[n] = true
    if not caps:get("permitted", n) then
      refuse("policy.caps: %s is not in this process's permitted set, so "
        .. "it cannot be kept", show(name))
    end
    if not core.bound_get(n) then
      refuse("policy.caps: %s is not in this process's bounding set, so "
        .. "it cannot be kept", show(name))
    end
  end
  local need = { unpack(a.need) }
  local why = { cap_setgid = "setgroups and setresgid",
    cap_setuid = "setresuid", cap_sys_chroot = "chroot",
    cap_setpcap = "the bounding set and securebits" }
  local bounding_left = false
  for n = 0, last do
    if not keep[n] and core.bound_get(n) then bounding_left = true end
  end
  if bounding_left or #a.securebits > 0 then
    need[#need + 1] = "cap_setpcap"
  end
  for _, name in ipairs(need) do
    if not caps:get("effective", name) then
      refuse("cannot drop privilege: %s is not in the effective set "
        .. "(needed for %s); nothing was changed", name, why[name])
    end
  end

  local bits = core.get_securebits()
  local want = policy.securebits_value(a.securebits)
  for _, c in ipairs({ "NOROOT", "NO_SETUID_FIXUP", "KEEP_CAPS",
      "NO_CAP_AMBIENT_RAISE" }) do
    local bit = core["SECBIT_" .. c]
    local lock = core["SECBIT_" .. c .. "_LOCKED"]
    if bit_set(bits, lock) and bit_set(want, bit)
        and not bit_set(bits, bit) then
      refuse("policy.securebits: %s is locked off in this process",
        show(c:lower()))
    end
  end
  if bit_set(bits, core.SECBIT_KEEP_CAPS_LOCKED) then
    if bit_set(bits, core.SECBIT_KEEP_CAPS) then
      refuse("cannot drop privilege: keep-caps is locked on in this "
        .. "process, so it could not be switched off")
    end
    if a.keepcaps then
      refuse("cannot keep caps across the uid change: keep-caps is "
        .. "locked off in this process")
    end
  end
  if a.ambient and #a.keep > 0
      and bit_set(bits, core.SECBIT_NO_CAP_AMBIENT_RAISE) then
    refuse("policy.ambient: true is impossible: this process has the "
      .. "securebit no_cap_ambient_raise")
  end
  return true
end


-- Step 5: modules the jail would hide.
function RUN.preload(a)
  for _, name in ipairs(a) do
    local ok, err = pcall(require, name)
    if not ok then
      refuse("policy.preload: %s cannot be loaded (%s)", show(name),
        (tostring(err):gsub("\n.*", ""):gsub(":$", "")))
    end
  end
  return true
end


function RUN.tzset()
  return core.tzset()
end


-- Ids and capabilities belong to one thread: another would stay root.
function RUN.check_threads()
  local n, msg = core.thread_count()
  if not n then
    refuse("cannot count this process's threads (%s); ids and "
      .. "capabilities are per thread, so confine refuses", tostring(msg))
  end
  if n ~= 1 then
    refuse("this process has %d threads; ids and capabilities are per "
      .. "thread, so the others would keep root (drop before starting "
      .. "threads)", n)
  end
  return true
end


-- A directory descriptor open across the chroot leads back out of it.
-- The check counts what close_fds will leave open, so it runs before
-- anything is closed.
function RUN.check_fds(a, ctx)
  local keep
  if a.keep then
    keep = {}
    for _, fd in ipairs(a.keep) do keep[fd] = true end
  end
  local own = ctx.jail and ctx.jail:fileno()
  local list, msg = core.fds()
  if not list then
    refuse("cannot list this process's descriptors (%s)", tostring(msg))
  end
  for _, d in ipairs(list) do
    local survives = d.fd < 3 or not keep or keep[d.fd]
    if survives and d.fd ~= own and d.kind == "directory" then
      refuse("descriptor %d is an open directory, which leads out of the "
        .. "jail (close it first, or set close_fds)", d.fd)
    end
  end
  return true
end


function RUN.close_fds(a, ctx)
  local keep = { unpack(a.keep) }
  if ctx.jail then keep[#keep + 1] = ctx.jail:fileno() end
  return core.close_fds(keep)
end


-- Steps 6-9: the drop.
function RUN.setgroups(a)
  return core.setgroups(a[1])
end


function RUN.fchdir(_, ctx)
  return ctx.jail:fchdir()
end


function RUN.chroot(a)
  return core.chroot(a[1])
end


function RUN.chdir(a)
  return core.chdir(a[1])
end


function RUN.close_jail(_, ctx)
  local dir = ctx.jail
  ctx.jail = nil
  local ok, msg, errno = dir:close()
  if ok == nil and msg ~= nil then return nil, msg, errno end
  return true
end


function RUN.bound_drop(a)
  local keep = names_set(a.keep)
  for n = 0, a.last do
    if not keep[core.cap_name(n)] and core.bound_get(n) then
      local ok, msg, errno = core.bound_drop(n)
      if not ok then return nil, msg, errno end
    end
  end
  return true
end


-- New securebits: the current ones plus those asked for, with keep-caps
-- itself cleared (confine switches it on only when needed, just before
-- the uid change).
function RUN.securebits(a)
  local bits = core.get_securebits()
  local keep = core.SECBIT_KEEP_CAPS
  if bit_set(bits, keep) then bits = bits - keep end
  local want = policy.securebits_value(a)
  local v, bit = 0, 1
  while bit <= bits or bit <= want do
    if bit_set(bits, bit) or bit_set(want, bit) then v = v + bit end
    bit = bit * 2
  end
  return core.set_securebits(v)
end


function RUN.set_keepcaps(a)
  return core.set_keepcaps(a[1])
end


function RUN.setresgid(a)
  return core.setresgid(a[1], a[2], a[3])
end


function RUN.setresuid(a)
  return core.setresuid(a[1], a[2], a[3])
end


function RUN.caps_set(a)
  local c, msg, errno = core.caps_new()
  if not c then return nil, msg, errno end
  for _, set in ipairs({ "effective", "permitted", "inheritable" }) do
    if #a[set] > 0 then
      local ok, m, e = c:set(set, a[set], true)
      if not ok then return nil, m, e end
    end
  end
  return c:apply()
end


function RUN.ambient_clear()
  return core.ambient_clear()
end


function RUN.ambient_raise(a)
  for _, name in ipairs(a) do
    local ok, msg, errno = core.ambient_raise(name)
    if not ok then return nil, msg, errno end
  end
  return true
end


function RUN.no_new_privs()
  return core.set_no_new_privs()
end


-- Step 10.
function RUN.verify(a, ctx)
  local s, msg = verify.run(a)
  if not s then return nil, msg end
  ctx.status = s
  return true
end


--- The function that carries out each step, by step name: `RUN[name](args,
-- ctx)` returns true, or nil, message, errno.  Exposed for the specs.
M.RUN = RUN


-- One line for the caller's log at the end of each phase.
local function phase_line(phase, p)
  local t = p.target
  if phase == "check" then
    return format("confine: checked %s, privileges",
      p.policy.chroot and ("jail " .. show(p.policy.chroot)) or "no jail")
  elseif phase == "prepare" then
    return format("confine: prepared (%d modules, zone data, threads, "
      .. "descriptors)", #p.policy.preload)
  elseif phase == "drop" then
    return format("confine: dropped to uid %d gid %d groups {%s} caps "
      .. "{%s}", t.uid, t.gid, concat(t.groups, ","),
      concat(p.policy.caps, ","))
  end
  return "confine: verified"
end


-- Fail closed after the first irreversible step.
local function fail_closed(p, ctx, step, msg, errno)
  pcall(core.set_keepcaps, false)
  if ctx.jail then pcall(ctx.jail.close, ctx.jail) end
  local line = format("confine: %s failed: %s%s; the process is "
    .. "half-confined", step.step, tostring(msg),
    errno and format(" (errno %d)", errno) or "")
  line = line:gsub("[\r\n]", " ")
  if p.policy.on_error == "error" then
    return nil, line, step.step, errno
  end
  io.stderr:write(line, "\n")
  io.stderr:flush()
  os.exit(M.EXIT_STATUS)
end


-- Steps that only read, run by a dry run.
local DRY = { check_threads = true, check_fds = true }


--- A dry run: plan the policy and run every check that `run` makes
-- before its first change (jail, final directory, privileges, threads,
-- descriptors), without preloading, closing or changing anything.
-- @param t a plan from `confine.plan`, or a policy table
-- @treturn table the plan
-- @raise the first failed check, as `run` would
function M.check(t)
  local p = plan.is_plan(t) and t or plan.build(t)
  local ctx = {}
  local ok, err = pcall(function()
    for _, s in ipairs(p) do
      if s.phase == "check" or DRY[s.step] then
        RUN[s.step](s.args, ctx)
      end
    end
  end)
  if ctx.jail then pcall(ctx.jail.close, ctx.jail) end
  if not ok then error(err, 0) end
  return p
end


--- Carry out a plan (or a policy, planned first) and verify the result.
-- @param t a plan from `confine.plan`, or a policy table
-- @tparam[opt] table opts `log`: a function given one line per phase
-- @return the verified status (see `confine.status`), or after a failure
--   past the first irreversible step with on_error = "error": nil,
--   message, step name, errno
-- @raise a check or preparation failure, with nothing changed
function M.run(t, opts)
  local p = plan.is_plan(t) and t or plan.build(t)
  local log = opts and opts.log
  if log ~= nil and type(log) ~= "function" then
    error("confine: opts.log: " .. show(log) .. " is not a function", 2)
  end
  local ctx = {}
  local i, n = 1, #p

  -- Checks and preparation raise; close the jail descriptor on the way
  -- out so the process is as it was.
  local ok, err = pcall(function()
    local phase = p[1] and p[1].phase
    while i <= n and p[i].phase ~= "drop" do
      local s = p[i]
      if s.phase ~= phase then
        if log then log(phase_line(phase, p)) end
        phase = s.phase
      end
      local r, msg, errno = RUN[s.step](s.args, ctx)
      if not r then
        refuse("%s failed: %s%s", s.step, tostring(msg),
          errno and format(" (errno %d)", errno) or "")
      end
      i = i + 1
    end
    if log then log(phase_line(phase, p)) end
  end)
  if not ok then
    if ctx.jail then pcall(ctx.jail.close, ctx.jail) end
    error(err, 0)
  end

  -- From here every failure fails closed.
  local phase = "drop"
  while i <= n do
    local s = p[i]
    if s.phase ~= phase then
      if log then pcall(log, phase_line(phase, p)) end
      phase = s.phase
    end
    local pok, r, msg, errno = pcall(RUN[s.step], s.args, ctx)
    if not pok then
      r, msg, errno = nil, r, nil
    end
    if not r then return fail_closed(p, ctx, s, msg, errno) end
    i = i + 1
  end
  if not ctx.status then
    return fail_closed(p, ctx, { step = "verify" },
      "the plan has no verify step")
  end
  if log then pcall(log, phase_line(phase, p)) end
  return ctx.status
end

return M
