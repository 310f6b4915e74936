#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "report/console_reporter.h"
#include "report/reporter.h"
#include "util/redact.h"
#include "util/strings.h"

namespace planrun {
namespace {

/// The lines of `text` without the final newline.
std::vector<std::string> Lines(const std::string& text) {
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  return Split(text.substr(0, text.size() - 1), '\n');
}

TEST_CASE("RecordingReporter keeps prefixed, redacted lines") {
  ClearSecretsForTesting();
  RegisterSecret("hunter2");
  RecordingReporter r;
  r.Out("plan 001 applied");
  r.Debug("password is hunter2");
  r.Info("connecting to postgresql://app:s3cret@db:5432/prod");
  r.Warn("slow");
  r.Error("host=db password=topsecret failed");
  r.Out("second");
  CHECK(r.lines() == std::vector<std::string>{
                         "out: plan 001 applied", "debug: password is ***",
                         "info: connecting to postgresql://app:***@db:5432/prod", "warn: slow",
                         "error: host=db password=*** failed", "out: second"});
  CHECK(r.out() == "plan 001 applied\nsecond");
  ClearSecretsForTesting();
}

TEST_CASE("RecordingReporter is safe to use from several threads") {
  RecordingReporter r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 250; ++i) r.Info("x");
    });
  }
  for (auto& t : threads) t.join();
  CHECK(r.lines().size() == 1000);
  CHECK(r.out().empty());
}

TEST_CASE("text log lines have a level column and indented continuation lines") {
  std::ostringstream out, err;
  auto r = MakeStreamReporter(LogFormat::kText, Verbosity::kNormal, &out, &err);
  r->Debug("hidden");
  r->Info("applied step backup (120ms)");
  r->Warn("step slow took {} 10s");
  r->Error("relation \"nope\" does not exist\nLINE 1: SELECT * FROM nope\n                      ^");
  r->Out("version  state");
  CHECK(err.str() ==
        "info  applied step backup (120ms)\n"
        "warn  step slow took {} 10s\n"
        "error relation \"nope\" does not exist\n"
        "      LINE 1: SELECT * FROM nope\n"
        "                            ^\n");
  CHECK(out.str() == "version  state\n");
}

TEST_CASE("verbosity filters log lines but never Out") {
  std::ostringstream out, err;
  auto quiet = MakeStreamReporter(LogFormat::kText, Verbosity::kQuiet, &out, &err);
  quiet->Debug("d");
  quiet->Info("i");
  quiet->Warn("w");
  quiet->Error("e");
  quiet->Out("result");
  CHECK(err.str() == "warn  w\nerror e\n");
  CHECK(out.str() == "result\n");

  std::ostringstream out2, err2;
  auto verbose = MakeStreamReporter(LogFormat::kText, Verbosity::kVerbose, &out2, &err2);
  verbose->Debug("d");
  verbose->Info("i");
  CHECK(err2.str() == "debug d\ninfo  i\n");
}

TEST_CASE("console reporter redacts logs and Out") {
  ClearSecretsForTesting();
  RegisterSecret("hunter2");
  std::ostringstream out, err;
  auto r = MakeStreamReporter(LogFormat::kText, Verbosity::kNormal, &out, &err);
  r->Info("using postgresql://u:pw123@h/db");
  r->Out("token hunter2");
  CHECK(err.str() == "info  using postgresql://u:***@h/db\n");
  CHECK(out.str() == "token ***\n");
  ClearSecretsForTesting();
}

TEST_CASE("json log lines are one parseable object each") {
  std::ostringstream out, err;
  auto r = MakeStreamReporter(LogFormat::kJson, Verbosity::kNormal, &out, &err);
  r->Debug("hidden");
  r->Info("applied \"step\" a\tb");
  r->Warn("two\nlines \\ and {}");
  r->Error("bad byte \xff here");
  r->Out("{\"plans\":[]}");
  CHECK(out.str() == "{\"plans\":[]}\n");

  std::vector<std::string> lines = Lines(err.str());
  REQUIRE(lines.size() == 3);
  const std::regex ts(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  const std::vector<std::pair<std::string, std::string>> want = {
      {"info", "applied \"step\" a\tb"},
      {"warn", "two\nlines \\ and {}"},
      {"error", "bad byte \xEF\xBF\xBD here"},
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(StartsWith(lines[i], "{\"ts\":\""));
    nlohmann::json j = nlohmann::json::parse(lines[i]);
    CHECK(j.size() == 3);
    CHECK(std::regex_match(j["ts"].get<std::string>(), ts));
    CHECK(j["level"] == want[i].first);
    CHECK(j["msg"] == want[i].second);
  }
}

TEST_CASE("JsonLogLine formats the time in UTC with milliseconds") {
  auto ts = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795291262123));
  CHECK(JsonLogLine(ts, "warn", "a \"b\"\n") ==
        R"({"ts":"2026-11-21T20:01:02.123Z","level":"warn","msg":"a \"b\"\n"})");
}

}  // namespace
}  // namespace planrun
