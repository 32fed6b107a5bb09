# Install bin/confine, the launcher script, where the confine program could
# not be built (CMakeLists.txt sets CONFINE_SCRIPT, CONFINE_SHEBANG,
# CONFINE_LUADIR, CONFINE_LIBDIR and CONFINE_BINDIR just before).
#
# The copy gets the interpreter's #! line and its INSTALLED_PATHS line
# pointing at the installed modules.  Relative directories are under the
# prefix of this install (`cmake --install --prefix`), so they are made
# absolute only now.

foreach(v CONFINE_LUADIR CONFINE_LIBDIR CONFINE_BINDIR)
  if(NOT IS_ABSOLUTE "${${v}}")
    set(${v} "${CMAKE_INSTALL_PREFIX}/${${v}}")
  endif()
endforeach()

# The directories go into a Lua string and a package.path: refuse what
# would end the one or split the other.
foreach(v CONFINE_LUADIR CONFINE_LIBDIR)
  if("${${v}}" MATCHES "[\"\\;?\n]")
    message(FATAL_ERROR "confine: cannot install the launcher script under "
      "${${v}}: a path with \", \\, ;, ? or a newline")
  endif()
endforeach()

set(dest "$ENV{DESTDIR}${CONFINE_BINDIR}/confine")
file(READ "${CONFINE_SCRIPT}" text)

set(marker "local INSTALLED_PATHS = nil -- set by the installer")
string(FIND "${text}" "${marker}" at)
if(at LESS 0)
  message(FATAL_ERROR "bin/confine lacks the line: ${marker}")
endif()
set(line "local INSTALLED_PATHS = { path = \"${CONFINE_LUADIR}/?.lua;")
string(APPEND line "${CONFINE_LUADIR}/?/init.lua\", ")
string(APPEND line "cpath = \"${CONFINE_LIBDIR}/?.so\" }")
string(REPLACE "${marker}" "${line}" text "${text}")

if(NOT CONFINE_SHEBANG STREQUAL "")
  string(REGEX REPLACE "^#![^\n]*" "${CONFINE_SHEBANG}" text "${text}")
endif()

message(STATUS "Installing: ${dest}")
file(MAKE_DIRECTORY "$ENV{DESTDIR}${CONFINE_BINDIR}")
file(WRITE "${dest}" "${text}")
file(CHMOD "${dest}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
  GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
