local h = require("spec.helper")
package.path = h.root .. "/lua/?.lua;" .. package.path
package.cpath = h.build .. "/?.so;" .. package.cpath

local confine = require("confine")
local policy = require("confine.policy")

-- The error `confine.policy(t)` raises, or nil when it accepts t.
local function refusal(t)
  local ok, err = pcall(confine.policy, t)
  if ok then return nil end
  return err
end

local U = "confine: policy.user: "
local G = "confine: policy.group: "
local RANGE_UID = " is not a valid uid (0..4294967294)"
local RANGE_GID = " is not a valid gid (0..4294967294)"

-- { policy, exact message }: every kind of bad value, field by field.
local BAD = {
  -- user: ids
  { { user = -1 }, U .. "-1" .. RANGE_UID },
  { { user = 4294967295 }, U .. "4294967295" .. RANGE_UID },
  { { user = 4294967296 }, U .. "4294967296" .. RANGE_UID },
  { { user = 2^32 }, U .. "4294967296" .. RANGE_UID },
  { { user = 2^53 }, U .. "9007199254740992" .. RANGE_UID },
  { { user = 1.5 }, U .. "1.5" .. RANGE_UID },
  { { user = 0/0 }, U .. "nan" .. RANGE_UID },
  { { user = math.huge }, U .. "inf" .. RANGE_UID },
  { { user = -math.huge }, U .. "-inf" .. RANGE_UID },
  { { user = math.mininteger or -2^63 }, U .. "-9223372036854775808"
    .. RANGE_UID },
  -- user: not a name
  { { user = true }, U .. "true is not a user name or uid" },
  { { user = false }, U .. "false is not a user name or uid" },
  { { user = {} }, U .. "a table is not a user name or uid" },
  { { user = print }, U .. "a function is not a user name or uid" },
  { {}, U .. "missing (a user name or uid is required)" },
  { { user = "" }, U .. '"" is not a valid user name (empty)' },
  { { user = "0" }, U .. '"0" looks like a uid, but a string is always a '
    .. "user name (write the uid as a number)" },
  { { user = "65534" }, U .. '"65534" looks like a uid, but a string is '
    .. "always a user name (write the uid as a number)" },
  { { user = "no\0body" }, U .. '"no\\0body" is not a valid user name '
    .. "(letters, digits, '_', '.', '-', and a final '$' only)" },
  { { user = "a b" }, U .. '"a b" is not a valid user name (letters, '
    .. "digits, '_', '.', '-', and a final '$' only)" },
  { { user = "-rf" }, U .. '"-rf" is not a valid user name (letters, '
    .. "digits, '_', '.', '-', and a final '$' only)" },
  { { user = "root:x" }, U .. '"root:x" is not a valid user name '
    .. "(letters, digits, '_', '.', '-', and a final '$' only)" },
  { { user = ("x"):rep(300) }, U .. '"' .. ("x"):rep(48) .. '"... (300 '
    .. "bytes) is not a valid user name (longer than 256 bytes)" },
  { { user = 0 }, U .. "0 is root; set allow_root = true to stay root" },
  -- group
  { { user = "nobody", group = -1 }, G .. "-1" .. RANGE_GID },
  { { user = "nobody", group = 4294967295 }, G .. "4294967295" .. RANGE_GID },
  { { user = "nobody", group = 0.5 }, G .. "0.5" .. RANGE_GID },
  { { user = "nobody", group = "100" }, G .. '"100" looks like a gid, but '
    .. "a string is always a group name (write the gid as a number)" },
  { { user = "nobody", group = true }, G .. "true is not a group name or "
    .. "gid" },
  { { user = "nobody", group = 0 }, G .. "0 is root's group; set "
    .. "allow_root = true to keep it" },
  -- groups
  { { user = "nobody", groups = "all" }, "confine: policy.groups: \"all\" "
    .. "is not a list of groups or \"user\"" },
  { { user = "nobody", groups = 5 }, "confine: policy.groups: 5 is not a "
    .. "list of group names or gids" },
  { { user = "nobody", groups = { 1, -1 } }, "confine: policy.groups[2]: "
    .. "-1" .. RANGE_GID },
  { { user = "nobody", groups = { "4" } }, "confine: policy.groups[1]: "
    .. "\"4\" looks like a gid, but a string is always a group name (write "
    .. "the gid as a number)" },
  { { user = "nobody", groups = { 4, 0 } }, "confine: policy.groups[2]: 0 "
    .. "is root's group; set allow_root = true to keep it" },
  { { user = "nobody", groups = { 1, nil, 3 } }, "confine: policy.groups: "
    .. "has a hole at position 2 (2 entries); a list of group names or gids "
    .. "takes positions 1..n only" },
  { { user = "nobody", groups = { x = 1 } }, "confine: policy.groups: has "
    .. "the key \"x\"; a list of group names or gids takes positions 1..n "
    .. "only" },
  { { user = "nobody", caps = { [math.huge] = "kill" } }, "confine: "
    .. "policy.caps: has the key inf; a list of capability names takes "
    .. "positions 1..n only" },
  { { user = "nobody", caps = { "kill", [2^40] = "kill" } }, "confine: "
    .. "policy.caps: has the key 1099511627776; a list of capability names "
    .. "takes positions 1..n only" },
  { { user = "nobody", caps = { [1.5] = "kill" } }, "confine: "
    .. "policy.caps: has the key 1.5; a list of capability names takes "
    .. "positions 1..n only" },
  -- chroot and chdir
  { { user = "nobody", chroot = "srv" }, "confine: policy.chroot: \"srv\" "
    .. "is not an absolute path" },
  { { user = "nobody", chroot = "" }, "confine: policy.chroot: \"\" is not "
    .. "a path (empty)" },
  { { user = "nobody", chroot = "/" }, "confine: policy.chroot: \"/\" is "
    .. "not a jail (it is the root itself)" },
  { { user = "nobody", chroot = "/srv/../etc" }, "confine: policy.chroot: "
    .. "\"/srv/../etc\" has a \".\" or \"..\" component" },
  { { user = "nobody", chroot = "/srv\0x" }, "confine: policy.chroot: "
    .. "\"/srv\\0x\" contains a NUL byte" },
  { { user = "nobody", chroot = true }, "confine: policy.chroot: true is "
    .. "not a path (a string)" },
  { { user = "nobody", chdir = "var" }, "confine: policy.chdir: \"var\" is "
    .. "not an absolute path" },
  -- caps
  { { user = "nobody", caps = { "=ep" } }, "confine: policy.caps[1]: "
    .. "\"=ep\" is not a capability name (one name such as "
    .. "\"net_bind_service\", never a text form like \"=ep\")" },
  { { user = "nobody", caps = { "all" } }, "confine: policy.caps[1]: "
    .. "\"all\" would keep every capability; name each one kept" },
  { { user = "nobody", caps = { "ALL" } }, "confine: policy.caps[1]: "
    .. "\"ALL\" would keep every capability; name each one kept" },
  { { user = "nobody", caps = { "cap_net_raw+ep" } }, "confine: "
    .. "policy.caps[1]: \"cap_net_raw+ep\" is not a capability name (one "
    .. "name such as \"net_bind_service\", never a text form like \"=ep\")" },
  { { user = "nobody", caps = { "cap_kill,cap_chown" } }, "confine: "
    .. "policy.caps[1]: \"cap_kill,cap_chown\" is not a capability name "
    .. "(one name such as \"net_bind_service\", never a text form like "
    .. "\"=ep\")" },
  { { user = "nobody", caps = { "12" } }, "confine: policy.caps[1]: \"12\" "
    .. "is not a capability name (one name such as \"net_bind_service\", "
    .. "never a text form like \"=ep\")" },
  { { user = "nobody", caps = { 5 } }, "confine: policy.caps[1]: 5 is a "
    .. "number; write the capability's name (\"cap_kill\")" },
  { { user = "nobody", caps = { "cap_nosuch" } }, "confine: policy.caps[1]: "
    .. "\"cap_nosuch\" is not a capability known to libcap" },
  { { user = "nobody", caps = "net_raw" }, "confine: policy.caps: "
    .. "\"net_raw\" is not a list of capability names (write { \"name\", "
    .. "... })" },
  { { user = "nobody", caps = { "setuid" } }, "confine: policy.caps[1]: "
    .. "\"setuid\" (cap_setuid) lets the process become any user, root "
    .. "included; set allow_root = true to keep it" },
  { { user = "nobody", caps = { "net_raw", "cap_sys_chroot" } }, "confine: "
    .. "policy.caps[2]: \"cap_sys_chroot\" chroots again, which walks out "
    .. "of any jail; set allow_root = true to keep it" },
  { { user = "nobody", caps = { "DAC_READ_SEARCH" } }, "confine: "
    .. "policy.caps[1]: \"DAC_READ_SEARCH\" (cap_dac_read_search) reads "
    .. "any file, and open_by_handle_at walks out of any jail; set "
    .. "allow_root = true to keep it" },
  -- booleans
  { { user = "nobody", ambient = 1 }, "confine: policy.ambient: 1 is not "
    .. "true or false" },
  { { user = "nobody", no_new_privs = "yes" }, "confine: "
    .. "policy.no_new_privs: \"yes\" is not true or false" },
  { { user = "nobody", no_new_privs = false }, "confine: "
    .. "policy.no_new_privs: false lets an exec of a set-user-ID or "
    .. "file-capability program gain privilege again; set allow_root = "
    .. "true to allow it" },
  { { user = "nobody", detach_tty = false }, "confine: "
    .. "policy.detach_tty: false keeps the controlling terminal, into "
    .. "which the process could type commands for the shell that started "
    .. "it (TIOCSTI); set allow_root = true to allow it" },
  { { user = "nobody", caps = { "sys_tty_config" } }, "confine: "
    .. "policy.caps[1]: \"sys_tty_config\" (cap_sys_tty_config) rebinds "
    .. "the console's keys (KDSKBENT, KDSKBSENT), so root's next "
    .. "keystrokes run a command; set allow_root = true to keep it" },
  { { user = "nobody", detach_tty = "no" }, "confine: "
    .. "policy.detach_tty: \"no\" is not true or false" },
  { { user = "nobody", allow_root = 0 }, "confine: policy.allow_root: 0 is "
    .. "not true or false" },
  { { user = "nobody", strict_jail = "false" }, "confine: "
    .. "policy.strict_jail: \"false\" is not true or false" },
  -- securebits
  { { user = "nobody", securebits = { "keep_caps" } }, "confine: "
    .. "policy.securebits[1]: \"keep_caps\" is managed by confine "
    .. "(keep-caps is on only across the uid change); \"keep_caps_locked\" "
    .. "locks it off" },
  { { user = "nobody", securebits = { "noroots" } }, "confine: "
    .. "policy.securebits[1]: \"noroots\" is not a securebit name (one of: "
    .. "noroot, noroot_locked, no_setuid_fixup, no_setuid_fixup_locked, "
    .. "keep_caps_locked, no_cap_ambient_raise, "
    .. "no_cap_ambient_raise_locked)" },
  { { user = "nobody", securebits = "noroot" }, "confine: "
    .. "policy.securebits: \"noroot\" is not a list of securebit names" },
  { { user = "nobody", caps = { "net_raw" }, securebits = {
    "keep_caps_locked" } }, "confine: policy.securebits: "
    .. "\"keep_caps_locked\" locks keep-caps off, so the kept caps could "
    .. "not survive the uid change; add \"no_setuid_fixup\" or keep no "
    .. "caps" },
  { { user = "nobody", caps = { "net_raw" }, ambient = true, securebits = {
    "no_cap_ambient_raise" } }, "confine: policy.securebits: "
    .. "\"no_cap_ambient_raise\" forbids the ambient raise that ambient = "
    .. "true asks for" },
  -- preload
  { { user = "nobody", preload = { "a..b" } }, "confine: "
    .. "policy.preload[1]: \"a..b\" is not a module name (dotted "
    .. "identifiers only)" },
  { { user = "nobody", preload = { "../x" } }, "confine: "
    .. "policy.preload[1]: \"../x\" is not a module name (dotted "
    .. "identifiers only)" },
  { { user = "nobody", preload = "socket" }, "confine: policy.preload: "
    .. "\"socket\" is not a list of module names" },
  -- close_fds
  { { user = "nobody", close_fds = 3 }, "confine: policy.close_fds: 3 is "
    .. "not true, false or a list of descriptors to keep" },
  { { user = "nobody", close_fds = { -1 } }, "confine: "
    .. "policy.close_fds[1]: -1 is not a descriptor number (0..2147483647)" },
  { { user = "nobody", close_fds = { 3.5 } }, "confine: "
    .. "policy.close_fds[1]: 3.5 is not a descriptor number "
    .. "(0..2147483647)" },
  -- on_error
  { { user = "nobody", on_error = "ignore" }, "confine: policy.on_error: "
    .. "\"ignore\" is not \"exit\" or \"error\"" },
  { { user = "nobody", on_error = true }, "confine: policy.on_error: true "
    .. "is not \"exit\" or \"error\"" },
  -- unknown fields and non-tables
  { { user = "nobody", usr = "x" }, "confine: policy.usr: unknown field "
    .. "(known: user, group, groups, chroot, chdir, caps, ambient, "
    .. "no_new_privs, securebits, preload, close_fds, allow_root, "
    .. "strict_jail, on_error, detach_tty)" },
  { { user = "nobody", [1] = "x" }, "confine: policy[1]: unknown field "
    .. "(known: user, group, groups, chroot, chdir, caps, ambient, "
    .. "no_new_privs, securebits, preload, close_fds, allow_root, "
    .. "strict_jail, on_error, detach_tty)" },
  { { user = "nobody", ["a\nb"] = 1 }, "confine: policy[\"a\\nb\"]: "
    .. "unknown field (known: user, group, groups, chroot, chdir, caps, "
    .. "ambient, no_new_privs, securebits, preload, close_fds, allow_root, "
    .. "strict_jail, on_error, detach_tty)" },
  { "nobody", "confine: policy: \"nobody\" is not a table" },
  { nil, "confine: policy: nil is not a table" },
}


describe("confine.policy()", function()
  describe("refuses every bad value with the field, the value and why",
    function()
    for i, case in ipairs(BAD) do
      local name = ("%d: %s"):format(i, case[2]:sub(1, 70))
      it(name, function()
        assert.are.equal(case[2], refusal(case[1]))
      end)
    end
  end)


  it("fills in the defaults", function()
    assert.are.same({
      user = "nobody", groups = {}, caps = {}, ambient = false,
      no_new_privs = true, securebits = {}, preload = {}, close_fds = false,
      allow_root = false, strict_jail = true, on_error = "exit",
      detach_tty = true,
    }, confine.policy({ user = "nobody" }))
  end)

  it("normalises caps to canonical names in number order, folding "
    .. "duplicates", function()
    local p = confine.policy({ user = "nobody", caps = {
      "CAP_NET_RAW", "net_bind_service", "cap_net_bind_service", "kill" } })
    assert.are.same({ "cap_kill", "cap_net_bind_service", "cap_net_raw" },
      p.caps)
  end)

  it("normalises the jail path and enters its root by default", function()
    local p = confine.policy({ user = 65534, group = 65534,
      chroot = "//srv//www/" })
    assert.are.equal("/srv/www", p.chroot)
    assert.are.equal("/", p.chdir)
  end)

  it("keeps a name that merely starts with digits a name", function()
    assert.are.equal("0day", confine.policy({ user = "0day" }).user)
  end)

  it("turns integral floats into integers", function()
    if not math.type then return end
    local p = confine.policy({ user = 65534.0, group = 1.0 })
    assert.are.equal("integer", math.type(p.user))
    assert.are.equal("integer", math.type(p.group))
  end)

  it("keeps only the strongest form of each securebit", function()
    local p = confine.policy({ user = "nobody", securebits = {
      "noroot", "noroot_locked", "no_setuid_fixup" } })
    assert.are.same({ "noroot_locked", "no_setuid_fixup" }, p.securebits)
  end)

  it("takes close_fds = true as an empty keep list", function()
    assert.are.same({}, confine.policy({ user = "nobody",
      close_fds = true }).close_fds)
    assert.are.same({ 3, 7 }, confine.policy({ user = "nobody",
      close_fds = { 7, 3, 7 } }).close_fds)
  end)

  it("accepts root only with allow_root", function()
    local p = confine.policy({ user = 0, group = 0, allow_root = true,
      caps = { "setuid" } })
    assert.are.equal(0, p.user)
    assert.are.same({ "cap_setuid" }, p.caps)
  end)

  it("refuses every capability that gives root back or leaves a jail, "
    .. "naming it and why, unless allow_root", function()
    local names = {}
    for name in pairs(policy.ROOT_CAPS) do names[#names + 1] = name end
    table.sort(names)
    assert.is_true(#names >= 21)
    for _, name in ipairs(names) do
      assert.are.equal(("confine: policy.caps[1]: %q %s; set allow_root = "
        .. "true to keep it"):format(name, policy.ROOT_CAPS[name]),
        refusal({ user = "nobody", caps = { name } }))
      assert.are.same({ name }, confine.policy({ user = "nobody",
        allow_root = true, caps = { name } }).caps)
    end
  end)

  it("keeps no_new_privs off only with allow_root", function()
    assert.is_false(confine.policy({ user = "nobody", allow_root = true,
      no_new_privs = false }).no_new_privs)
  end)

  it("keeps the controlling terminal only with allow_root", function()
    assert.is_false(confine.policy({ user = "nobody", allow_root = true,
      detach_tty = false }).detach_tty)
  end)

  it("accepts its own output", function()
    local p = confine.policy({ user = "nobody", chroot = "/srv",
      caps = { "net_raw" }, securebits = { "noroot_locked" },
      groups = { "nogroup", 4 }, preload = { "socket.core" },
      close_fds = { 4 } })
    assert.are.same(p, confine.policy(p))
  end)

  it("reads the table raw: a metatable cannot add or hide fields", function()
    local t = setmetatable({ user = "nobody" }, {
      __index = function() return "nobody" end,
      __pairs = function() return next, {} end,
    })
    assert.are.equal(nil, confine.policy(t).group)
    local bad = setmetatable({ user = "nobody", usr = 1 }, {
      __pairs = function() return next, { user = "nobody" } end })
    assert.matches("unknown field", refusal(bad), 1, true)
  end)

  it("never changes the caller's table", function()
    local caps = { "net_raw", "net_raw" }
    local t = { user = "nobody", caps = caps }
    confine.policy(t)
    assert.are.same({ user = "nobody", caps = { "net_raw", "net_raw" } }, t)
  end)
end)
