local h = require("spec.helper")
package.path = h.root .. "/lua/?.lua;" .. package.path
package.cpath = h.build .. "/?.so;" .. package.cpath

local confine = require("confine")
local core = require("confine.core")

local function steps(plan)
  local out = {}
  for i, s in ipairs(plan) do out[i] = s.step end
  return out
end

local function find(plan, name, from)
  for i = from or 1, #plan do
    if plan[i].step == name then return i, plan[i] end
  end
  return nil
end

local function refusal(t)
  local ok, err = pcall(confine.plan, t)
  if ok then return nil end
  return err
end


describe("confine.plan()", function()
  it("lays out a full policy in the safe order", function()
    local plan = confine.plan({ user = "nobody", chroot = "/run",
      chdir = "/tmp", caps = { "net_bind_service" }, ambient = true,
      preload = { "socket" }, close_fds = { 5 },
      securebits = { "noroot_locked" } })
    assert.are.same({
      "check_jail", "check_chdir", "check_preload", "check_tty",
      "check_privileges", "preload", "tzset", "check_threads",
      "check_fds", "close_fds", "detach_tty", "setgroups", "fchdir",
      "chroot", "chdir", "close_jail", "bound_drop", "securebits",
      "set_keepcaps", "setresgid", "setresuid", "set_keepcaps",
      "caps_set", "ambient_clear", "ambient_raise", "no_new_privs",
      "chdir", "verify",
    }, steps(plan))
  end)

  it("lays out a bare drop: groups, bounding set, gid, uid, caps", function()
    local plan = confine.plan({ user = "daemon" })
    assert.are.same({
      "check_tty", "check_privileges", "tzset", "check_threads",
      "check_fds", "detach_tty", "setgroups", "bound_drop", "setresgid",
      "setresuid", "set_keepcaps", "caps_set", "ambient_clear",
      "no_new_privs", "verify",
    }, steps(plan))
  end)

  it("marks every step with its phase, checks first", function()
    local plan = confine.plan({ user = "nobody", chroot = "/run" })
    local order = { check = 1, prepare = 2, drop = 3, verify = 4 }
    local last = 0
    for _, s in ipairs(plan) do
      assert.is_true(order[s.phase] >= last, s.step)
      last = order[s.phase]
      assert.are.equal("string", type(s.why))
      assert.are.equal("table", type(s.args))
    end
    assert.are.equal("drop", select(2, find(plan, "setgroups")).phase)
    assert.are.equal("check", plan[1].phase)
  end)

  it("always sets the groups, to none by default", function()
    local _, s = find(confine.plan({ user = "nobody" }), "setgroups")
    assert.are.same({ {} }, s.args)
  end)

  it("changes the gid before the uid, all three of each", function()
    local plan = confine.plan({ user = "nobody" })
    local g, sg = find(plan, "setresgid")
    local u, su = find(plan, "setresuid")
    assert.is_true(g < u)
    assert.are.same({ 65534, 65534, 65534 }, sg.args)
    assert.are.same({ 65534, 65534, 65534 }, su.args)
  end)

  it("enters the jail through the checked descriptor, then closes it",
    function()
    local plan = confine.plan({ user = "nobody", chroot = "/run" })
    local a = find(plan, "check_jail")
    local b = find(plan, "fchdir")
    assert.is_true(a < b)
    assert.are.equal("chroot", plan[b + 1].step)
    assert.are.same({ "." }, plan[b + 1].args)
    assert.are.equal("chdir", plan[b + 2].step)
    assert.are.same({ "/" }, plan[b + 2].args)
    assert.are.equal("close_jail", plan[b + 3].step)
    assert.is_true(b + 3 < find(plan, "setresuid"))
  end)

  it("uses keep-caps only when caps are kept, and turns it off right after "
    .. "the uid change", function()
    local plan = confine.plan({ user = "nobody", caps = { "net_raw" } })
    local on = find(plan, "set_keepcaps")
    assert.are.same({ true }, plan[on].args)
    local u = find(plan, "setresuid")
    assert.are.equal(on + 2, u)
    assert.are.equal("set_keepcaps", plan[u + 1].step)
    assert.are.same({ false }, plan[u + 1].args)
    local bare = confine.plan({ user = "nobody" })
    local i = find(bare, "set_keepcaps")
    assert.are.same({ false }, bare[i].args)
    assert.are.equal(nil, find(bare, "set_keepcaps", i + 1))
  end)

  it("needs no keep-caps when no_setuid_fixup is asked for", function()
    local plan = confine.plan({ user = "nobody", caps = { "net_raw" },
      securebits = { "no_setuid_fixup_locked", "keep_caps_locked" } })
    assert.are.equal(nil, find(plan, "set_keepcaps"))
  end)

  it("drops the bounding set up to the kernel's last capability", function()
    local _, s = find(confine.plan({ user = "nobody",
      caps = { "net_raw" } }), "bound_drop")
    assert.are.same({ keep = { "cap_net_raw" }, last = core.cap_last() },
      s.args)
  end)

  it("clears inheritable and ambient unless ambient is asked for",
    function()
    local plan = confine.plan({ user = "nobody", caps = { "net_raw" } })
    local _, s = find(plan, "caps_set")
    assert.are.same({ effective = { "cap_net_raw" },
      permitted = { "cap_net_raw" }, inheritable = {} }, s.args)
    assert.truthy(find(plan, "ambient_clear"))
    assert.falsy(find(plan, "ambient_raise"))
    plan = confine.plan({ user = "nobody", caps = { "net_raw" },
      ambient = true })
    _, s = find(plan, "caps_set")
    assert.are.same({ "cap_net_raw" }, s.args.inheritable)
    assert.truthy(find(plan, "ambient_raise"))
  end)

  it("leaves out no_new_privs only when asked to, with allow_root",
    function()
    assert.falsy(find(confine.plan({ user = "nobody", allow_root = true,
      no_new_privs = false }), "no_new_privs"))
  end)

  it("keeps the controlling terminal only when asked to", function()
    local plan = confine.plan({ user = "nobody", allow_root = true,
      detach_tty = false })
    assert.falsy(find(plan, "check_tty"))
    assert.falsy(find(plan, "detach_tty"))
    assert.is_false(plan[#plan].args.detach_tty)
    plan = confine.plan({ user = "nobody" })
    assert.is_true(plan[#plan].args.detach_tty)
  end)

  it("checks the final directory as the new user sees it, with a jail "
    .. "too", function()
    local _, s = find(confine.plan({ user = "nobody", chroot = "/run" }),
      "check_chdir")
    assert.are.same({ "/", jail = "/run", uid = 65534, gid = 65534,
      groups = {}, caps = {} }, s.args)
  end)

  it("names the groups entry that resolves to gid 0", function()
    assert.are.equal("confine: policy.groups[2]: \"root\" resolves to gid "
      .. "0 (root's group); set allow_root = true to keep it",
      refusal({ user = "nobody", groups = { "nogroup", "root" } }))
  end)

  it("resolves names to ids, with the user's groups on request", function()
    local plan = confine.plan({ user = "nobody", groups = "user" })
    assert.are.equal(65534, plan.target.uid)
    assert.are.equal(65534, plan.target.gid)
    local want = core.getgrouplist("nobody", 65534)
    assert.are.same(want, plan.target.groups)
  end)

  it("takes a uid without a passwd entry when its group is given",
    function()
    local plan = confine.plan({ user = 4000000, group = 4000000 })
    assert.are.same({ 4000000, 4000000, 4000000 },
      plan[find(plan, "setresuid")].args)
    assert.are.same({ {} }, plan[find(plan, "setgroups")].args)
  end)

  it("prints one step per line", function()
    local plan = confine.plan({ user = "nobody", chroot = "/run" })
    local text = tostring(plan)
    local n = 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      assert.truthy(line:find(plan[n].step, 1, true), line)
      assert.truthy(line:find(plan[n].why, 1, true), line)
    end
    assert.are.equal(#plan, n)
    assert.truthy(text:find('fchdir%s+"/run"'))
    assert.truthy(text:find("setresuid%s+65534, 65534, 65534"))
  end)

  it("shows hostile strings escaped in the printed plan", function()
    local plan = confine.plan({ user = "nobody", chroot = "/run/a\27b" })
    assert.falsy(tostring(plan):find("\27", 1, true))
    assert.truthy(tostring(plan):find('"/run/a\\27b"', 1, true))
  end)


  describe("refuses before anything runs", function()
    it("an unknown user, naming it", function()
      assert.are.equal("confine: policy.user: \"nosuchuser\" is not a "
        .. "known user (getpwnam nosuchuser: no such user)",
        refusal({ user = "nosuchuser" }))
    end)

    it("a name that only looks numeric, as an unknown name", function()
      assert.are.equal("confine: policy.user: \"0day\" is not a known user "
        .. "(getpwnam 0day: no such user)", refusal({ user = "0day" }))
    end)

    it("an unknown group, naming it", function()
      assert.are.equal("confine: policy.group: \"nosuchgroup\" is not a "
        .. "known group (getgrnam nosuchgroup: no such group)",
        refusal({ user = "nobody", group = "nosuchgroup" }))
      assert.are.equal("confine: policy.groups[2]: \"nosuchgroup\" is not "
        .. "a known group (getgrnam nosuchgroup: no such group)",
        refusal({ user = "nobody", groups = { 4, "nosuchgroup" } }))
    end)

    it("a uid without a passwd entry and no group", function()
      assert.are.equal("confine: policy.group: missing (uid 4000000 has no "
        .. "passwd entry, so its group must be given)",
        refusal({ user = 4000000 }))
    end)

    it("groups = \"user\" for a uid without a passwd entry", function()
      assert.are.equal("confine: policy.groups: \"user\" needs a user with "
        .. "a passwd entry (uid 4000000 has none)",
        refusal({ user = 4000000, group = 1, groups = "user" }))
    end)

    it("a name that resolves to uid 0 without allow_root", function()
      assert.are.equal("confine: policy.user: \"root\" resolves to uid 0; "
        .. "set allow_root = true to stay root", refusal({ user = "root" }))
    end)

    it("a group name that resolves to gid 0 without allow_root", function()
      assert.are.equal("confine: policy.group: \"root\" resolves to gid 0 "
        .. "(root's group); set allow_root = true to keep it",
        refusal({ user = "nobody", group = "root" }))
    end)
  end)
end)
