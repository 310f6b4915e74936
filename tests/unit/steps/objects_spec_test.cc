#include "steps/objects_spec.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "step_harness.h"
#include "steps/objects_step.h"

namespace planrun {
namespace testing {
namespace {

/// The first line of a parse error ("plan.yaml:3:5: error: ...").
std::string FirstLine(const Status& st) { return st.message().substr(0, st.message().find('\n')); }

Status ParseSpec(const std::string& yaml, ObjectsSpec* spec) {
  std::unique_ptr<Step> unused;
  return ParseBody([spec](const Node& body, const StepParseContext& ctx,
                          std::unique_ptr<Step>*) { return ParseObjectsSpec(body, ctx, spec); },
                   yaml, &unused);
}

const char kBase[] =
    "from: {table: custom_design, key: id, where: \"storage_url IS NULL\"}\n"
    "url: image_url\n"
    "to: {store: http, base_url: env:STORAGE_URL, key: \"designs/{id}.{ext}\", headers: "
    "{Authorization: \"Bearer ${env:KEY}\"}}\n"
    "set: {storage_url: \"{url}\", digest: \"{sha256}\", owner_copy: \"{owner}\"}\n";

TEST_CASE("templates split into literals and names, and expand") {
  Template t;
  std::string error;
  REQUIRE(ParseTemplate("designs/{id}.{ext}", &t, &error));
  CHECK(t.parts == std::vector<std::string>{"designs/", "id", ".", "ext", ""});
  CHECK(t.Names() == std::vector<std::string>{"id", "ext"});
  std::string out, missing;
  CHECK(t.Expand({{"id", "7"}, {"ext", "png"}}, &out, &missing));
  CHECK(out == "designs/7.png");
  CHECK_FALSE(t.Expand({{"id", "7"}}, &out, &missing));
  CHECK(missing == "ext");
  CHECK_FALSE(ParseTemplate("a{b", &t, &error));
  CHECK(error == "'{' without '}' at offset 1");
  CHECK_FALSE(ParseTemplate("a}b", &t, &error));
  CHECK(error == "'}' without '{' at offset 1");
  CHECK_FALSE(ParseTemplate("{a b}", &t, &error));
  CHECK(error == "'{a b}' is not a column or field name");
}

TEST_CASE("env: and ${env:} expand; an unset variable is named") {
  setenv("PLANRUN_T_A", "alpha", 1);
  unsetenv("PLANRUN_T_UNSET");
  std::string out;
  std::vector<std::string> secrets;
  REQUIRE(ExpandEnv("env:PLANRUN_T_A", "x", &out, &secrets).ok());
  CHECK(out == "alpha");
  REQUIRE(ExpandEnv("Bearer ${env:PLANRUN_T_A}/${env:PLANRUN_T_A}!", "x", &out, &secrets).ok());
  CHECK(out == "Bearer alpha/alpha!");
  CHECK(secrets == std::vector<std::string>{"alpha", "alpha", "alpha"});
  REQUIRE(ExpandEnv("plain", "x", &out).ok());
  CHECK(out == "plain");
  Status st = ExpandEnv("${env:PLANRUN_T_UNSET}", "objects step s1: header 'Authorization'", &out);
  CHECK(st.message() ==
        "objects step s1: header 'Authorization' reads the environment variable "
        "PLANRUN_T_UNSET, which is not set");
}

TEST_CASE("sizes read as plans write them") {
  int64_t n = 0;
  CHECK((ParseSize("50MB", &n) && n == 50000000));
  CHECK((ParseSize("512KiB", &n) && n == 524288));
  CHECK((ParseSize("2 gib", &n) && n == 2147483648));
  CHECK((ParseSize("1000", &n) && n == 1000));
  CHECK_FALSE(ParseSize("MB", &n));
  CHECK_FALSE(ParseSize("5 parsecs", &n));
  CHECK_FALSE(ParseSize("-1", &n));
}

TEST_CASE("an objects step parses with its defaults and the columns it reads") {
  ObjectsSpec spec;
  Status st = ParseSpec(kBase, &spec);
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(spec.table.Key() == "public.custom_design");
  CHECK(spec.where == "storage_url IS NULL");
  CHECK(spec.store.kind == "http");
  CHECK(spec.store.method == "PUT");
  CHECK(spec.store.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer ${env:KEY}"}});
  CHECK(spec.concurrency == 8);
  CHECK(spec.retries == 5);
  CHECK(spec.settings.batch_size == 100);
  CHECK(spec.max_bytes == 0);
  CHECK_FALSE(spec.delete_on_rollback);
  // Key, url, then template columns; sha256, url and ext are the step's own fields.
  CHECK(spec.ReadColumns() == std::vector<std::string>{"id", "image_url", "owner"});
}

TEST_CASE("objects step settings are checked where they are written") {
  ObjectsSpec spec;
  CHECK(FirstLine(ParseSpec(std::string(kBase) + "concurrency: 0\n", &spec)) ==
        "plan.yaml:5:14: error: 'concurrency' must be from 1 to 256, got 0");
  CHECK(FirstLine(ParseSpec(std::string(kBase) + "max_bytes: lots\n", &spec)) ==
        "plan.yaml:5:12: error: 'max_bytes' must be a size like 50MB, got 'lots'");
  CHECK(FirstLine(ParseSpec(std::string(kBase) + "retries: 50\n", &spec)) ==
        "plan.yaml:5:10: error: 'retries' must be from 0 to 20, got 50");
  CHECK(FirstLine(
            ParseSpec("from: {table: t, key: id}\nurl: u\nto: {store: ftp, key: k}\n", &spec)) ==
        "plan.yaml:3:13: error: 'store' must be http, s3 or dir, got 'ftp'");
  CHECK(FirstLine(ParseSpec("from: {table: t, key: id}\nurl: u\nto: {store: dir, key: k}\n",
                            &spec)) == "plan.yaml:3:5: error: objects step 'to' needs 'path'");
  CHECK(FirstLine(ParseSpec(
            "from: {table: t, key: id}\nurl: u\nto: {store: dir, path: /x, key: \"{url}\"}\n",
            &spec)) ==
        "plan.yaml:3:33: error: 'key' cannot use {url}: it is known only after upload");
  CHECK(FirstLine(ParseSpec("from: {table: t, key: id}\nurl: u\nto: {store: dir, path: /x, key: "
                            "k, base_url: y}\n",
                            &spec))
            .find("error: unknown key 'base_url' in objects step 'to'") != std::string::npos);
  CHECK(FirstLine(ParseSpec("from: {table: t, key: id}\nurl: u\nto: {store: dir, path: /x, key: "
                            "k}\nset: {id: \"{sha256}\"}\n",
                            &spec)) ==
        "plan.yaml:4:7: error: 'set' cannot write the key column 'id'");
  CHECK(FirstLine(ParseSpec("url: u\nto: {store: dir, path: /x, key: k}\n", &spec)) ==
        "plan.yaml:1:1: error: objects step needs 'from', the table whose rows it reads or the "
        "files it uploads");
}

TEST_CASE("from.files_root opts in to file:// sources") {
  ObjectsSpec spec;
  REQUIRE(ParseSpec("from: {table: t, key: id, files_root: env:PKG_DIR}\nurl: u\nto: {store: "
                    "dir, path: /x, key: k}\n",
                    &spec)
              .ok());
  CHECK(spec.files_root == "env:PKG_DIR");
  ObjectsSpec plain;
  REQUIRE(ParseSpec(kBase, &plain).ok());
  CHECK(plain.files_root.empty());
  CHECK(FirstLine(ParseSpec("from: {table: t, key: id, files_root: \"\"}\nurl: u\nto: {store: "
                            "dir, path: /x, key: k}\n",
                            &spec)) == "plan.yaml:1:39: error: 'files_root' must name a folder");
}

const char kFiles[] =
    "from: {files: \"packages/**/*.taptik\", root: env:PACKAGES_DIR}\n"
    "to: {store: s3, bucket: b, key: \"packages/{sha256}.{ext}\"}\n"
    "insert:\n"
    "  table: taptik_packages\n"
    "  key: file_path\n"
    "  columns: {name: \"{json.name}\", file_path: \"{path}\", storage_url: \"{url}\", "
    "modified_at: \"{mtime}\"}\n";

TEST_CASE("a files source reads its glob, root and insert") {
  ObjectsSpec spec;
  Status st = ParseSpec(kFiles, &spec);
  REQUIRE(st.ok());
  CHECK(spec.FromFiles());
  CHECK(spec.files.glob == "packages/**/*.taptik");
  CHECK(spec.files.root == "env:PACKAGES_DIR");
  CHECK(spec.Target().Display() == "taptik_packages");
  CHECK(spec.insert.key == std::vector<std::string>{"file_path"});
  REQUIRE(spec.insert.columns.size() == 4);
  CHECK(spec.insert.columns[0].first == "name");
  CHECK(spec.insert.columns[0].second.Names() == std::vector<std::string>{"json.name"});
  CHECK(&spec.RowTemplates() == &spec.insert.columns);
  CHECK(spec.url_column.empty());
}

TEST_CASE("a files source and a table source do not mix") {
  ObjectsSpec spec;
  CHECK(FirstLine(ParseSpec(std::string(kFiles) + "set: {x: \"{url}\"}\n", &spec)) ==
        "plan.yaml:7:6: error: 'set' updates the rows of a table source; a files source inserts "
        "its rows with 'insert'");
  CHECK(FirstLine(ParseSpec(std::string(kFiles) + "url: u\n", &spec)) ==
        "plan.yaml:7:6: error: 'url' is for a table source; a files source reads each file under "
        "'root'");
  CHECK(FirstLine(ParseSpec(std::string(kBase) + "insert: {table: t, key: id, columns: {id: "
                                                 "\"{path}\"}}\n",
                            &spec)) ==
        "plan.yaml:5:9: error: 'insert' is for a files source; a table source updates its rows "
        "with 'set'");
  CHECK(FirstLine(ParseSpec("from: {files: \"*.x\", root: /r, table: t}\nto: {store: dir, path: "
                            "/x, key: k}\n",
                            &spec)) ==
        "plan.yaml:1:39: error: objects step 'from' has both 'files' and 'table'; read files or a "
        "table, not both");
  CHECK(FirstLine(ParseSpec("from: {files: \"/abs/*.x\", root: /r}\nto: {store: dir, path: /x, "
                            "key: k}\n",
                            &spec)) ==
        "plan.yaml:1:15: error: 'files' glob '/abs/*.x' is absolute; write it relative to 'root'");
  CHECK(FirstLine(ParseSpec("from: {files: \"a/../*.x\", root: /r}\nto: {store: dir, path: /x, "
                            "key: k}\n",
                            &spec)) ==
        "plan.yaml:1:15: error: 'files' glob 'a/../*.x' has an empty, '.' or '..' part; it must "
        "stay inside 'root'");
  CHECK(
      FirstLine(ParseSpec("from: {files: \"*.x\"}\nto: {store: dir, path: /x, key: k}\n", &spec)) ==
      "plan.yaml:1:7: error: objects step 'from' needs 'root', the folder the 'files' glob is "
      "relative to");
  CHECK(FirstLine(ParseSpec("from: {files: \"*.x\", root: /r}\nto: {store: dir, path: /x, key: "
                            "k}\n",
                            &spec)) ==
        "plan.yaml:1:1: error: objects step with a files source needs 'insert', the table its "
        "rows go to");
  CHECK(FirstLine(ParseSpec("from: {files: \"*.x\", root: /r}\nto: {store: dir, path: /x, key: "
                            "k}\ninsert: {table: t, key: id, columns: {path: \"{path}\"}}\n",
                            &spec)) ==
        "plan.yaml:3:25: error: 'insert' key column 'id' is not among 'columns'; each row needs "
        "its key");
  CHECK(FirstLine(ParseSpec("from: {files: \"*.x\", root: /r}\nto: {store: dir, path: /x, key: "
                            "k}\ninsert: {table: t, key: p, columns: {p: \"{id}\"}}\n",
                            &spec)) ==
        "plan.yaml:3:41: error: '{id}' is not a field of a files source; use path, name, size, "
        "sha256, mtime, ext, content_type or json.<field>");
  CHECK(FirstLine(ParseSpec("from: {table: t, key: id}\nurl: u\nto: {store: dir, path: /x, key: "
                            "\"{json.a}\"}\n",
                            &spec)) ==
        "plan.yaml:3:33: error: '{json.a}' is a JSON field of a files source; a table source's "
        "templates name its columns");
  REQUIRE(ParseSpec("from: {table: t, key: id}\nurl: u\nto: {store: dir, path: /x, key: "
                    "\"{json}\"}\n",
                    &spec)
              .ok());  // a column called json
}

TEST_CASE("url: {hook: ...} or {lua: ...} instead of a column; the key template is optional") {
  ObjectsSpec spec;
  const std::string body =
      "from: {table: custom_design, key: id}\n"
      "url:\n  lua: |\n    function transform(row) return {url = row.a or row.b} end\n"
      "to: {store: http, base_url: env:STORAGE_URL}\n"
      "set: {storage_url: \"{url}\", owner_copy: \"{owner}\"}\n";
  const Status st = ParseSpec(body, &spec);
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(spec.url_column.empty());
  REQUIRE(spec.url_hook.present);
  CHECK(spec.url_hook.source.chunk_name == "plan.yaml");
  // Padded so that Lua's line 4 is the plan's line 4.
  CHECK(spec.url_hook.source.code ==
        "\n\n\nfunction transform(row) return {url = row.a or row.b} end\n");
  CHECK(spec.store.key.text.empty());
  // Key, then template columns; the step reads every other column for the hook.
  CHECK(spec.ReadColumns() == std::vector<std::string>{"id", "owner"});
}

TEST_CASE("a url hook written wrong is reported where it is written") {
  auto error = [](const std::string& yaml) {
    ObjectsSpec spec;  // fresh each time: a hook parsed before makes 'key' optional
    return FirstLine(ParseSpec(yaml, &spec));
  };
  const std::string from = "from: {table: t, key: id}\n";
  const std::string to = "to: {store: dir, path: /x, key: k}\n";
  CHECK(error(from + "url: {hook: }\n" + to) ==
        "plan.yaml:2:13: error: 'hook' must be a .lua file path, got null");
  CHECK(error(from + "url: {hook: \"\"}\n" + to) ==
        "plan.yaml:2:13: error: 'hook' must name a .lua file, relative to the plan's directory");
  CHECK(error(from + "url: {hook: hooks/none.lua}\n" + to) ==
        "plan.yaml:2:13: error: cannot read hook file ./hooks/none.lua: No such file or "
        "directory; the path is relative to the plan's directory");
  CHECK(error(from + "url: {column: image_url, hook: a.lua}\n" + to) ==
        "plan.yaml:2:15: error: 'url' is a column name or {hook: file.lua}, not both; write url: "
        "image_url or let the hook read the column");
  CHECK(error(from + "url: {}\n" + to) ==
        "plan.yaml:2:6: error: objects step 'url' needs 'hook', the .lua file giving each row's "
        "source URL (or 'lua', its code inline)");
  CHECK(error(from + "url: {hook: a.lua, lua: \"x\"}\n" + to) ==
        "plan.yaml:2:25: error: objects step 'url' has both 'hook' and 'lua'; give the hook one "
        "way, as a file or inline");
  CHECK(error(from + "url: {hok: a.lua}\n" + to) ==
        "plan.yaml:2:7: error: unknown key 'hok' in objects step 'url'; did you mean 'hook'?");
  CHECK(error(from + "url: [a, b]\n" + to) ==
        "plan.yaml:2:6: error: 'url' must be a column name or {hook: file.lua}, got a list");
  CHECK(error(from + "url: {lua: \"function transform(row) return end end\"}\n" + to) ==
        "hook plan.yaml:2: <eof> expected near 'end'");
  // Without a hook the key template is still required.
  CHECK(error(from + "url: u\nto: {store: dir, path: /x}\n") ==
        "plan.yaml:3:5: error: objects step 'to' needs 'key'");
}

TEST_CASE("the objects step is reversible and owns its transactions") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseObjectsStep, kBase, &step);
  CHECK(step->reversibility() == Reversibility::kReversible);
  CHECK(step->OwnsTransactions());
  CHECK_FALSE(step->RevertTransactional());
  REQUIRE(step->Writes().size() == 1);
  CHECK(step->Writes()[0].Key() == "public.custom_design");
  REQUIRE(step->Reads().size() == 1);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
