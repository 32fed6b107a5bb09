local h = require("spec.helper")
package.path = h.root .. "/lua/?.lua;" .. package.path
package.cpath = h.build .. "/?.so;" .. package.cpath

local confine = require("confine")
local format = string.format

local sh = h.sh

local function write(path, text, mode)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then assert(os.execute(("chmod %s %s"):format(mode,
    h.shell_quote(path)))) end
  return path
end

local function refusal(path)
  local ok, err = pcall(confine.load, path)
  if ok then return nil end
  return err
end


describe("confine.load()", function()
  local dir
  before_each(function()
    dir = sh("mktemp -d /tmp/confine-load.XXXXXX")
    assert(dir:find("^/tmp/confine%-load%."))
    assert(os.execute("chmod 755 " .. h.shell_quote(dir)))
  end)
  after_each(function()
    os.execute("rm -rf " .. h.shell_quote(dir))
  end)


  it("returns the table a safe file computes", function()
    local p = write(dir .. "/p.lua", [[
      local base = 60000
      return { user = "nobody", group = base + 5534,
        caps = { ("net_%s_service"):format("bind") },
        preload = { string.rep("x", 2) }, chdir = os.getenv("NOPE") }
    ]], "644")
    assert.are.same({ user = "nobody", group = 65534,
      caps = { "net_bind_service" }, preload = { "xx" } }, confine.load(p))
  end)

  it("takes a path relative to the working directory", function()
    write(dir .. "/p.lua", "return { user = 'nobody' }", "600")
    local r = h.child(([[
      require("confine.core").chdir(%q)
      return require("confine").load("p.lua")
    ]]):format(dir))
    assert.are.same({ user = "nobody" }, r.result)
  end)

  it("skips a #! first line and keeps line numbers", function()
    local p = write(dir .. "/p.lua", "#!/usr/bin/env confine\n\n"
      .. "error('late')\n", "644")
    assert.are.equal("confine: " .. p .. ":3: late", refusal(p))
  end)


  describe("runs the file in a fresh environment", function()
    for _, name in ipairs({ "io", "require", "load", "loadfile", "dofile",
      "getmetatable", "setmetatable", "rawset", "collectgarbage", "print",
      "debug", "package", "module", "loadstring", "setfenv" }) do
      it("without " .. name, function()
        local p = write(dir .. "/p.lua", "return { v = " .. name .. " }",
          "644")
        assert.are.same({}, confine.load(p))
      end)
    end

    it("with only os.getenv from os", function()
      local p = write(dir .. "/p.lua", [[
        local t = {}
        for k in pairs(os) do t[#t + 1] = k end
        return t
      ]], "644")
      assert.are.same({ "getenv" }, confine.load(p))
    end)

    it("whose changes to string, table, math and _G stay inside",
      function()
      local p = write(dir .. "/p.lua", [[
        string.upper = nil
        table.concat = nil
        math.floor = nil
        _G.tostring = nil
        leaked = true
        return {}
      ]], "644")
      confine.load(p)
      assert.are.equal("function", type(string.upper))
      assert.are.equal("function", type(table.concat))
      assert.are.equal("function", type(math.floor))
      assert.are.equal("function", type(tostring))
      assert.are.equal(nil, rawget(_G, "leaked"))
    end)

    it("where the string metatable is out of reach", function()
      local p = write(dir .. "/p.lua", [[
        local ok = pcall(function() ("").upper = 1 end)
        return { ok = ok, dump = string.dump }
      ]], "644")
      assert.are.same({ ok = false }, confine.load(p))
    end)

    it("where (\"\").dump reaches no string.dump", function()
      local p = write(dir .. "/p.lua", [[
        local s = ""
        return { dump = s.dump, via = ("x").dump, up = ("a"):upper(),
          rep = ("ab"):rep(2) }
      ]], "644")
      assert.are.same({ up = "A", rep = "abab" }, confine.load(p))
      -- the caller's strings have their methods back, after a success
      -- and after a file that raises
      assert.are.equal(string.dump, ("").dump)
      p = write(dir .. "/q.lua", "local d = ('').dump\nerror(d and 'leaked'"
        .. " or 'none')\n", "644")
      assert.are.equal("confine: " .. p .. ":2: none", refusal(p))
      assert.are.equal(string.dump, ("").dump)
      assert.are.equal(string.upper, getmetatable("").__index.upper)
    end)

    it("where xpcall's handler is stopped by the budget too", function()
      -- A child with a time limit: before the fix this hung for good.
      local p = write(dir .. "/p.lua", "local ok = xpcall(function() "
        .. "while true do end end,\n  function() while true do end end)\n"
        .. "return { ok = ok }\n", "644")
      local r = h.child(format([[
        local ok, err = pcall(require("confine").load, %q)
        return { ok = ok, err = err }
      ]], p), { prefix = "timeout -k 5 60" })
      assert.are.equal(0, r.code)
      assert.are.same({ ok = false, err = "confine: " .. p .. ":3: runs too"
        .. " long (more than 100000000 Lua instructions)" }, r.result)
    end)

    it("with xpcall that returns the handler's value", function()
      local p = write(dir .. "/p.lua", [[
        local a, b = xpcall(function() error("x", 0) end,
          function(m) return m .. "!" end)
        local c, d, e = xpcall(function() return 1, 2 end, error)
        local f, g = xpcall(function() error("y", 0) end,
          function() error("z", 0) end)
        return { a, b, c, d, e, f, g }
      ]], "644")
      assert.are.same({ false, "x!", true, 1, 2, false, "z" },
        confine.load(p))
    end)
  end)


  describe("refuses with one clean line", function()
    it("a world-writable file", function()
      local p = write(dir .. "/p.lua", "return {}", "666")
      assert.are.equal("confine: " .. p .. ": is unsafe: it is writable by "
        .. "group or others (mode 0666)", refusal(p))
    end)

    it("a group-writable file", function()
      local p = write(dir .. "/p.lua", "return {}", "664")
      assert.are.equal("confine: " .. p .. ": is unsafe: it is writable by "
        .. "group or others (mode 0664)", refusal(p))
    end)

    h.it_root("a file owned by another user", function()
      local p = write(dir .. "/p.lua", "return {}", "644")
      assert(os.execute("chown 65534 " .. h.shell_quote(p)))
      assert.are.equal("confine: " .. p .. ": is unsafe: it is owned by uid "
        .. "65534 (not root or uid 0)", refusal(p))
    end)

    h.it_root("a file in a directory another user owns", function()
      assert(os.execute("mkdir " .. h.shell_quote(dir .. "/d")
        .. " && chown 65534 " .. h.shell_quote(dir .. "/d")))
      local p = write(dir .. "/d/p.lua", "return {}", "644")
      assert.are.equal("confine: " .. p .. ": is unsafe: the directory \""
        .. dir .. "/d\" is owned by uid 65534 (not root or uid 0)",
        refusal(p))
    end)

    it("a file in a world-writable directory without the sticky bit",
      function()
      assert(os.execute("mkdir -m 777 " .. h.shell_quote(dir .. "/d")))
      local p = write(dir .. "/d/p.lua", "return {}", "644")
      assert.are.equal("confine: " .. p .. ": is unsafe: the directory \""
        .. dir .. "/d\" is writable by group or others (mode 0777)",
        refusal(p))
    end)

    it("a symbolic link", function()
      write(dir .. "/p.lua", "return {}", "644")
      assert(os.execute("ln -s p.lua " .. h.shell_quote(dir .. "/l.lua")))
      assert.are.equal("confine: " .. dir .. "/l.lua: is not a regular file "
        .. "(it is a link)", refusal(dir .. "/l.lua"))
    end)

    it("a directory", function()
      assert.are.equal("confine: " .. dir .. ": is not a regular file (it "
        .. "is a directory)", refusal(dir))
    end)

    it("a missing file", function()
      assert.are.equal("confine: " .. dir .. "/none.lua: cannot be read "
        .. "(lstat " .. dir .. "/none.lua: No such file or directory)",
        refusal(dir .. "/none.lua"))
    end)

    it("a file that does not parse, naming the line", function()
      local p = write(dir .. "/p.lua", "return {\n  user = ,\n}\n", "644")
      assert.are.equal("confine: " .. p .. ":2: unexpected symbol near ','",
        refusal(p))
    end)

    it("a file that raises, naming the line", function()
      local p = write(dir .. "/p.lua", "local x = 1\nerror('no policy "
        .. "today')\n", "644")
      assert.are.equal("confine: " .. p .. ":2: no policy today",
        refusal(p))
    end)

    it("a file that calls what it may not, naming the line", function()
      local p = write(dir .. "/p.lua", "\n\nos.execute('id')\n", "644")
      local err = refusal(p)
      -- the wording is the runtime's (LuaJIT says it differently)
      assert.truthy(err:find("confine: " .. p .. ":3: attempt to call ", 1,
        true) and err:find("execute", 1, true), err)
    end)

    it("a file that raises a table or a multi-line message", function()
      local p = write(dir .. "/p.lua", "error({})", "644")
      assert.are.equal("confine: " .. p .. ": raised a table", refusal(p))
      p = write(dir .. "/q.lua", "error('a\\nb\\0c', 0)", "644")
      -- (Lua 5.1's string.format stops at the NUL byte)
      local err = refusal(p)
      assert.truthy(err == "confine: " .. p .. ": a b?c"
        or err == "confine: " .. p .. ": a b", err)
    end)

    it("a file that returns something other than a table", function()
      local p = write(dir .. "/p.lua", "return 'nobody'", "644")
      assert.are.equal("confine: " .. p .. ": returned \"nobody\", not a "
        .. "policy table", refusal(p))
      p = write(dir .. "/q.lua", "", "644")
      assert.are.equal("confine: " .. p .. ": returned nil, not a policy "
        .. "table", refusal(p))
    end)

    it("a file that loops forever, even inside pcall", function()
      local p = write(dir .. "/p.lua", "local n = 0\nwhile true do n = n + 1 "
        .. "end\n", "644")
      assert.are.equal("confine: " .. p .. ":2: runs too long (more than "
        .. "100000000 Lua instructions)", refusal(p))
      p = write(dir .. "/q.lua", "while true do\n  pcall(function() while "
        .. "true do end end)\nend\n", "644")
      assert.truthy(refusal(p):find("runs too long", 1, true))
      assert.are.equal(nil, debug.gethook())
    end)

    it("a file that takes more than 64 MiB", function()
      -- In a child: the host's own state plays no part.
      local files = {}
      for i, text in ipairs({ "local s = ('x'):rep(1e9)\nreturn {}\n",
        "local s = 'x'\nwhile true do s = s .. s end\n",
        "while true do pcall(string.rep, 'x', 1e9) end\n",
        "local t = {}\nfor i = 1, 1e8 do t[i] = i end\n" }) do
        files[i] = write(dir .. "/p" .. i .. ".lua", text, "644")
      end
      local r = h.child(format([[
        local core, load = require("confine.core"), require("confine").load
        local out = {}
        for i, p in ipairs(%s) do
          local ok, err = pcall(load, p)
          -- the state's own allocator is back
          out[i] = { ok = ok, err = err, armed = core.limit_memory(nil),
            big = #string.rep("x", 1e8) }
        end
        return out
      ]], h.serialise(files)), { prefix = "timeout -k 5 60" })
      assert.are.equal(0, r.code)
      for i, p in ipairs(files) do
        assert.are.same({ ok = false, err = "confine: " .. p .. ": uses too"
          .. " much memory (more than 64 MiB)", armed = false, big = 1e8 },
          r.result[i])
      end
    end)

    it("precompiled bytecode", function()
      local p = dir .. "/p.luac"
      write(p, string.dump(function() return {} end), "644")
      assert.are.equal("confine: " .. p .. ": is precompiled bytecode; only "
        .. "source is accepted", refusal(p))
    end)

    it("a path that is not a string", function()
      assert.are.equal("confine: load: 42 is not a path", refusal(42))
      assert.are.equal("confine: load: \"a\\0b\" is not a path",
        refusal("a\0b"))
    end)
  end)


  h.it_root("accepts a file owned by the caller after a drop", function()
    local p = write(dir .. "/p.lua", "return { user = 'me' }", "644")
    assert(os.execute("chown 65534 " .. h.shell_quote(p)))
    local r = h.child(([[
      local confine = require("confine")
      confine.apply({ user = "nobody" })
      return confine.load(%q)
    ]]):format(p))
    assert.are.same({ user = "me" }, r.result, r.stderr)
  end)
end)
