-- confine.apply as root: every body runs in a child interpreter, because
-- a drop is one-way.  Refused cases compare confine.status() before and
-- after; failures injected past the first irreversible step replace
-- package.loaded["confine.core"] with a proxy before confine is required.
local h = require("spec.helper")

local sh = h.sh

-- A jail: every component root-owned and not group/other writable.
local function make_jail()
  local d = sh("mktemp -d /run/confine-spec.XXXXXX")
  assert(d:find("^/run/confine%-spec%."), d)
  assert(os.execute("chmod 755 " .. h.shell_quote(d)))
  return d
end

local function remove(d)
  if d and d:find("^/run/confine%-spec%.") then
    os.execute("rm -rf " .. h.shell_quote(d))
  end
end

-- Source shared by the bodies.
local PRE = [[
local confine = require("confine")
local core = require("confine.core")
local function try(policy, opts)
  local before = confine.status()
  local ok, err = pcall(confine.apply, policy, opts)
  local after = confine.status()
  return { ok = ok, err = err, before = before, after = after }
end
]]

local INJECT, run = h.INJECT, h.run_child

local NOBODY = { real = 65534, effective = 65534, saved = 65534 }


describe("confine.apply() as root", function()
  local jail
  before_each(function() jail = nil end)
  after_each(function() remove(jail) end)


  describe("drops", function()
    h.it_root("to nobody without a jail: ids, groups, every set, flags",
      function()
      local s = run(PRE .. [[
        core.setgroups({ 0, 4, 6 })
        return confine.apply({ user = "nobody" })
      ]])
      assert.are.same(NOBODY, s.uid)
      assert.are.same(NOBODY, s.gid)
      assert.are.same({}, s.groups)
      assert.are.same({ effective = {}, permitted = {}, inheritable = {},
        bounding = {}, ambient = {} }, s.caps)
      assert.is_false(s.keepcaps)
      assert.is_true(s.no_new_privs)
      assert.is_true(s.verified)
    end)

    h.it_root("into a jail, leaving cwd at its root and /etc behind",
      function()
      jail = make_jail()
      local s = run(PRE .. [[
        core.chdir("/tmp")
        local st = confine.apply({ user = "nobody", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
        return { s = st, passwd = io.open("/etc/passwd") ~= nil,
          cwd = core.getcwd() }
      ]])
      assert.are.equal("/", s.cwd)
      assert.are.equal("/", s.s.cwd)
      assert.is_false(s.passwd)
      assert.are.same(NOBODY, s.s.uid)
    end)

    h.it_root("to a uid with no passwd entry, setting its group and no "
      .. "other", function()
      local s = run(PRE .. [[
        core.setgroups({ 0, 4, 6 })
        return confine.apply({ user = 4000001, group = 4000002 })
      ]])
      assert.are.same({ real = 4000001, effective = 4000001,
        saved = 4000001 }, s.uid)
      assert.are.same({ real = 4000002, effective = 4000002,
        saved = 4000002 }, s.gid)
      assert.are.same({}, s.groups)
    end)

    h.it_root("to a uid with a passwd entry, taking its primary group",
      function()
      local s = run(PRE .. [[
        core.setgroups({ 0, 4, 6 })
        return confine.apply({ user = 1 })
      ]])
      assert.are.same({ real = 1, effective = 1, saved = 1 }, s.uid)
      assert.are.same({ real = 1, effective = 1, saved = 1 }, s.gid)
      assert.are.same({}, s.groups)
    end)

    h.it_root("sets the supplementary groups asked for, and only those",
      function()
      local s = run(PRE .. [[
        core.setgroups({ 0, 4, 6 })
        return confine.apply({ user = "nobody", groups = { 4, "nogroup" } })
      ]])
      assert.are.same({ 4, 65534 }, s.groups)
    end)

    h.it_root("keeps local time across the jail", function()
      jail = make_jail()
      local r = run(PRE .. [[
        local before = os.date("%Z", 0)
        confine.apply({ user = "nobody", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
        return { before = before, after = os.date("%Z", 0) }
      ]], { env = "TZ=Europe/Berlin" })
      assert.are.equal("CET", r.before)
      assert.are.equal("CET", r.after)
    end)

    h.it_root("to root itself only with allow_root, shedding the rest",
      function()
      local s = run(PRE .. [[
        core.setgroups({ 0, 4, 6 })
        return confine.apply({ user = 0, group = 0, allow_root = true,
          groups = { 0 }, caps = { "setuid", "net_raw" } })
      ]])
      assert.are.same({ real = 0, effective = 0, saved = 0 }, s.uid)
      assert.are.same({ 0 }, s.groups)
      local kept = { "cap_setuid", "cap_net_raw" }
      assert.are.same({ effective = kept, permitted = kept,
        inheritable = {}, bounding = kept, ambient = {} }, s.caps)
    end)

    h.it_root("reports each phase through opts.log", function()
      local r = run(PRE .. [[
        local lines = {}
        confine.apply({ user = "nobody" },
          { log = function(l) lines[#lines + 1] = l end })
        return lines
      ]])
      assert.are.equal(4, #r)
      assert.truthy(r[1]:find("^confine: checked"))
      assert.truthy(r[3]:find("^confine: dropped to uid 65534 gid 65534"))
      assert.are.equal("confine: verified", r[4])
    end)
  end)


  describe("keeps only the named capabilities", function()
    local BIND = [[
      local socket = require("socket")
      local function bind_low()
        for port = 600 + math.random(0, 300), 1023 do
          local s = socket.tcp()
          local ok, err = s:bind("127.0.0.1", port)
          s:close()
          if ok then return true end
          if err ~= "address already in use" then return false, err end
        end
        return false, "no free port"
      end
    ]]

    h.it_root("and a kept one works after the drop (bind below 1024)",
      function()
      local r = run(PRE .. BIND .. [[
        local s = confine.apply({ user = "nobody", preload = { "socket" },
          caps = { "net_bind_service" } })
        local ok, err = bind_low()
        return { s = s, ok = ok, err = err }
      ]])
      assert.is_true(r.ok, r.err)
      local only = { "cap_net_bind_service" }
      assert.are.same({ effective = only, permitted = only,
        inheritable = {}, bounding = only, ambient = {} }, r.s.caps)
      assert.is_false(r.s.keepcaps)
    end)

    h.it_root("and one not kept is gone (bind below 1024 fails)", function()
      local r = run(PRE .. BIND .. [[
        confine.apply({ user = "nobody", preload = { "socket" } })
        local ok, err = bind_low()
        return { ok = ok, err = err }
      ]])
      assert.is_false(r.ok)
      assert.are.equal("permission denied", r.err)
    end)

    h.it_root("in inheritable and ambient too when ambient is asked for",
      function()
      local s = run(PRE .. [[
        return confine.apply({ user = "nobody", caps = { "net_raw" },
          ambient = true })
      ]])
      assert.are.same({ "cap_net_raw" }, s.caps.inheritable)
      assert.are.same({ "cap_net_raw" }, s.caps.ambient)
    end)

    h.it_root("across exec only through ambient, and only when asked",
      function()
      local body = PRE .. [[
        confine.apply({ user = "nobody", caps = { "net_bind_service" },
          ambient = AMBIENT })
        local p = io.popen("grep ^Cap /proc/self/status")
        local out = p:read("*a")
        p:close()
        return out
      ]]
      local bit = "0000000000000400"
      local zero = "0000000000000000"
      local with = run((body:gsub("AMBIENT", "true")))
      assert.are.equal(("CapInh:\t%s\nCapPrm:\t%s\nCapEff:\t%s\n"
        .. "CapBnd:\t%s\nCapAmb:\t%s\n"):format(bit, bit, bit, bit, bit),
        with)
      local without = run((body:gsub("AMBIENT", "false")))
      assert.are.equal(("CapInh:\t%s\nCapPrm:\t%s\nCapEff:\t%s\n"
        .. "CapBnd:\t%s\nCapAmb:\t%s\n"):format(zero, zero, zero, bit,
        zero), without)
    end)

    h.it_root("and clears inheritable and ambient bits held before",
      function()
      local s = run(PRE .. [[
        local c = core.caps_get()
        c:set("inheritable", { "cap_kill", "cap_net_raw" }, true)
        assert(c:apply())
        assert(core.ambient_raise("cap_kill"))
        return confine.apply({ user = "nobody", caps = { "net_raw" } })
      ]])
      assert.are.same({}, s.caps.inheritable)
      assert.are.same({}, s.caps.ambient)
    end)

    h.it_root("and sets the securebits asked for, locked", function()
      local s = run(PRE .. [[
        return confine.apply({ user = "nobody",
          securebits = { "noroot_locked", "no_cap_ambient_raise" } })
      ]])
      assert.are.same({ "noroot", "noroot_locked", "no_cap_ambient_raise" },
        s.securebits_names)
    end)

    h.it_root("across the uid change with no_setuid_fixup and keep-caps "
      .. "locked off", function()
      local s = run(PRE .. [[
        return confine.apply({ user = "nobody", caps = { "net_raw" },
          securebits = { "no_setuid_fixup_locked", "keep_caps_locked",
            "noroot_locked" } })
      ]])
      assert.are.same({ "cap_net_raw" }, s.caps.permitted)
      assert.is_false(s.keepcaps)
    end)
  end)


  describe("leaves no way back", function()
    h.it_root("every attempt to regain root fails after a drop", function()
      jail = make_jail()
      local r = run(PRE .. [[
        confine.apply({ user = "nobody", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
        local out = {}
        local function t(name, ok) out[name] = ok and true or false end
        t("setuid", core.setuid(0))
        t("setgid", core.setgid(0))
        t("setresuid", core.setresuid(0, 0, 0))
        t("seteuid", core.setresuid(nil, 0, nil))
        t("setresgid", core.setresgid(0, 0, 0))
        t("setgroups", core.setgroups({ 0 }))
        core.chdir("/")
        t("chroot", core.chroot("."))
        return out
      ]])
      assert.are.same({ setuid = false, setgid = false, setresuid = false,
        seteuid = false, setresgid = false, setgroups = false,
        chroot = false }, r)
    end)

    h.it_root("a jailed process cannot escape by mkdir, chroot, chdir ..",
      function()
      jail = make_jail()
      assert(os.execute("mkdir -m 777 " .. h.shell_quote(jail .. "/w")))
      local r = run(PRE .. [[
        confine.apply({ user = "nobody", chroot = ]]
        .. ("%q"):format(jail) .. [[, strict_jail = true })
        local ok = core.chroot("/w")
        for _ = 1, 20 do core.chdir("..") end
        return { chroot = ok and true or false,
          passwd = io.open("/etc/passwd") ~= nil }
      ]])
      assert.is_false(r.chroot)
      assert.is_false(r.passwd)
    end)

    h.it_root("a setuid-root and a file-capability program gain nothing "
      .. "after a drop with no_new_privs", function()
      jail = make_jail()
      local id = jail .. "/id"
      local cat = jail .. "/cat"
      assert(os.execute(("cp /usr/bin/id %s && chmod 4755 %s")
        :format(h.shell_quote(id), h.shell_quote(id))))
      assert(os.execute(("cp /bin/busybox %s && setcap cap_net_raw=ep %s")
        :format(h.shell_quote(cat), h.shell_quote(cat))))
      local body = PRE .. [[
        confine.apply({ user = "nobody", no_new_privs = NNP,
          allow_root = true })
        local p = io.popen(ID .. " -u; " .. CAT
          .. " /proc/self/status 2>&1 | grep -E '^Cap(Prm|Eff)|denied|not "
          .. "permitted'")
        local out = p:read("*a")
        p:close()
        return out
      ]]
      body = body:gsub("ID", ("%q"):format(id)):gsub("CAT",
        ("%q"):format(cat))
      local with = run((body:gsub("NNP", "true")))
      assert.truthy(with:find("^65534\n"), with)
      -- the file-capability copy either runs with nothing or not at all
      -- (the kernel refuses an exec whose file caps cannot be granted)
      local rest = with:gsub("^65534\n", "")
      assert.truthy(rest == "CapPrm:\t0000000000000000\n"
        .. "CapEff:\t0000000000000000\n"
        or rest:find("Operation not permitted") or rest:find("denied"),
        with)
      -- the control: without no_new_privs the setuid bit does work
      local without = run((body:gsub("NNP", "false")))
      assert.truthy(without:find("^0\n"), without)
    end)
  end)


  describe("refuses, changing nothing,", function()
    h.it_root("an open directory descriptor when a jail is asked for",
      function()
      jail = make_jail()
      local r = run(PRE .. [[
        local d = assert(io.open("/tmp", "r"))
        -- not a tail call: d must stay alive (and open) through apply
        local r = try({ user = "nobody", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
        d:close()
        return r
      ]])
      assert.is_false(r.ok)
      assert.truthy(r.err:find("^confine: descriptor %d+ is an open "
        .. "directory, which leads out of the jail"), r.err)
      assert.are.same(r.before, r.after)
    end)

    h.it_root("but closes it first when close_fds is set", function()
      jail = make_jail()
      local r = run(PRE .. [[
        local d = assert(io.open("/tmp", "r"))
        return try({ user = "nobody", close_fds = true, chroot = ]]
        .. ("%q"):format(jail) .. [[ })
      ]])
      assert.is_true(r.ok, r.err)
      assert.are.same(NOBODY, r.after.uid)
    end)

    h.it_root("a directory on stdin, which close_fds never closes",
      function()
      jail = make_jail()
      local r = run(PRE .. [[
        return try({ user = "nobody", close_fds = true, chroot = ]]
        .. ("%q"):format(jail) .. [[ })
      ]], { prefix = "sh -c 'exec 0</ && exec \"$0\" \"$@\"'" })
      assert.is_false(r.ok)
      assert.truthy(r.err:find("descriptor 0 is an open directory", 1,
        true), r.err)
      assert.are.same(r.before, r.after)
    end)

    h.it_root("a process with a second thread", function()
      local r = run(PRE .. [[
        assert(require("confine_test_thread").start())
        return try({ user = "nobody" })
      ]])
      assert.is_false(r.ok)
      assert.are.equal("confine: this process has 2 threads; ids and "
        .. "capabilities are per thread, so the others would keep root "
        .. "(drop before starting threads)", r.err)
      assert.are.same(r.before, r.after)
      assert.are.equal(2, r.after.threads)
    end)

    for _, c in ipairs({
      { "cap_setuid", "setresuid" },
      { "cap_setgid", "setgroups and setresgid" },
      { "cap_sys_chroot", "chroot" },
      { "cap_setpcap", "the bounding set and securebits" },
    }) do
      h.it_root("a drop without " .. c[1], function()
        jail = make_jail()
        local r = run(PRE .. [[
          core.setgroups({ 0, 4, 6 })
          return try({ user = "nobody", chroot = ]]
          .. ("%q"):format(jail) .. [[ })
        ]], { prefix = "capsh --drop=" .. c[1]
          .. " --shell=/usr/bin/env --" })
        assert.is_false(r.ok)
        assert.are.equal("confine: cannot drop privilege: " .. c[1]
          .. " is not in the effective set (needed for " .. c[2]
          .. "); nothing was changed", r.err)
        assert.are.same(r.before, r.after)
        if c[1] ~= "cap_setgid" then
          assert.are.same({ 0, 4, 6 }, r.after.groups)
        end
      end)
    end

    h.it_root("an unknown user or group, before the jail", function()
      jail = make_jail()
      local r = run(PRE .. [[
        core.chdir("/tmp")
        local a = try({ user = "nosuchuser", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
        local b = try({ user = "nobody", group = "nosuchgroup", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
        return { a = a, b = b }
      ]])
      assert.are.equal("confine: policy.user: \"nosuchuser\" is not a known "
        .. "user (getpwnam nosuchuser: no such user)", r.a.err)
      assert.are.equal("confine: policy.group: \"nosuchgroup\" is not a "
        .. "known group (getgrnam nosuchgroup: no such group)", r.b.err)
      assert.are.same(r.a.before, r.a.after)
      assert.are.same(r.b.before, r.b.after)
      assert.are.equal("/tmp", r.b.after.cwd)
    end)

    h.it_root("a kept capability the process does not hold", function()
      local r = run(PRE .. [[
        return try({ user = "nobody", caps = { "net_raw" } })
      ]], { prefix = "capsh --drop=cap_net_raw --shell=/usr/bin/env --" })
      assert.are.equal("confine: policy.caps: \"cap_net_raw\" is not in this "
        .. "process's permitted set, so it cannot be kept", r.err)
      assert.are.same(r.before, r.after)
    end)

    h.it_root("a jail with a symlink in its path", function()
      jail = make_jail()
      assert(os.execute(("mkdir %s/real && ln -s real %s/link")
        :format(h.shell_quote(jail), h.shell_quote(jail))))
      local r = run(PRE .. [[
        return try({ user = "nobody", chroot = ]]
        .. ("%q"):format(jail .. "/link") .. [[ })
      ]])
      assert.is_false(r.ok)
      assert.truthy(r.err:find("^confine: policy.chroot: \"" .. jail:gsub(
        "%p", "%%%0") .. "/link\" cannot be used as a jail %(.*%)$"), r.err)
      local why = r.err:match(": ([^:]*)%)$")
      assert.truthy(why == "Not a directory"
        or why == "Too many levels of symbolic links", r.err)
      assert.are.same(r.before, r.after)
    end)

    h.it_root("a jail with a group-writable or non-root component",
      function()
      jail = make_jail()
      assert(os.execute(("mkdir -m 775 %s/gw && mkdir %s/own && "
        .. "chown 65534 %s/own"):format(h.shell_quote(jail),
        h.shell_quote(jail), h.shell_quote(jail))))
      local r = run(PRE .. [[
        return {
          gw = try({ user = "nobody", chroot = ]]
          .. ("%q"):format(jail .. "/gw") .. [[ }),
          own = try({ user = "nobody", chroot = ]]
          .. ("%q"):format(jail .. "/own") .. [[ }),
          lax = try({ user = "nobody", strict_jail = false, chroot = ]]
          .. ("%q"):format(jail .. "/gw") .. [[ }),
        }
      ]])
      assert.are.equal(("confine: policy.chroot: %q is unsafe: %q is "
        .. "writable by group or others (mode 0775; strict_jail)")
        :format(jail .. "/gw", jail .. "/gw"), r.gw.err)
      assert.are.equal(("confine: policy.chroot: %q is unsafe: %q is "
        .. "owned by uid 65534, not root (strict_jail)")
        :format(jail .. "/own", jail .. "/own"), r.own.err)
      assert.are.same(r.gw.before, r.gw.after)
      assert.are.same(r.own.before, r.own.after)
      assert.is_true(r.lax.ok, r.lax.err)
    end)

    h.it_root("a missing final directory, before the jail", function()
      jail = make_jail()
      local r = run(PRE .. [[
        return try({ user = "nobody", chdir = "/nosuchdir", chroot = ]]
        .. ("%q"):format(jail) .. [[ })
      ]])
      assert.truthy(r.err:find("^confine: policy.chdir: \"/nosuchdir\" "
        .. "cannot be entered"), r.err)
      assert.are.same(r.before, r.after)
    end)

    h.it_root("a preload module that does not exist", function()
      local r = run(PRE .. [[
        return try({ user = "nobody", preload = { "no.such.module" } })
      ]])
      assert.are.equal("confine: policy.preload: \"no.such.module\" is "
        .. "not found in the absolute entries of package.path or "
        .. "package.cpath (relative ones such as ./?.lua are never "
        .. "searched)", r.err)
      assert.are.same(r.before, r.after)
    end)
  end)


  describe("holds the jail", function()
    h.it_root("enters the directory it checked even when the path is "
      .. "swapped for a link in between", function()
      jail = make_jail()
      assert(os.execute(("mkdir %s/j && touch %s/j/checked && "
        .. "mkdir %s/other && touch %s/other/swapped"):format(
        h.shell_quote(jail), h.shell_quote(jail), h.shell_quote(jail),
        h.shell_quote(jail))))
      local r = run(INJECT .. [[
        local J = ]] .. ("%q"):format(jail) .. [[
        inject({ opendir_nofollow = function(path)
          local dir, comps = real.opendir_nofollow(path)
          -- the attacker's swap, right after the check opened the path
          assert(os.rename(J .. "/j", J .. "/moved"))
          assert(os.execute("ln -s other " .. J .. "/j"))
          return dir, comps
        end })
        local confine = require("confine")
        confine.apply({ user = "nobody", chroot = J .. "/j" })
        return { checked = io.open("/checked") ~= nil,
          swapped = io.open("/swapped") ~= nil }
      ]])
      assert.are.same({ checked = true, swapped = false }, r)
    end)
  end)


  describe("fails closed after the first irreversible step", function()
    local FAIL = INJECT .. [[
      inject({ setresuid = function()
        return nil, "setresuid 65534: Operation not permitted", 1
      end })
      local confine = require("confine")
      local core = real
    ]]

    h.it_root("ending the process with status 121 and one line by default",
      function()
      local r = h.child(FAIL .. [[
        confine.apply({ user = "nobody", caps = { "net_raw" } })
        return "carried on"
      ]])
      assert.are.equal(121, r.code)
      assert.is_false(r.ok)
      assert.are.equal("confine: setresuid failed: setresuid 65534: "
        .. "Operation not permitted (errno 1); the process is "
        .. "half-confined\n", r.stderr)
    end)

    h.it_root("returning nil, message, step and errno with on_error = "
      .. "\"error\", keep-caps off again", function()
      local r = run(FAIL .. [[
        local s, msg, step, errno = confine.apply({ user = "nobody",
          caps = { "net_raw" }, on_error = "error" })
        return { s = s, msg = msg, step = step, errno = errno,
          keepcaps = core.get_keepcaps(), groups = core.getgroups() }
      ]])
      assert.are.same({ msg = "confine: setresuid failed: setresuid 65534: "
        .. "Operation not permitted (errno 1); the process is "
        .. "half-confined", step = "setresuid", errno = 1,
        keepcaps = false, groups = {} }, r)
    end)

    h.it_root("closing the jail's descriptor when it returns the error",
      function()
      jail = make_jail()
      local r = run(INJECT .. [[
        inject({ setgroups = function()
          return nil, "setgroups: Operation not permitted", 1
        end })
        local confine = require("confine")
        local s, msg, step = confine.apply({ user = "nobody",
          on_error = "error", chroot = ]] .. ("%q"):format(jail) .. [[ })
        local dirs = 0
        for _, d in ipairs(real.fds()) do
          if d.kind == "directory" then dirs = dirs + 1 end
        end
        return { s = s, step = step, dirs = dirs }
      ]])
      assert.are.same({ step = "setgroups", dirs = 0 }, r)
    end)

    h.it_root("saying whether the first change was made (began)",
      function()
      local r = run(PRE .. [[
        local applied = require("confine.apply")
        local before = applied.began
        local refused = pcall(confine.apply, { user = "no such user" })
        local after_refusal = applied.began
        confine.apply({ user = 65534, group = 65534 })
        return { before, refused, after_refusal, applied.began }
      ]])
      assert.are.same({ false, false, false, true }, r)
    end)

    h.it_root("whichever allocation fails after the first change",
      function()
      -- From the log line that ends the preparation on, allocation N
      -- and the one after it fail (the second defeats Lua's retry after
      -- an emergency collection), for N = 1, 2, ... until apply has room
      -- to finish.  Every run must end in one of three ways: refused
      -- with nothing changed, ended with 121, or verified; an error that
      -- leaves apply with the drop half done is none of them.
      local body = [[
        local confine = require("confine")
        local core = require("confine.core")
        local attack = require("confine_test_attack")
        local armed = false
        local ok, s = pcall(confine.apply, { user = 65534, group = 65534,
          caps = { "net_bind_service" } }, { log = function(line)
            if not armed and line:find("prepared", 1, true) then
              armed = true
              attack.fail_allocs(FIRST)
            end
          end })
        attack.fail_allocs()
        local u1, u2, u3 = core.getresuid()
        return { ok = ok, err = not ok and tostring(s) or nil,
          verified = ok and s.verified or nil, uid = { u1, u2, u3 } }
      ]]
      local seen, finished, first = {}, 0, 1
      while finished < 3 do
        local r = h.child((body:gsub("FIRST", first)))
        local how
        if r.code == 121 then
          assert.matches("^confine: [^\n]+ half%-confined\n$", r.stderr)
          how = "ended"
        else
          assert.is_true(r.ok, r.stderr)
          local res = r.result
          if res.ok then
            assert.is_true(res.verified)
            how = "verified"
          else
            assert.are.same({ 0, 0, 0 }, res.uid, ("allocation %d: an"
              .. " error left apply after the drop: %s"):format(first,
              tostring(res.err)))
            how = "refused"
          end
        end
        seen[how] = true
        finished = how == "verified" and finished + 1 or 0
        first = first + 1
        assert.is_true(first < 5000, "apply never finished")
      end
      assert.is_true(seen.ended, "no run failed after the drop began")
    end)

    h.it_root("running nothing after the failed step", function()
      local r = run(INJECT .. [[
        local calls = {}
        local function spy(name)
          return function(...)
            calls[#calls + 1] = name
            return real[name](...)
          end
        end
        inject({ setresgid = function()
          calls[#calls + 1] = "setresgid"
          return nil, "setresgid 65534: Operation not permitted", 1
        end, setresuid = spy("setresuid"), caps_new = spy("caps_new"),
          set_no_new_privs = spy("set_no_new_privs") })
        local confine = require("confine")
        local _, _, step = confine.apply({ user = "nobody",
          on_error = "error" })
        local ru, eu, su = real.getresuid()
        return { step = step, calls = calls, uid = { ru, eu, su },
          nnp = real.get_no_new_privs() }
      ]])
      assert.are.same({ step = "setresgid", calls = { "setresgid" },
        uid = { 0, 0, 0 }, nnp = false }, r)
    end)

    h.it_root("when a step raises instead of returning", function()
      local r = h.child(INJECT .. [[
        inject({ chroot = function() error("boom") end })
        local confine = require("confine")
        confine.apply({ user = "nobody", chroot = "/run" })
        return "carried on"
      ]])
      assert.are.equal(121, r.code)
      assert.truthy(r.stderr:find("^confine: chroot failed: .*boom"),
        r.stderr)
    end)

    h.it_root("when verify finds the uid change did not happen", function()
      local r = run(INJECT .. [[
        inject({ setresuid = function() return true end })
        local confine = require("confine")
        return { confine.apply({ user = "nobody", on_error = "error" }) }
      ]])
      assert.are.same({ nil, "confine: verify failed: verify: uid is "
        .. "0/0/0 (real/effective/saved), expected 65534; the process is "
        .. "half-confined", "verify" }, { r[1], r[2], r[3] })
    end)

    h.it_root("when verify could regain root", function()
      local r = run(INJECT .. [[
        inject({ setuid = function() return true end })
        local confine = require("confine")
        return { confine.apply({ user = "nobody", on_error = "error" }) }
      ]])
      assert.are.equal("confine: verify failed: verify: setuid(0) "
        .. "succeeded: privilege can be regained; the process is "
        .. "half-confined", r[2])
    end)
  end)
end)


describe("confine.jail()", function()
  local jail
  after_each(function() remove(jail) end)

  h.it_root("drops into a jail as a user and group in one call", function()
    jail = make_jail()
    local s = run(PRE .. [[
      return confine.jail(]] .. ("%q"):format(jail) .. [[, "nobody", 1)
    ]])
    assert.are.same(NOBODY, s.uid)
    assert.are.same({ real = 1, effective = 1, saved = 1 }, s.gid)
    assert.are.equal("/", s.cwd)
  end)
end)


describe("confine.status()", function()
  h.it_root("reads ids, sets and flags without changing anything",
    function()
    local r = run(PRE .. [[
      local a = confine.status()
      local b = confine.status()
      return { a = a, same = a.uid.real == b.uid.real }
    ]])
    assert.are.same({ real = 0, effective = 0, saved = 0 }, r.a.uid)
    assert.are.equal(1, r.a.threads)
    assert.truthy(#r.a.caps.bounding > 30)
    assert.are.equal("number", type(r.a.securebits))
  end)
end)


describe("confine.check()", function()
  local jail
  after_each(function() remove(jail) end)

  h.it_root("runs every check and changes nothing", function()
    jail = make_jail()
    local r = run(PRE .. [[
      local before = confine.status()
      local plan = confine.check({ user = "nobody", chroot = ]]
      .. ("%q"):format(jail) .. [[ })
      local dirs = 0
      for _, d in ipairs(core.fds()) do
        if d.kind == "directory" then dirs = dirs + 1 end
      end
      return { before = before, after = confine.status(), n = #plan,
        dirs = dirs }
    ]])
    assert.are.same(r.before, r.after)
    assert.are.equal(0, r.dirs)
    assert.truthy(r.n > 10)
  end)

  h.it_root("raises what apply would, before any change", function()
    jail = make_jail()
    local r = run(PRE .. [[
      local d = io.open("/tmp")
      local a = { pcall(confine.check, { user = "nobody", chroot = ]]
      .. ("%q"):format(jail) .. [[ }) }
      d:close()
      assert(require("confine_test_thread").start())
      local b = { pcall(confine.check, { user = "nobody" }) }
      return { a = a[2], b = b[2] }
    ]])
    assert.truthy(r.a:find("^confine: descriptor %d+ is an open directory"),
      r.a)
    assert.truthy(r.b:find("^confine: this process has 2 threads"), r.b)
  end)

  h.it_root("refuses a missing privilege", function()
    local r = run(PRE .. [[
      return { pcall(confine.check, { user = "nobody" }) }
    ]], { prefix = "capsh --drop=cap_setuid --shell=/usr/bin/env --" })
    assert.are.same({ false, "confine: cannot drop privilege: cap_setuid is "
      .. "not in the effective set (needed for setresuid); nothing was "
      .. "changed" }, r)
  end)
end)


describe("confine.apply() without privilege", function()
  it("refuses with the missing capability named, changing nothing",
    function()
    -- as root, give up every capability (uid 0 stays, so the child can
    -- still read its root-owned script); as a plain user, run as is
    local prefix = h.is_root() and "setpriv --inh-caps=-all "
      .. "--bounding-set=-all" or ""
    local r = run(PRE .. [[
      return try({ user = "daemon" })
    ]], { prefix = prefix })
    assert.is_false(r.ok)
    assert.are.equal("confine: cannot drop privilege: cap_setgid is not in "
      .. "the effective set (needed for setgroups and setresgid); nothing "
      .. "was changed", r.err)
    assert.are.same(r.before, r.after)
  end)
end)
