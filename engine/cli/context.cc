#include "cli/context.h"

#include "pg/conninfo.h"
#include "plan/loader.h"
#include "steps/builtin.h"

namespace planrun {

Status LoadAllPlans(const Invocation& inv, std::vector<std::unique_ptr<Plan>>* out) {
  auto fs = RealFileSystem();
  return LoadPlans(*fs, inv.global.plans_dir, BuiltinSteps(), out);
}

RunEnv MakeRunEnv(const Invocation& inv, Reporter& out, const std::string& command) {
  RunEnv env;
  pg::ConnectOptions options;
  options.conninfo = pg::ResolveConninfo(inv.global.db);
  env.sessions = pg::MakeSessionFactory(options);
  env.connect = [](const std::string& conninfo, const std::string& app,
                   std::unique_ptr<pg::Session>* out) {
    pg::ConnectOptions o;
    o.conninfo = conninfo;
    o.application_name = app;
    return pg::Connect(o, out);
  };
  env.out = &out;
  env.names.tracking = inv.global.schema;
  env.names.backup = inv.global.schema + "_backup";
  env.actor = CurrentActor();
  env.command = command;
  return env;
}

}  // namespace planrun
