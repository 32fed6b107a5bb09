--- Reading the process state back: `status` and step 10 of the safe order.
--
-- Everything is read with system calls, never /proc, so it works inside a
-- jail that hides /proc.  `run` compares the state with what the plan
-- promised and then tries to get root back; every attempt must fail.
-- @module confine.verify

local core = require("confine.core")
local plan = require("confine.plan")
local policy = require("confine.policy")

local M = {}

local concat, format, ipairs, pairs, sort, tostring =
  table.concat, string.format, ipairs, pairs, table.sort, tostring
local bit_set = plan.bit_set

-- Securebit names in bit order, for status().securebits_names.
local SECUREBIT_NAMES = {
  { "SECBIT_NOROOT", "noroot" },
  { "SECBIT_NOROOT_LOCKED", "noroot_locked" },
  { "SECBIT_NO_SETUID_FIXUP", "no_setuid_fixup" },
  { "SECBIT_NO_SETUID_FIXUP_LOCKED", "no_setuid_fixup_locked" },
  { "SECBIT_KEEP_CAPS", "keep_caps" },
  { "SECBIT_KEEP_CAPS_LOCKED", "keep_caps_locked" },
  { "SECBIT_NO_CAP_AMBIENT_RAISE", "no_cap_ambient_raise" },
  { "SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED", "no_cap_ambient_raise_locked" },
}


--- The names of the bits set in a securebits word.
-- @tparam integer bits
-- @treturn {string,...}
function M.securebits_names(bits)
  local out = {}
  for _, b in ipairs(SECUREBIT_NAMES) do
    if bit_set(bits, core[b[1]]) then out[#out + 1] = b[2] end
  end
  return out
end


-- A capability's name; libcap gives one ("41") above its own last one.
local cap_name = core.cap_name


-- The five capability sets, read once (one call): for each capability
-- with any bit set, { effective, permitted, inheritable, bounding,
-- ambient } booleans.  Capabilities with no bit set are left out, so
-- nothing names them.  Raises when the sets cannot be read.
local function read_caps(last)
  local all, msg = core.cap_bits(last)
  if not all then
    error("confine: cannot read the capability sets (" .. tostring(msg)
      .. ")", 0)
  end
  local bits = {}
  for n, v in pairs(all) do
    bits[n] = { v % 2 == 1, v % 4 >= 2, v % 8 >= 4, v % 16 >= 8,
      v >= 16 }
  end
  return bits
end

local SETS = { "effective", "permitted", "inheritable", "bounding",
  "ambient" }


-- status() and the capability bits it was made from (verify compares
-- those, so the state is read once).
local function read_state()
  local s = {}
  local r, e, sv = core.getresuid()
  s.uid = { real = r, effective = e, saved = sv }
  r, e, sv = core.getresgid()
  s.gid = { real = r, effective = e, saved = sv }
  s.groups = core.getgroups()
  sort(s.groups)
  local last = core.cap_last()
  local bits = read_caps(last)
  s.caps = { effective = {}, permitted = {}, inheritable = {},
    bounding = {}, ambient = {} }
  -- by number, so each list is in capability order
  local order = {}
  for n in pairs(bits) do order[#order + 1] = n end
  sort(order)
  for _, n in ipairs(order) do
    local b, name = bits[n], cap_name(n)
    for k, set in ipairs(SETS) do
      if b[k] then s.caps[set][#s.caps[set] + 1] = name end
    end
  end
  s.keepcaps = core.get_keepcaps()
  s.securebits = core.get_securebits()
  s.securebits_names = M.securebits_names(s.securebits)
  s.no_new_privs = core.get_no_new_privs()
  s.cwd = core.getcwd()
  s.threads = core.thread_count()
  return s, bits
end


--- The process's identity and privilege, read with system calls.
-- @treturn table `{ uid = { real, effective, saved }, gid = {...},
--   groups, caps = { effective, permitted, inheritable, bounding,
--   ambient }, keepcaps, securebits, securebits_names, no_new_privs, cwd,
--   threads }`; threads is nil where /proc is hidden
function M.status()
  return (read_state())
end


-- A list as text, for messages.
local function list_text(t)
  local parts = {}
  for i, v in ipairs(t) do parts[i] = tostring(v) end
  return "{" .. concat(parts, ", ") .. "}"
end


-- Compare two lists as sets.
local function same_set(a, b)
  local seen = {}
  for _, v in ipairs(a) do seen[v] = true end
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  local m = {}
  for _, v in ipairs(b) do
    if not seen[v] then return false end
    m[v] = true
  end
  local k = 0
  for _ in pairs(m) do k = k + 1 end
  return n == k
end


-- The attempts to regain privilege, each of which must fail.
local function regain(e, kept)
  local tries = {}
  if e.uid ~= 0 and not kept.cap_setuid then
    tries[#tries + 1] = { "setuid(0)", core.setuid, 0 }
    tries[#tries + 1] = { "setresuid(0, 0, 0)", core.setresuid, 0, 0, 0 }
    tries[#tries + 1] = { "setresuid(nil, 0, nil)", core.setresuid,
      nil, 0, nil }
  end
  if e.gid ~= 0 and not kept.cap_setgid then
    tries[#tries + 1] = { "setgid(0)", core.setgid, 0 }
    tries[#tries + 1] = { "setresgid(0, 0, 0)", core.setresgid, 0, 0, 0 }
    tries[#tries + 1] = { "setgroups({0})", core.setgroups, { 0 } }
  end
  if not kept.cap_sys_chroot then
    tries[#tries + 1] = { "chroot(\".\")", core.chroot, "." }
  end
  for _, t in ipairs(tries) do
    local ok = t[2](t[3], t[4], t[5])
    if ok then
      return nil, format("%s succeeded: privilege can be regained", t[1])
    end
  end
  return true
end


--- Step 10: compare the state with the plan's promise, then try to regain
-- root.
-- @tparam table e the verify step's arguments (`uid`, `gid`, `groups`,
--   `caps`, `ambient`, `securebits`, `no_new_privs`, `cwd`, `last`,
--   `jail`, `detach_tty`)
-- @tparam[opt] table root with a jail: `{ dev, ino }` of the jail's
--   directory, which "/" must now be
-- @return the status on success; nil and a message naming the first
--   discrepancy otherwise
function M.run(e, root)
  local s, bits = read_state()
  local function bad(fmt, ...)
    return nil, format("verify: " .. fmt, ...)
  end
  for _, which in ipairs({ "uid", "gid" }) do
    local t, want = s[which], e[which]
    if t.real ~= want or t.effective ~= want or t.saved ~= want then
      return bad("%s is %s/%s/%s (real/effective/saved), expected %d",
        which, tostring(t.real), tostring(t.effective), tostring(t.saved),
        want)
    end
  end
  if not same_set(s.groups, e.groups) then
    return bad("groups are %s, expected %s", list_text(s.groups),
      list_text(e.groups))
  end

  -- Compare by number: only a capability that is kept or has a bit set
  -- can differ, and only those are named, lowest first.
  local kept, order = {}, {}
  for _, name in ipairs(e.caps) do kept[core.cap_value(name)] = true end
  for n in pairs(bits) do order[#order + 1] = n end
  for n in pairs(kept) do
    if not bits[n] then order[#order + 1] = n end
  end
  sort(order)
  for _, n in ipairs(order) do
    local have, want = bits[n], kept[n] == true
    if n <= e.last then
      have = have or { false, false, false, false, false }
      local expect = { want, want, want and e.ambient == true, want,
        want and e.ambient == true }
      for k, set in ipairs(SETS) do
        if have[k] ~= expect[k] then
          return bad("%s is %s in the %s set, expected %s", cap_name(n),
            have[k] and "set" or "clear", set,
            expect[k] and "set" or "clear")
        end
      end
    end
  end

  if core.get_keepcaps() then return bad("keep-caps is still on") end
  local secure = core.get_securebits()
  for _, name in ipairs(e.securebits) do
    local want = policy.securebits_value({ name })
    for _, b in ipairs(SECUREBIT_NAMES) do
      local v = core[b[1]]
      if bit_set(want, v) and not bit_set(secure, v) then
        return bad("securebit %s is not set", b[2])
      end
    end
  end
  if e.no_new_privs and not core.get_no_new_privs() then
    return bad("no_new_privs is not set")
  end
  if e.cwd then
    local cwd, msg = core.getcwd()
    if cwd ~= e.cwd then
      return bad("cwd is %s, expected %s", tostring(cwd or msg), e.cwd)
    end
  end

  -- XXX: where the jail hides /proc the threads cannot be counted here;
  -- apply counts them last after the caller's log function, just before
  -- the drop, and keeps the collector (finalizers) off during it.
  if s.threads and s.threads ~= 1 then
    return bad("the process has %d threads; the others kept their "
      .. "privilege", s.threads)
  end
  if e.jail then
    local st, why = core.stat("/")
    if not root or not st or st.dev ~= root.dev or st.ino ~= root.ino then
      return bad("the root directory is not the jail (%s)", st
        and format("dev %d ino %d, expected %s", st.dev, st.ino, root
        and format("dev %d ino %d", root.dev, root.ino) or "unknown")
        or tostring(why))
    end
  end
  if e.detach_tty and core.has_ctty() then
    return bad("the process still has a controlling terminal")
  end

  local ok, msg = regain(e, kept)
  if not ok then return bad("%s", msg) end
  s.verified = true
  return s
end

return M
