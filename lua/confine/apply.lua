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

-- Kept here too: a program that changes M.EXIT_STATUS changes nothing.
local EXIT_STATUS = 121

--- The exit status of a process ended by a failed drop (for reading).
M.EXIT_STATUS = EXIT_STATUS

--- Whether a run in this process has begun its first irreversible step
-- (for reading).  A run that fails after it ends the process or returns
-- nil; a caller that sees an error raised all the same can tell from
-- this that it is not "nothing changed".
M.began = false

local error, format, ipairs, pairs, pcall, require, tostring, type,
  loadfile = error, string.format, ipairs, pairs, pcall, require, tostring,
  type, loadfile
local concat = table.concat
local unpack = table.unpack or unpack
local show, bit_set = policy.show, plan.bit_set
local package, collectgarbage, rawget = package, collectgarbage, rawget

-- Captured now, so that a program which replaces os.exit or io.stderr
-- later cannot talk a failed drop out of ending the process.
local _exit, os_exit, stderr = core._exit, os.exit, io.stderr


-- Raise a check failure (nothing has changed).
local function refuse(fmt, ...)
  error("confine: " .. format(fmt, ...), 0)
end


-- Capability names as a lookup by number (no name is made per bit).
local function numbers_set(list)
  local t = {}
  for _, name in ipairs(list) do t[core.cap_value(name)] = true end
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
  local fs, why = dir:statfs()
  if not fs then
    refuse("policy.chroot: %s cannot be judged (%s)", show(path),
      tostring(why))
  end
  if M.PSEUDO_FS[fs.name] then
    refuse("policy.chroot: %s is on a %s filesystem, which exposes the "
      .. "kernel or other processes; a jail must be an ordinary directory",
      show(path), fs.name)
  end
  -- devtmpfs reports tmpfs's (or ramfs's) magic: tell /dev by the
  -- filesystem /dev/null is on
  local own = dir:stat()
  local null = core.stat("/dev/null")
  if (fs.name == "tmpfs" or fs.name == "ramfs") and null
      and null.type == "char" and null.dev == own.dev then
    refuse("policy.chroot: %s is on the device filesystem (that of "
      .. "/dev/null); a jail must not hold the host's device nodes",
      show(path))
  end
  ctx.root = { dev = own.dev, ino = own.ino }
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


-- True when the target (ids and kept caps in `a`) may search a directory
-- with stat `st`: the mode bits of the class the kernel would pick.
-- XXX: POSIX ACLs are not read; the mode bits alone decide.
local function can_search(st, a)
  for _, c in ipairs(a.caps or {}) do
    if c == "cap_dac_override" or c == "cap_dac_read_search" then
      return true
    end
  end
  local bit
  if st.uid == a.uid then
    bit = 64
  else
    bit = 1
    local member = st.gid == a.gid
    for _, g in ipairs(a.groups or {}) do
      if g == st.gid then member = true end
    end
    if member then bit = 8 end
  end
  return bit_set(st.mode, bit)
end


-- Pre-flight for the final chdir, so that it cannot fail after the drop:
-- the directory must exist and the new user must be able to search it
-- and every directory on the way.  No link is followed: in a jail it
-- would be resolved against the jail's root, not the host's, and
-- anywhere the cwd would read back as its target.
-- XXX: /proc judges access by more than mode bits (ptrace checks), so a
-- directory such as /proc/1/fdinfo passes here and fails after the drop.
function RUN.check_chdir(a, ctx)
  local path, jail = a[1], a.jail
  local comps, first
  if jail and path == "/" then
    -- the very directory check_jail opened
    local st = ctx.jail and ctx.jail:stat()
    if not st then refuse("policy.chdir: the jail is not open") end
    st.path = jail
    comps, first = { st }, 1
  elseif jail then
    local dir, list = core.opendir_nofollow(jail .. path)
    if not dir then
      refuse("policy.chdir: %s cannot be entered in the jail (%s; a link "
        .. "is refused)", show(path), tostring(list))
    end
    dir:close()
    comps = list
    local depth = 0
    for _ in jail:gmatch("[^/]+") do depth = depth + 1 end
    first = depth + 1  -- the jail's own directory
    local st = ctx.jail and ctx.jail:stat()
    if not st or st.dev ~= comps[first].dev or st.ino ~= comps[first].ino
    then
      refuse("policy.chdir: %s: the jail %s changed while it was checked",
        show(path), show(jail))
    end
  else
    comps, first = {}, 1
    local here = ""
    comps[1] = core.stat("/")
    for part in path:gmatch("[^/]+") do
      here = here .. "/" .. part
      local st, msg = core.lstat(here)
      if not st then
        refuse("policy.chdir: %s cannot be entered (%s)", show(path),
          tostring(msg))
      end
      if st.type == "link" then
        -- the cwd would read back as the link's target, not as `path`
        refuse("policy.chdir: %s goes through the link %s; write the "
          .. "path it leads to", show(path), show(here))
      end
      if st.type ~= "directory" then
        refuse("policy.chdir: %s is not a directory (%s is a %s)",
          show(path), show(here), st.type)
      end
      st.path = here
      comps[#comps + 1] = st
    end
    comps[1].path = "/"
  end
  for i = first, #comps do
    local st = comps[i]
    if not can_search(st, a) then
      refuse("policy.chdir: %s cannot be entered by uid %d: %s (mode "
        .. "%04o, owner %d, group %d) is not searchable for it",
        show(path), a.uid, show(st.path), st.mode, st.uid, st.gid)
    end
  end
  return true
end


-- The bits of core.cap_bits's answer.
local EFFECTIVE, PERMITTED, BOUNDING = 1, 2, 8

-- Why each capability check_privileges may ask for is needed.
local NEEDED_FOR = { cap_setgid = "setgroups and setresgid",
  cap_setuid = "setresuid", cap_sys_chroot = "chroot",
  cap_setpcap = "the bounding set and securebits" }


-- The securebits a parent may have locked: { name, bit, lock bit }.
local LOCKABLE = {}
for _, c in ipairs({ "NOROOT", "NO_SETUID_FIXUP", "KEEP_CAPS",
    "NO_CAP_AMBIENT_RAISE" }) do
  LOCKABLE[#LOCKABLE + 1] = { c:lower(), core["SECBIT_" .. c],
    core["SECBIT_" .. c .. "_LOCKED"] }
end


-- Step 4: every later step has the privilege it needs.
function RUN.check_privileges(a)
  local last = a.last
  local have, msg = core.cap_bits(last)
  if not have then
    refuse("cannot read this process's capability sets (%s)",
      tostring(msg))
  end
  local keep = {}
  for _, name in ipairs(a.keep) do
    local n = core.cap_value(name)
    if n > last then
      refuse("policy.caps: %s is not known to this kernel (last "
        .. "capability %d)", show(name), last)
    end
    keep[n] = true
    if not bit_set(have[n] or 0, PERMITTED) then
      refuse("policy.caps: %s is not in this process's permitted set, so "
        .. "it cannot be kept", show(name))
    end
    if not bit_set(have[n] or 0, BOUNDING) then
      refuse("policy.caps: %s is not in this process's bounding set, so "
        .. "it cannot be kept", show(name))
    end
  end
  local function need(name)
    if not bit_set(have[core.cap_value(name)] or 0, EFFECTIVE) then
      refuse("cannot drop privilege: %s is not in the effective set "
        .. "(needed for %s); nothing was changed", name, NEEDED_FOR[name])
    end
  end
  for _, name in ipairs(a.need) do need(name) end
  local bounding_left = false
  for n, b in pairs(have) do
    if b % 16 >= BOUNDING and not keep[n] then
      bounding_left = true
      break
    end
  end
  if bounding_left or #a.securebits > 0 then need("cap_setpcap") end

  local bits = core.get_securebits()
  local want = policy.securebits_value(a.securebits)
  for _, c in ipairs(LOCKABLE) do
    local bit, lock = c[2], c[3]
    if bit_set(bits, lock) and bit_set(want, bit)
        and not bit_set(bits, bit) then
      refuse("policy.securebits: %s is locked off in this process",
        show(c[1]))
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


-- Only the absolute entries of a search path ("./?.lua" and other
-- relative ones would search the caller's current directory).
local function absolute_only(path)
  local out = {}
  for entry in path:gmatch("[^;]+") do
    if entry:sub(1, 1) == "/" then out[#out + 1] = entry end
  end
  return concat(out, ";")
end


-- The first existing file for module `name` in a search path.
local function search(name, path)
  local file = name:gsub("%.", "/")
  for entry in path:gmatch("[^;]+") do
    local candidate = entry:gsub("%?", file)
    if core.stat(candidate) then return candidate end
  end
end


-- Why a file or directory, by its stat, could be changed by someone
-- other than root or us (nil when it cannot).
local function writable_by_others(st, uid, sticky_ok)
  if st.uid ~= 0 and st.uid ~= uid then
    return format("is owned by uid %d (not root or uid %d)", st.uid, uid)
  end
  if (st.mode % 32 >= 16 or st.mode % 4 >= 2)
      and not (sticky_ok and st.mode % 1024 >= 512) then
    return format("is writable by group or others (mode %04o)", st.mode)
  end
end


-- Judge a module file like a policy file: a regular file, it and every
-- directory above it owned by root or us and not writable by others.
-- XXX: where a directory is a link, its target is judged, not the
-- directories above the target.
local function check_module_file(name, file)
  local _, euid = core.getresuid()
  local here = ""
  local st = core.stat("/")
  local why = st and writable_by_others(st, euid, true)
  if why then
    refuse("policy.preload: %s is unsafe: the directory \"/\" %s",
      show(name), why)
  end
  local parts = {}
  for part in file:gmatch("[^/]+") do parts[#parts + 1] = part end
  for i, part in ipairs(parts) do
    here = here .. "/" .. part
    local msg
    st, msg = core.stat(here)
    if not st then
      refuse("policy.preload: %s cannot be checked (%s)", show(name),
        tostring(msg))
    end
    local last = i == #parts
    why = writable_by_others(st, euid, not last)
    if why then
      refuse("policy.preload: %s is unsafe: %s %s", show(name), show(here),
        why)
    end
    if last and st.type ~= "regular" then
      refuse("policy.preload: %s is unsafe: %s is not a regular file",
        show(name), show(here))
    end
  end
end


-- Step 3: each module to preload is already loaded, or found through the
-- absolute entries of package.path and package.cpath in a file only root
-- or we can change.
function RUN.check_preload(a)
  local lpath = absolute_only(package.path)
  local cpath = absolute_only(package.cpath)
  for _, name in ipairs(a) do
    if package.loaded[name] == nil and package.preload[name] == nil then
      local file = search(name, lpath) or search(name, cpath)
      if not file then
        refuse("policy.preload: %s is not found in the absolute entries "
          .. "of package.path or package.cpath (relative ones such as "
          .. "./?.lua are never searched)", show(name))
      end
      check_module_file(name, file)
    end
  end
  return true
end


-- The first existing file for module `name` in the absolute entries of
-- `path`, judged by check_module_file right when it is found (which
-- raises when it is unsafe); nil and the list of tried files when none.
local function find_judged(name, path)
  local file, tried = name:gsub("%.", "/"), {}
  for entry in path:gmatch("[^;]+") do
    local candidate = entry:gsub("%?", file)
    if core.stat(candidate) then
      check_module_file(name, candidate)
      return candidate
    end
    tried[#tried + 1] = "\n\tno file '" .. candidate .. "'"
  end
  return nil, concat(tried)
end


-- Load C module `name` from `file` by Lua's rule for the open function:
-- luaopen_ and the name with dots as underscores; with a hyphen, the part
-- before it (Lua 5.2 on), else the part after it (Lua 5.1's rule).
local function load_c(file, name)
  local under = name:gsub("%.", "_")
  local before, after = under:match("^([^-]*)%-(.*)$")
  if before then
    local f = package.loadlib(file, "luaopen_" .. before)
    if f then return f end
    under = after
  end
  return package.loadlib(file, "luaopen_" .. under)
end


-- The searchers require uses while confine preloads: the preload table,
-- then Lua files and C libraries (and the "all in one" C library of the
-- top module) found through the absolute entries of `lpath` and `cpath`
-- only, each file judged when it is found and that very file loaded, so
-- that a module (or a module it requires) cannot be swapped between the
-- check and the load.
local function judged_searchers(lpath, cpath)
  local function from_preload(name)
    local f = package.preload[name]
    if f then return f, ":preload:" end
    return "\n\tno field package.preload['" .. name .. "']"
  end
  local function from_lua(name)
    local file, tried = find_judged(name, lpath)
    if not file then return tried end
    local f, msg = loadfile(file)
    if not f then
      error(format("error loading module '%s' from file '%s':\n\t%s",
        name, file, tostring(msg)), 0)
    end
    return f, file
  end
  local function from_c(name)
    local file, tried = find_judged(name, cpath)
    if not file then return tried end
    local f, msg = load_c(file, name)
    if not f then
      error(format("error loading module '%s' from file '%s':\n\t%s",
        name, file, tostring(msg)), 0)
    end
    return f, file
  end
  local function from_c_root(name)
    local root = name:match("^([^.]+)%.")
    if not root then return "" end
    local file, tried = find_judged(root, cpath)
    if not file then return tried end
    local f = load_c(file, name)
    if not f then
      return "\n\tno module '" .. name .. "' in file '" .. file .. "'"
    end
    return f, file
  end
  return { from_preload, from_lua, from_c, from_c_root }
end


-- Step 5: modules the jail would hide.  While they load, require searches
-- only the absolute entries of the search paths and judges each file it
-- finds (check_preload's rule) right before loading that file: neither
-- the modules nor those they require come from the current directory or
-- from a file put in an earlier path entry after the check.
function RUN.preload(a)
  local lpath, cpath = package.path, package.cpath
  local field = rawget(package, "searchers") and "searchers" or "loaders"
  local searchers = package[field]
  package.path, package.cpath = absolute_only(lpath), absolute_only(cpath)
  package[field] = judged_searchers(package.path, package.cpath)
  local failed, err
  for _, name in ipairs(a) do
    local ok, e = pcall(require, name)
    if not ok then failed, err = name, tostring(e) break end
  end
  package.path, package.cpath, package[field] = lpath, cpath, searchers
  if failed and err:find("^confine: ") then error(err, 0) end
  if failed then
    refuse("policy.preload: %s cannot be loaded (%s)", show(failed),
      (err:gsub("\n.*", ""):gsub(":$", "")))
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


--- Filesystems whose files expose the kernel, other processes or a
-- credential: a jail on one is refused, and so is a descriptor on one
-- that survives the drop (devpts only for jails: terminals are judged as
-- devices).
M.PSEUDO_FS = { proc = true, sysfs = true, debugfs = true, tracefs = true,
  securityfs = true, cgroup = true, cgroup2 = true, bpf = true,
  configfs = true, efivarfs = true, pstore = true, devpts = true,
  anon_inode = true, nsfs = true, pidfs = true, binfmt_misc = true,
  fusectl = true, selinuxfs = true, smackfs = true }

-- Character devices a surviving descriptor may be, by major number (all
-- minors) or "major:minor": null, zero, full, random, urandom, and
-- terminals seen from the user's side (/dev/tty, the console, virtual
-- consoles, BSD and Unix98 pseudo-terminal slaves).  Writing to those is
-- output; typing into them (TIOCSTI) needs the controlling terminal,
-- which detach_tty takes away, and rebinding a console's keys needs
-- cap_sys_tty_config, which needs allow_root.  A pseudo-terminal MASTER
-- (5:2, the /dev/ptmx clone, or a BSD master, major 2) is not here:
-- what is written to it is input for the shell on its slave.
local SAFE_CHAR = { ["1:3"] = true, ["1:5"] = true, ["1:7"] = true,
  ["1:8"] = true, ["1:9"] = true, ["5:0"] = true, ["5:1"] = true,
  [3] = true, [4] = true }
for major = 136, 143 do SAFE_CHAR[major] = true end


-- Why descriptor `d` (an entry of core.fds()) must not survive the drop,
-- or nil when it may.
local function fd_danger(d, jail)
  if d.kind == "directory" then
    if jail then return "an open directory, which leads out of the jail" end
    return nil
  end
  if d.kind == "unknown" or d.fs == "anon_inode" or d.fs == "pidfs"
      or d.fs == "nsfs" then
    return format("a kernel object (%s) that may carry the credentials "
      .. "of whoever made it (as an io_uring does)",
      d.name or d.fs or "unknown kind")
  end
  if d.kind == "block" then
    return format("the block device %d:%d (raw disk access)", d.major,
      d.minor)
  end
  if d.kind == "char" and (d.major == 2 or d.major == 5 and d.minor == 2)
  then
    return format("a pseudo-terminal master (%d:%d%s): what is written "
      .. "to it is typed into the terminal on its other side, a shell's "
      .. "perhaps", d.major, d.minor, d.name and ", " .. d.name or "")
  end
  if d.kind == "char" and not (SAFE_CHAR[d.major]
      or SAFE_CHAR[d.major .. ":" .. d.minor]) then
    return format("the character device %d:%d%s, not one of null, zero, "
      .. "full, random, urandom or a terminal", d.major, d.minor,
      d.name and " (" .. d.name .. ")" or "")
  end
  if d.fs ~= "devpts" and M.PSEUDO_FS[d.fs] then
    return format("a file on %s%s, which exposes the kernel or other "
      .. "processes", d.fs, d.name and " (" .. d.name .. ")" or "")
  end
end


-- Step 5: every descriptor that survives the drop is one the confined
-- process keeps.  A directory leads out of a jail; a kernel object (an
-- io_uring with the opener's credentials, a pidfd, a namespace), a block
-- device, a character device other than the harmless ones and a file on
-- a pseudo-filesystem reach beyond what the new user may.  Those are
-- refused unless the policy names them in close_fds (a directory in a
-- jail, never).  The check counts what close_fds will leave, so it runs
-- before anything is closed.
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
    local why = survives and d.fd ~= own and fd_danger(d, a.jail)
    if why and d.kind == "directory" and keep and keep[d.fd] then
      refuse("descriptor %d is %s, so it cannot be kept even when named "
        .. "in close_fds (close it first, or leave it out of close_fds)",
        d.fd, why)
    elseif why and d.kind == "directory" then
      refuse("descriptor %d is %s (close it first, or set close_fds)",
        d.fd, why)
    elseif why and not (keep and keep[d.fd]) then
      refuse("descriptor %d is %s (close it first, set close_fds, or "
        .. "name it in close_fds to keep it)", d.fd, why)
    end
  end
  return true
end


-- A session leader cannot give up its terminal without hanging it up.
function RUN.check_tty()
  if core.has_ctty() and core.getsid() == core.getpid() then
    refuse("policy.detach_tty: true is impossible: this process leads "
      .. "the session of its controlling terminal, and giving it up would "
      .. "hang up the terminal (start it from a shell or under setsid, or "
      .. "set detach_tty = false, with allow_root, when no one else reads "
      .. "that terminal)")
  end
  return true
end


function RUN.detach_tty()
  return core.detach_tty()
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


-- The bounding set is read once: dropping one bit changes no other.
function RUN.bound_drop(a)
  local keep = numbers_set(a.keep)
  local bits, msg, errno = core.cap_bits(a.last)
  if not bits then return nil, msg, errno end
  local drop = core.bound_drop
  for n = 0, a.last do
    local b = bits[n]
    if b and b % 16 >= BOUNDING and not keep[n] then
      local ok, m, e = drop(n)
      if not ok then return nil, m, e end
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


-- Step 10.  The jail's identity, taken when it was checked, lets verify
-- make sure that "/" is the jail.
function RUN.verify(a, ctx)
  local s, msg = verify.run(a, ctx.root)
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


-- Give the caller's log the line of a phase, after the first change:
-- called through pcall, so that neither the log nor building its line
-- (which allocates, and can run out of memory) can raise out of apply
-- with the drop half done.
local function log_phase(log, phase, p)
  log(phase_line(phase, p))
end


-- A value as text for a message, whatever it is: an error object's
-- __tostring may raise or return a non-string.
local function text(v)
  local ok, t = pcall(tostring, v)
  if ok and type(t) == "string" then return t end
  return "(an error value of type " .. type(v) .. ")"
end


-- Fail closed after the first irreversible step.  Nothing here may raise
-- (a raise would unwind into the caller's pcall with the process half
-- done), and the exit is the core's _exit, captured when this module was
-- loaded, so no replaced os.exit, io.stderr or finalizer can stop it.
-- Steps to name when no step of the plan failed: made here, as nothing
-- may allocate on the way to failing closed.
local DROP_STEP, VERIFY_STEP = { step = "drop" }, { step = "verify" }


-- The one line that tells what failed after the first change, and the
-- step's name.
local function fail_line(step, msg, errno)
  local name = text(step.step)
  return (format("confine: %s failed: %s%s; the process is half-confined",
    name, text(msg), errno and format(" (errno %d)", errno) or "")
    :gsub("[\r\n]", " ")), name
end

local function fail_closed(p, ctx, step, msg, errno)
  pcall(core.set_keepcaps, false)
  if ctx.jail then pcall(ctx.jail.close, ctx.jail) end
  if type(errno) ~= "number" then errno = nil end
  -- building the line allocates: out of memory, a fixed one will do
  local ok, line, name = pcall(fail_line, step, msg, errno)
  if not ok then
    line, name = "confine: a step failed; the process is half-confined",
      "?"
  end
  if p.policy.on_error == "error" then
    return nil, line, name, errno
  end
  pcall(stderr.write, stderr, line, "\n")
  pcall(stderr.flush, stderr)
  pcall(_exit, EXIT_STATUS)
  os_exit(EXIT_STATUS)
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
    -- the log function is the caller's last chance to run code before
    -- the drop: count the threads again after it
    RUN.check_threads()
  end)
  if not ok then
    if ctx.jail then pcall(ctx.jail.close, ctx.jail) end
    error(err, 0)
  end

  -- From here every failure fails closed.  The collector stays off until
  -- the drop is verified: a finalizer could start a thread that keeps
  -- root between two steps.
  local gc_ok, gc_on = pcall(collectgarbage, "isrunning")
  local gc_restart = not gc_ok or gc_on  -- 5.1 cannot tell: assume on
  collectgarbage("stop")
  M.began = true
  local function failed(s, msg, errno)
    local a, b, c, d = fail_closed(p, ctx, s, msg, errno)
    if gc_restart then collectgarbage("restart") end
    return a, b, c, d
  end
  -- Whatever raises in here, a step or Lua itself (out of memory), ends
  -- in failed(): no error leaves apply with the drop half done.
  local phase = "drop"
  local function drop()
    while i <= n do
      local s = p[i]
      if s.phase ~= phase then
        if log then pcall(log_phase, log, phase, p) end
        phase = s.phase
      end
      local pok, r, msg, errno = pcall(RUN[s.step], s.args, ctx)
      if not pok then
        r, msg, errno = nil, r, nil
      end
      if not r then return s, msg, errno end
      i = i + 1
    end
  end
  local dok, s, msg, errno = pcall(drop)
  if not dok then
    return failed(p[i] or DROP_STEP, s)
  elseif s then
    return failed(s, msg, errno)
  end
  if not ctx.status then
    return failed(VERIFY_STEP, "the plan has no verify step")
  end
  if gc_restart then collectgarbage("restart") end
  if log then pcall(log_phase, log, phase, p) end
  return ctx.status
end

return M
