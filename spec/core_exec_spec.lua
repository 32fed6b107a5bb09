--- confine.core: execv and execvp.  Each runs in a child, which it
-- replaces; the spec reads what the new program printed.

local h = require("spec.helper")

local ENOENT, EACCES = 2, 13


local sh = h.sh


describe("confine.core", function()

  describe("execv()", function()
    it("replaces the process with argv[1] as argv[0]", function()
      -- busybox picks its applet by argv[0]
      local res = h.child([[
        local core = require("confine.core")
        core.execv("/bin/busybox", { "echo", "as", "echo" })
        error("not reached")
      ]])
      assert.equals(0, res.code, res.stderr)
      assert.equals("as echo\n", res.stdout)
      res = h.child([[
        local core = require("confine.core")
        core.execv("/bin/sh", { "sh", "-c", 'echo "$0 $1"; exit 7', "a", "b" })
      ]])
      assert.equals(7, res.code)
      assert.equals("a b\n", res.stdout)
    end)

    it("keeps the environment when env is nil, and replaces it when given",
      function()
        local res = h.child([[
          local core = require("confine.core")
          core.execv("/usr/bin/env", { "env" })
        ]], { env = "CONFINE_SPEC_VAR=kept" })
        assert.equals(0, res.code)
        assert.matches("CONFINE_SPEC_VAR=kept", res.stdout, 1, true)
        res = h.child([[
          local core = require("confine.core")
          core.execv("/usr/bin/env", { "env" }, { "A=1", "B=two words" })
        ]], { env = "CONFINE_SPEC_VAR=kept" })
        assert.equals(0, res.code)
        assert.equals("A=1\nB=two words\n", res.stdout)
      end)

    it("returns nil, a message and the errno", function()
      local res = h.child([[
        local core = require("confine.core")
        return { { core.execv("/nonexistent", { "x" }) },
                 { core.execv("/etc/passwd", { "x" }) } }
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.same({
        { nil, "execv /nonexistent: No such file or directory", ENOENT },
        { nil, "execv /etc/passwd: Permission denied", EACCES },
      }, res.result)
    end)

    it("refuses bad arguments before anything runs", function()
      local res = h.child([[
        local core = require("confine.core")
        local cases = {
          { "/bin/true", {} },
          { "/bin/true", nil },
          { "/bin/true", "true" },
          { "/bin/true", { "a", 1 } },
          { "/bin/true", { "a", nil, "c" } },
          { "/bin/true", { "a\0b" } },
          { "/bin/true", { "a" }, { "NOEQUALS" } },
          { "/bin/true", { "a" }, { "=x" } },
          { "/bin/true", { "a" }, "A=1" },
          { "/bin/true", { "a" }, { "A=1", 2 } },
          { 1, { "a" } },
          { "", { "a" } },
        }
        local out = {}
        for i, c in ipairs(cases) do
          local ok, err = pcall(core.execv, c[1], c[2], c[3])
          out[i] = ok and "accepted" or err
        end
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      local want = {
        "#2 .*argv: empty",
        "#2 .*table expected",
        "#2 .*table expected",
        "#2 .*argv%[2%]: expected a string, got 1",
        "#2 .*argv%[2%]: expected a string, got nil",
        "#2 .*argv%[1%]: contains a NUL byte",
        '#3 .*env%[1%]: expected "NAME=value", got string "NOEQUALS"',
        '#3 .*env%[1%]: expected "NAME=value"',
        "#3 .*table expected",
        "#3 .*env%[2%]: expected a string, got 2",
        "#1 .*path: expected a string, got 1",
        "#1 .*path: empty string",
      }
      for i, pattern in ipairs(want) do
        assert.matches("bad argument " .. pattern, res.result[i])
      end
    end)
  end)


  describe("execvp()", function()
    local dir

    setup(function()
      dir = sh("mktemp -d")
      local q = h.shell_quote(dir)
      assert(os.execute("printf '#!/bin/sh\\necho found \"$0\"\\n' > " ..
        q .. "/confine-spec-prog && chmod 755 " .. q ..
        "/confine-spec-prog && printf 'x' > " .. q ..
        "/confine-spec-noexec && chmod 644 " .. q .. "/confine-spec-noexec"))
    end)

    teardown(function()
      os.execute("rm -rf " .. h.shell_quote(dir))
    end)

    it("searches PATH from env when env names one", function()
      local res = h.child([[
        local core = require("confine.core")
        core.execvp("confine-spec-prog", { "p" },
          { "PATH=/nonexistent::" .. os.getenv("DIR") })
      ]], { env = "DIR=" .. dir })
      assert.equals(0, res.code, res.stderr)
      assert.equals("found " .. dir .. "/confine-spec-prog\n", res.stdout)
    end)

    it("searches this process's PATH when env has none", function()
      local res = h.child([[
        local core = require("confine.core")
        core.execvp("confine-spec-prog", { "p" }, { "A=1" })
      ]], { env = "PATH=" .. dir .. ":/usr/bin:/bin" })
      assert.equals(0, res.code, res.stderr)
      assert.equals("found " .. dir .. "/confine-spec-prog\n", res.stdout)
    end)

    it("does not search for a name with a slash", function()
      local res = h.child([[
        local core = require("confine.core")
        return { core.execvp("./confine-spec-prog", { "p" },
          { "PATH=" .. os.getenv("DIR") }) }
      ]], { env = "DIR=" .. dir })
      assert.is_true(res.ok, res.stderr)
      assert.same({ nil, "execvp ./confine-spec-prog: " ..
        "No such file or directory", ENOENT }, res.result)
    end)

    it("returns ENOENT when nothing is found, EACCES when refused",
      function()
        local res = h.child([[
          local core = require("confine.core")
          local env = { "PATH=/nonexistent:" .. os.getenv("DIR") }
          return { { core.execvp("confine-spec-none", { "p" }, env) },
                   { core.execvp("confine-spec-noexec", { "p" }, env) } }
        ]], { env = "DIR=" .. dir })
        assert.is_true(res.ok, res.stderr)
        assert.same({
          { nil, "execvp confine-spec-none: No such file or directory",
            ENOENT },
          { nil, "execvp confine-spec-noexec: Permission denied", EACCES },
        }, res.result)
      end)

    it("refuses bad arguments", function()
      local res = h.child([[
        local core = require("confine.core")
        local out = {}
        for i, c in ipairs({ { "true", {} }, { nil, { "x" } },
                             { "true", { "x" }, { "PATH" } } }) do
          local ok, err = pcall(core.execvp, c[1], c[2], c[3])
          out[i] = ok and "accepted" or err
        end
        return out
      ]])
      assert.is_true(res.ok, res.stderr)
      assert.matches("bad argument #2 .*argv: empty", res.result[1])
      assert.matches("bad argument #1 .*file: expected a string",
        res.result[2])
      assert.matches('bad argument #3 .*env%[1%]: expected "NAME=value"',
        res.result[3])
    end)
  end)
end)
