--- Run confine up to one stage and stop, for bench/run to count
-- instructions with callgrind.
--
-- The cost of a stage is the difference between two runs that stop on
-- either side of it: the interpreter's start-up and exit are in both and
-- cancel out, and nothing is measured twice.
--
-- usage: lua5.4 bench/stage.lua STAGE POLICY
--
-- STAGE is one of
--   none      start the interpreter and stop
--   core      require "confine.core" (the C module and libcap)
--   require   require "confine" (the whole module)
--   load      and confine.load(POLICY)
--   plan      and confine.plan(policy)
--   apply     and confine.apply(policy) instead of plan
--   floor     require "confine.core" and execute /bin/true at once: the
--             least a launcher on this interpreter and core can cost
--   phases    require, load and apply, printing the processor time of
--             each (os.clock) and of each phase apply reports through
--             opts.log, one "name<TAB>microseconds" line each
-- A stage that fails raises, and the run is not counted.

local stages = {
  none = 0, core = 1, require = 2, load = 3, plan = 4, apply = 5,
}

local stage, path = arg[1], arg[2]
if stage == "floor" then
  local core = require "confine.core"
  error(select(2, core.execv("/bin/true", { "/bin/true" })), 0)
end

if stage == "phases" and path then
  local clock, format = os.clock, string.format
  local times = {}
  local function mark(name, since)
    local now = clock()
    times[#times + 1] = format("%s\t%.1f", name, (now - since) * 1e6)
    return clock()
  end
  local t = clock()
  local confine = require "confine"
  t = mark("require", t)
  local policy = confine.load(path)
  t = mark("load", t)
  assert(confine.apply(policy, { log = function(line)
    t = mark(line:match("^confine: (%a+)") or line, t)
  end }))
  io.write(table.concat(times, "\n"), "\n")
  return
end

local n = stages[stage or ""]
if not n or not path then
  error("usage: stage.lua none|core|require|load|plan|apply|floor POLICY",
    0)
end

if n >= 1 then
  require "confine.core"
end

local confine
if n >= 2 then
  confine = require "confine"
end

local policy
if n >= 3 then
  policy = confine.load(path)
end

if n == 4 then
  assert(confine.plan(policy))
elseif n == 5 then
  assert(confine.apply(policy))
end
