--- confine: give up root the safe way.
--
-- The front door.  A policy (a table, see README "Policy fields") is
-- validated, planned, applied in the safe order and verified:
--
--     local confine = require("confine")
--     confine.apply({ user = "nobody", chroot = "/srv/empty" })
--
-- Nothing changes until every check has passed; a failure after the first
-- irreversible step ends the process (or, with on_error = "error",
-- returns nil, message, step, errno).
-- @module confine

local policy = require("confine.policy")
local plan = require("confine.plan")
local apply = require("confine.apply")
local verify = require("confine.verify")
local loader = require("confine.load")

local M = {}

--- The version of the C core, `confine.core.version` (a string).
M.version = require("confine.core").version


--- Validate a policy.
-- @tparam table t the policy
-- @treturn table a normalised copy, defaults filled in
-- @raise `confine: policy.FIELD: VALUE reason`
function M.policy(t)
  return policy.check(t)
end


--- Validate a policy, resolve its names and lay out the steps; changes
-- nothing.
-- @tparam table t the policy
-- @treturn table the plan: a list of `{ step, args, why, phase }`;
--   `tostring(plan)` prints one step per line
-- @raise `confine: policy.FIELD: VALUE reason`
function M.plan(t)
  return plan.build(t)
end


--- A dry run: plan, then run every check `apply` makes before its first
-- change (jail, final directory, privileges, threads, descriptors).
-- Changes nothing.
-- @param t the policy or plan
-- @treturn table the plan
-- @raise the first failed check, as `apply` would raise it
function M.check(t)
  return apply.check(t)
end


--- Apply a policy (or a plan from `confine.plan`) and verify the result.
-- @param t the policy or plan
-- @tparam[opt] table opts `log`: a function taking one line per phase
-- @treturn table the verified status (as `confine.status`)
-- @return with on_error = "error" after a failure past the first
--   irreversible step: nil, message, step, errno
-- @raise any failure before the first irreversible step (nothing changed)
function M.apply(t, opts)
  return apply.run(t, opts)
end


--- The process's ids, groups, capability sets and flags, read with
-- system calls.
-- @treturn table `{ uid = { real, effective, saved }, gid = {...},
--   groups, caps = { effective, permitted, inheritable, bounding,
--   ambient }, keepcaps, securebits, securebits_names, no_new_privs,
--   cwd, threads }`
function M.status()
  return verify.status()
end


--- The common case: a jail, a user and optionally a group.
-- @tparam string path the jail
-- @param user name or uid
-- @param[opt] group name or gid
-- @treturn table the verified status
function M.jail(path, user, group)
  return apply.run({ chroot = path, user = user, group = group })
end


--- Load a policy table from a file owned by root or the caller and not
-- writable by group or others.
-- @tparam string path
-- @treturn table the policy the file returned (not yet validated)
-- @raise `confine: FILE:LINE: message` or `confine: FILE: message`
function M.load(path)
  return loader.load(path)
end

return M
