--- confine.core as a module: its names, its version, no globals.

local h = require("spec.helper")
local core = require("confine.core")

local FUNCTIONS = {
  "getresuid", "getresgid", "setresuid", "setresgid", "setuid", "setgid",
  "getgroups", "setgroups", "getpwnam", "getpwuid", "getgrnam", "getgrgid",
  "getgrouplist", "chroot", "chdir", "fchdir", "getcwd", "opendir_nofollow",
  "stat", "lstat", "readlink", "read_file", "umask", "fds", "close_fds",
  "thread_count", "getpid", "getsid", "_exit", "has_ctty", "detach_tty",
  "tzset", "caps_get", "caps_new", "caps_from_text", "caps_get_file",
  "cap_value", "cap_name", "cap_last", "cap_bits",
  "bound_get", "bound_drop",
  "ambient_get", "ambient_raise", "ambient_lower", "ambient_clear",
  "get_keepcaps", "set_keepcaps", "get_no_new_privs", "set_no_new_privs",
  "get_securebits", "set_securebits", "execv", "execvp",
  "limit_memory", "limit_memory_hit", "limit_cpu",
}


describe("confine.core", function()

  describe("the module", function()
    it("has every function of the contract and nothing unexpected",
      function()
        local want = {}
        for _, name in ipairs(FUNCTIONS) do
          assert.is_function(core[name], name)
          want[name] = true
        end
        for name, v in pairs(core) do
          if type(v) == "function" then
            assert.is_true(want[name], "unexpected function " .. name)
          end
        end
      end)

    it("has a version string", function()
      assert.is_string(core.version)
      assert.matches("^%d+%.%d+%.%d+$", core.version)
    end)

    it("sets no global when loaded", function()
      local res = h.child([[
        local before = {}
        for k in pairs(_G) do before[k] = true end
        local core = require("confine.core")
        local added = {}
        for k in pairs(_G) do
          if not before[k] then added[#added + 1] = tostring(k) end
        end
        return { added = added, t = type(core) }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({ added = {}, t = "table" }, res.result)
    end)

    it("names its userdata in type errors", function()
      local ok, err = pcall(core.caps_new().get, {}, "permitted", 1)
      assert.is_false(ok)
      assert.matches("confine.caps expected", err, 1, true)
      assert.equals("confine.caps", getmetatable(core.caps_new()).__name)
    end)
  end)
end)
