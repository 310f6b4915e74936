#include "support.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace planrun {
namespace testing {

namespace {
std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

std::string SourceDir() { return Env("PLANRUN_SOURCE_DIR", "."); }

std::string PlanrunBinary() { return Env("PLANRUN_BINARY", "planrun"); }

std::unique_ptr<pg::Session> Connect(const std::string& conninfo) {
  std::unique_ptr<pg::Session> s;
  pg::ConnectOptions options;
  options.conninfo = conninfo;
  options.application_name = "planrun-test";
  Status st = pg::Connect(options, &s);
  INFO(st.message());
  REQUIRE(st.ok());
  return s;
}

std::string FreshDatabase(const std::string& name) {
  auto admin = Connect("dbname=postgres");
  Status st = admin->Exec("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
  INFO(st.message());
  REQUIRE(st.ok());
  st = admin->Exec("CREATE DATABASE \"" + name + "\"");
  INFO(st.message());
  REQUIRE(st.ok());
  return "dbname=" + name;
}

std::string QueryValue(const std::string& conninfo, const std::string& sql) {
  auto s = Connect(conninfo);
  pg::Result r;
  Status st = s->Exec(sql, &r);
  INFO(sql << ": " << st.message());
  REQUIRE(st.ok());
  if (r.rows.empty() || r.rows[0].empty() || !r.rows[0][0]) return "<null>";
  return *r.rows[0][0];
}

void ExecSql(const std::string& conninfo, const std::string& sql) {
  auto s = Connect(conninfo);
  Status st = s->Exec(sql);
  INFO(sql << ": " << st.message());
  REQUIRE(st.ok());
}

std::string TableChecksums(const std::string& conninfo,
                           const std::vector<std::string>& skip_schemas) {
  auto s = Connect(conninfo);
  std::string skip = "'pg_catalog','information_schema','pg_toast'";
  for (const auto& sc : skip_schemas) skip += ",'" + sc + "'";
  pg::Result tables;
  Status st = s->Exec(
      "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND "
      "c.relpersistence <> 't' AND n.nspname NOT IN (" +
          skip + ") ORDER BY 1",
      &tables);
  REQUIRE(st.ok());
  std::string out;
  for (const auto& row : tables.rows) {
    const std::string& t = *row[0];
    pg::Result r;
    st = s->Exec(
        "SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) "
        "FROM " +
            t + " x",
        &r);
    INFO(st.message());
    REQUIRE(st.ok());
    out += t + " " + r.get(0, 0) + " " + r.get(0, 1) + "\n";
  }
  return out;
}

std::string SchemaDump(const std::string& dbname, const std::vector<std::string>& skip_schemas) {
  std::vector<std::string> argv = {
      "pg_dump", "--schema-only", "--no-owner", "--no-privileges", "--no-comments", "-d", dbname};
  for (const auto& sc : skip_schemas) argv.push_back("--exclude-schema=" + sc);
  CommandResult r = Run(argv);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // pg_dump (15.14 and later) brackets the dump with a random \restrict key.
  std::string out;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t end = r.out.find('\n', pos);
    if (end == std::string::npos) end = r.out.size();
    std::string line = r.out.substr(pos, end - pos);
    if (line.rfind("\\restrict ", 0) != 0 && line.rfind("\\unrestrict ", 0) != 0) {
      out += line + "\n";
    }
    pos = end + 1;
  }
  return out;
}

CommandResult Run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env, const std::string& cwd) {
  int out_pipe[2], err_pipe[2];
  // Close-on-exec: a child that another thread forks meanwhile (or a server
  // the command starts) must not keep these pipes open.
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult result;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? result.out : result.err).append(buf, n);
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult Planrun(const std::string& dbname, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {PlanrunBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> e = env;
  e["PGDATABASE"] = dbname;
  return Run(argv, e);
}

std::string TempDir(const std::string& prefix) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(rd() % 1000000));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

}  // namespace testing
}  // namespace planrun
