-- confine: give up root the safe way, from Lua.
--
--   luarocks --lua-version 5.4 --tree /tmp/x make \
--     rockspec/confine-scm-1.rockspec
--
-- `make` builds the checkout it is run in; nothing is downloaded.
-- scripts/rocks-check proves it for every Lua, LuaJIT included
-- (`--lua-version 5.1` with LUA=/usr/bin/luajit and LuaJIT's LUA_INCDIR).
--
-- CMake's install puts the manual page in the rock's own directory, which
-- `luarocks remove` takes away again:
--   man -l "$(luarocks show --rock-dir confine)/share/man/man1/confine.1"

rockspec_format = "3.0"
package = "confine"
version = "scm-1"

source = {
  url = "git+file:///work/main",
  branch = "main",
}

description = {
  summary = "Drop root privileges in the one safe order, and prove it",
  detailed = [[
confine resolves names, sheds supplementary groups, enters a chroot jail
without a gap between check and use, switches gid and uid for good, keeps
only the Linux capabilities it names, locks the door behind it and checks
that the door is locked.  A C core (confine.core, libcap) and a Lua layer
(confine), and a launcher (the confine program, with the Lua modules
compiled in).
]],
  license = "MIT",
  homepage = "file:///work/main",
  labels = { "security", "linux", "capabilities", "chroot" },
}

supported_platforms = { "linux" }

dependencies = {
  "lua >= 5.1, < 5.5",
}

external_dependencies = {
  LIBCAP = {
    header = "sys/capability.h",
    library = "cap",
  },
}

build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CONFINE_LUA_VERSION = "auto",
    CONFINE_BUILD_TESTS = "OFF",
    CONFINE_ROCKS_PREFIX = "$(PREFIX)",
    LUA = "$(LUA)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA_LIBDIR = "$(LUA_LIBDIR)",
    LUADIR = "$(LUADIR)",
    LIBDIR = "$(LIBDIR)",
    BINDIR = "$(BINDIR)",
    LIBCAP_INCDIR = "$(LIBCAP_INCDIR)",
    LIBCAP_LIBDIR = "$(LIBCAP_LIBDIR)",
  },
}

deploy = {
  -- The launcher is a program carrying its modules (or, without the Lua
  -- library, bin/confine with its own INSTALLED_PATHS, written by CMake's
  -- install): LuaRocks' wrapper script is not needed.
  wrap_bin_scripts = false,
}
