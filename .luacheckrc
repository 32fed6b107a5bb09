-- luacheck configuration for confine: `luacheck lua bin/confine spec bench
-- examples` from the top of the checkout.
--
-- The code runs unchanged on Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT, so the
-- base is "min", the globals all five share.  The few names one runtime
-- has and another lacks are allowed for reading only; every use of them
-- must be guarded (`table.unpack or unpack`, `if setfenv then`).

stds.confine_compat = {
  read_globals = {
    "unpack", "loadstring", "setfenv", "utf8", "jit",
    table = { fields = { "unpack" } },
    math = { fields = { "type", "tointeger", "maxinteger", "mininteger" } },
  },
}

std = "min+confine_compat"
max_line_length = 79
codes = true

-- bin/confine has no .lua suffix; name it so `luacheck .` finds it too.
include_files = { "**/*.lua", "bin/confine", "**/*.rockspec",
  ".luacheckrc" }
exclude_files = { "build*/**", "tree*/**", "doc/api/**", "lua_modules/**",
  ".luarocks/**" }

files["spec/**/*.lua"] = { std = "min+confine_compat+busted" }
files[".luacheckrc"] = { std = "+luacheckrc" }
files["**/*.rockspec"] = { std = "+rockspec" }
