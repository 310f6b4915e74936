// Hostile plan input against a real PostgreSQL. Every identifier field of
// every step kind is tried with names built to break out of quoting (quotes,
// semicolons, spaces, unicode, $$, backslashes): planrun must refuse each at
// parse time (validate and apply exit 2 with one clear message) and leave the
// database exactly as it was. Names that are valid but unusual ($, mixed
// case) must reach SQL as literal identifiers, and values (expect, defaults,
// params, backup directories, the tracking schema) as literal text.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

/// Names that are not plain identifiers, each aimed at a way out of quoting.
const std::vector<std::string> kHostileNames = {
    "canary\"; DROP TABLE canary; --",  // closes a double-quoted identifier
    "it's",                             // closes a string literal
    "a;b",                              // ends the statement
    "two words",                        // a space
    "naïve",                            // non-ASCII
    "back\\slash",                      // a backslash
    "$$body$$",                         // dollar quoting
    "\"quoted\"",                       // an already quoted identifier
    "a.b.c",                            // too many parts for a table
    "x--comment",                       // a comment
};

/// One identifier field: a plan with `@` where the name goes, and the error
/// planrun gives for a bad name there (`{}` stands for the name).
struct IdentifierField {
  const char* label;
  const char* plan;
  const char* message;
  const char* accepted = "";  // a name of kHostileNames that this field takes by design
};

#define PLAN_HEAD "version: 1\nname: sec\nsteps:\n"
#define WITH_CONNECTION "version: 1\nname: sec\nconnections: {legacy: {url: env:LEGACY}}\nsteps:\n"
#define IDENT_RULE ": use letters, digits, _ and $, starting with a letter or _ (at most 63 bytes)"
#define TABLE_RULE                                                                        \
  ": write name or schema.name, each part using letters, digits, _ and $, starting with " \
  "a letter or _ (at most 63 bytes)"
#define HOOK "lua: \"function transform(r) return nil end\""

const IdentifierField kFields[] = {
    {"plan name", "version: 1\nname: @\nsteps:\n  - {id: s, sql: {up: SELECT 1}}\n",
     "invalid identifier '{}' in plan" IDENT_RULE},
    {"params key",
     "version: 1\nname: sec\nparams: {@: x}\nsteps:\n  - {id: s, sql: {up: SELECT 1}}\n",
     "invalid identifier '{}' in params" IDENT_RULE},
    {"connections key",
     "version: 1\nname: sec\nconnections: {@: {url: env:X}}\nsteps:\n  - {id: s, sql: {up: "
     "SELECT 1}}\n",
     "invalid identifier '{}' in connections" IDENT_RULE},
    {"step id", PLAN_HEAD "  - {id: @, sql: {up: SELECT 1}}\n",
     "invalid identifier '{}' in step" IDENT_RULE},
    {"needs",
     PLAN_HEAD "  - {id: s, sql: {up: SELECT 1}}\n  - {id: s2, needs: [@], sql: {up: SELECT 1}}\n",
     "invalid identifier '{}' in step 's2'" IDENT_RULE},
    {"sql reads", PLAN_HEAD "  - {id: s, sql: {up: SELECT 1, reads: [@]}}\n",
     "invalid table name '{}' in sql step" TABLE_RULE},
    {"sql writes", PLAN_HEAD "  - {id: s, sql: {up: SELECT 1, writes: [@]}}\n",
     "invalid table name '{}' in sql step" TABLE_RULE},
    {"add_columns table",
     PLAN_HEAD "  - {id: s, add_columns: {table: @, columns: [{name: c, type: text}]}}\n",
     "invalid table name '{}' in add_columns step" TABLE_RULE},
    {"add_columns column name",
     PLAN_HEAD "  - {id: s, add_columns: {table: t, columns: [{name: @, type: text}]}}\n",
     "invalid identifier '{}' in column in add_columns step" IDENT_RULE},
    {"add_columns type",
     PLAN_HEAD "  - {id: s, add_columns: {table: t, columns: [{name: c, type: @}]}}\n",
     "invalid type '{}' for column 'c': use a type name such as text, numeric(10,2), timestamp "
     "with time zone or text[]",
     "two words"},  // like double precision
    {"add_columns references",
     PLAN_HEAD
     "  - {id: s, add_columns: {table: t, columns: [{name: c, type: int, references: @}]}}\n",
     "invalid reference '{}' for column 'c': use table, table(column) or schema.table(column) "
     "with plain identifiers"},
    {"drop_columns table", PLAN_HEAD "  - {id: s, drop_columns: {table: @, columns: [a]}}\n",
     "invalid table name '{}' in drop_columns step" TABLE_RULE},
    {"drop_columns column", PLAN_HEAD "  - {id: s, drop_columns: {table: t, columns: [@]}}\n",
     "invalid identifier '{}' in drop_columns step" IDENT_RULE},
    {"rename_columns table", PLAN_HEAD "  - {id: s, rename_columns: {table: @, columns: {a: c}}}\n",
     "invalid table name '{}' in rename_columns step" TABLE_RULE},
    {"rename_columns old name",
     PLAN_HEAD "  - {id: s, rename_columns: {table: t, columns: {@: c}}}\n",
     "invalid identifier '{}' in rename_columns step" IDENT_RULE},
    {"rename_columns new name",
     PLAN_HEAD "  - {id: s, rename_columns: {table: t, columns: {a: @}}}\n",
     "invalid identifier '{}' in rename_columns step" IDENT_RULE},
    {"create_index table", PLAN_HEAD "  - {id: s, create_index: {table: @, columns: [a]}}\n",
     "invalid table name '{}' in create_index step" TABLE_RULE},
    {"create_index column", PLAN_HEAD "  - {id: s, create_index: {table: t, columns: [@]}}\n",
     "invalid identifier '{}' in create_index step" IDENT_RULE},
    {"create_index name",
     PLAN_HEAD "  - {id: s, create_index: {table: t, columns: [a], name: @}}\n",
     "invalid identifier '{}' in create_index step" IDENT_RULE},
    {"create_index using",
     PLAN_HEAD "  - {id: s, create_index: {table: t, columns: [a], using: @}}\n",
     "invalid identifier '{}' in create_index step" IDENT_RULE},
    {"backup tables", PLAN_HEAD "  - {id: s, backup: {tables: [@]}}\n",
     "invalid table name '{}' in backup step" TABLE_RULE},
    {"verify reads",
     PLAN_HEAD
     "  - {id: s, verify: {reads: [@], assertions: [{name: n, sql: SELECT 1, expect: 1}]}}\n",
     "invalid table name '{}' in verify step" TABLE_RULE},
    {"copy from table",
     PLAN_HEAD "  - {id: s, copy: {from: {table: @, key: [id]}, to: {table: t}}}\n",
     "invalid table name '{}' in copy 'from'" TABLE_RULE},
    {"copy from key",
     PLAN_HEAD "  - {id: s, copy: {from: {table: t, key: [@]}, to: {table: t2}}}\n",
     "invalid identifier '{}' in copy 'from'" IDENT_RULE},
    {"copy from columns",
     PLAN_HEAD "  - {id: s, copy: {from: {table: t, key: [id], columns: [@]}, to: {table: t2}}}\n",
     "invalid identifier '{}' in copy 'from'" IDENT_RULE},
    {"copy from reads",
     PLAN_HEAD
     "  - {id: s, copy: {from: {query: SELECT 1 AS id, key: [id], reads: [@]}, to: {table: "
     "t2}}}\n",
     "invalid table name '{}' in copy 'from'" TABLE_RULE},
    {"copy from connection",
     WITH_CONNECTION
     "  - {id: s, copy: {from: {table: t, key: [id], connection: @}, to: {table: t2}}}\n",
     "invalid identifier '{}' in copy 'from'" IDENT_RULE},
    {"copy to table",
     PLAN_HEAD "  - {id: s, copy: {from: {table: t, key: [id]}, to: {table: @}}}\n",
     "invalid table name '{}' in copy 'to'" TABLE_RULE},
    {"copy to columns",
     PLAN_HEAD "  - {id: s, copy: {from: {table: t, key: [id]}, to: {table: t2, columns: [@]}}}\n",
     "invalid identifier '{}' in copy 'to'" IDENT_RULE},
    {"copy to conflict_key",
     PLAN_HEAD
     "  - {id: s, copy: {from: {table: t, key: [id]}, to: {table: t2, on_conflict: update, "
     "columns: [a], conflict_key: [@]}}}\n",
     "invalid identifier '{}' in copy 'to'" IDENT_RULE},
    {"copy map key",
     PLAN_HEAD "  - {id: s, copy: {from: {table: t, key: [id]}, to: {table: t2}, map: {@: id}}}\n",
     "invalid identifier '{}' in map" IDENT_RULE},
    {"transform table",
     PLAN_HEAD "  - {id: s, transform: {table: @, key: [id], set: {a: \"1\"}}}\n",
     "invalid table name '{}' in transform step" TABLE_RULE},
    {"transform key", PLAN_HEAD "  - {id: s, transform: {table: t, key: [@], set: {a: \"1\"}}}\n",
     "invalid identifier '{}' in transform step" IDENT_RULE},
    {"transform columns",
     PLAN_HEAD "  - {id: s, transform: {table: t, key: [id], columns: [@], set: [a], " HOOK "}}\n",
     "invalid identifier '{}' in transform step" IDENT_RULE},
    {"transform reads",
     PLAN_HEAD "  - {id: s, transform: {table: t, key: [id], reads: [@], set: {a: \"1\"}}}\n",
     "invalid table name '{}' in transform step" TABLE_RULE},
    {"transform set list",
     PLAN_HEAD "  - {id: s, transform: {table: t, key: [id], columns: [a], set: [@], " HOOK "}}\n",
     "invalid identifier '{}' in transform step" IDENT_RULE},
    {"transform set key",
     PLAN_HEAD "  - {id: s, transform: {table: t, key: [id], set: {@: \"1\"}}}\n",
     "invalid identifier '{}' in set" IDENT_RULE},
    {"rollback section",
     PLAN_HEAD "  - {id: s, sql: {up: SELECT 1}}\nrollback:\n  - {id: r, backup: {tables: [@]}}\n",
     "invalid table name '{}' in backup step" TABLE_RULE},
};

/// `name` as a YAML double-quoted scalar.
std::string YamlQuoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// `text` with every `from` replaced by `to`.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

/// The first line of `text`.
std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

/// Every schema, relation, column, constraint, index and default outside the
/// system schemas, one sorted line each, followed by the per-table checksums:
/// what must not change when planrun refuses a plan.
std::string Fingerprint(const std::string& conn) {
  const std::string user_ns =
      "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE "
      "'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'";
  const std::string catalog = QueryValue(
      conn,
      "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
      "SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n WHERE " +
          user_ns +
          " UNION ALL SELECT 'relation ' || quote_ident(n.nspname) || '.' || "
          "quote_ident(c.relname) || ' ' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON "
          "n.oid = c.relnamespace WHERE " +
          user_ns +
          " UNION ALL SELECT 'column ' || a.attrelid::regclass::text || '.' || "
          "quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || "
          "a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') FROM "
          "pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
          "c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = "
          "a.attnum WHERE a.attnum > 0 AND NOT a.attisdropped AND " +
          user_ns +
          " UNION ALL SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || "
          "quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c "
          "JOIN pg_namespace n ON n.oid = c.connamespace WHERE " +
          user_ns +
          " UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' ' || "
          "i.indisvalid::text "
          "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid "
          "= c.relnamespace WHERE " +
          user_ns + ") s(x)");
  return catalog + "\n" + TableChecksums(conn);
}

/// The tables every test starts from: `t` and `t2` that the hostile plans
/// name, and `canary`, which must come through everything untouched.
void CreateBaseTables(const std::string& conn) {
  ExecSql(conn,
          "CREATE TABLE canary (id int PRIMARY KEY, v text NOT NULL);"
          "INSERT INTO canary VALUES (1, 'one'), (2, 'two'), (3, 'three');"
          "CREATE TABLE t (id int PRIMARY KEY, a text, b text);"
          "INSERT INTO t VALUES (1, 'x', 'y'), (2, 'p', 'q');"
          "CREATE TABLE t2 (id int PRIMARY KEY, a text);");
}

TEST_CASE("a hostile name in any identifier field is refused and changes nothing") {
  const std::string db = "security_identifiers";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  const std::string before = Fingerprint(conn);
  const std::string dir = TempDir("planrun-sec-ident");
  const std::string file = dir + "/plan.yaml";
  for (const IdentifierField& field : kFields) {
    for (const std::string& name : kHostileNames) {
      if (name == field.accepted) continue;
      INFO("field: " << field.label << ", name: " << name);
      WriteFile(file, ReplaceAll(field.plan, "@", YamlQuoted(name)));
      const std::string message = ": error: " + ReplaceAll(field.message, "{}", name);
      for (const char* command : {"validate", "apply"}) {
        INFO("command: " << command);
        CommandResult r = Planrun(db, {"--plans", dir, command}, {{"LEGACY", conn}});
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        const std::string line = FirstLine(r.err);
        CHECK(line.rfind(file + ":", 0) == 0);
        CHECK(line.size() >= message.size());
        CHECK(line.substr(line.size() - std::min(line.size(), message.size())) == message);
      }
    }
    INFO("field: " << field.label);
    REQUIRE(Fingerprint(conn) == before);
  }
}

/// The schema and table the literal-name tests migrate, made as a plan
/// author would (quoting by hand), next to the canary.
void CreateOddTables(const std::string& conn) {
  ExecSql(conn,
          "CREATE SCHEMA \"Sec$Schema\";"
          "CREATE TABLE \"Sec$Schema\".\"Odd$$Table\" (\"Id$$\" int PRIMARY KEY, \"Old$Col\" "
          "text NOT NULL, \"Drop$Me\" text);"
          "INSERT INTO \"Sec$Schema\".\"Odd$$Table\" VALUES (1, 'a', 'd1'), (2, 'b;''c', 'd2');"
          "CREATE TABLE \"Copy$$Target\" (\"Id$$\" int PRIMARY KEY, \"Label$\" text NOT NULL);");
}

/// The text the plans below carry in values: every quoting character at once.
const char kOddValue[] = "it's \"odd\"; DROP TABLE canary; -- \\ $$";

/// The canary's count and checksum.
std::string CanarySum(const std::string& conn) {
  return QueryValue(conn,
                    "SELECT count(*) || ' ' || md5(string_agg(c::text, ',' ORDER BY id)) "
                    "FROM canary c");
}

/// `name` quoted as a SQL identifier.
std::string Ident(const std::string& name) { return "\"" + ReplaceAll(name, "\"", "\"\"") + "\""; }

const std::vector<std::string> kPlanrunSchemas = {"planrun", "planrun_backup"};

TEST_CASE("unusual valid names reach SQL as literal identifiers in every simple step") {
  const std::string db = "security_literal_names";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  CreateOddTables(conn);
  const std::string canary = CanarySum(conn);
  const std::string dump_before = SchemaDump(db, kPlanrunSchemas);
  const std::string sums_before = TableChecksums(conn, kPlanrunSchemas);
  const std::string dir = TempDir("planrun-sec-literal");
  WriteFile(dir + "/001_odd.yaml", R"(version: 1
name: odd$$names
steps:
  - id: backup$$it
    backup: {tables: [Sec$Schema.Odd$$Table]}
  - id: scribble$
    sql:
      up: UPDATE "Sec$Schema"."Odd$$Table" SET "Old$Col" = 'scribbled'
      writes: [Sec$Schema.Odd$$Table]
  - id: add$$col
    add_columns:
      table: Sec$Schema.Odd$$Table
      columns:
        - name: New$$Col
          type: text
          default: "'it''s \"odd\"; DROP TABLE canary; -- \\ $$'"
          check: "\"New$$Col\" <> 'x;y'"
  - id: ren$
    rename_columns: {table: Sec$Schema.Odd$$Table, columns: {Old$Col: Ren$$Col}}
  - id: idx$
    create_index:
      table: Sec$Schema.Odd$$Table
      columns: [Ren$$Col]
      name: Idx$$Odd
      where: "\"Ren$$Col\" <> 'a;''b'"
  - id: idx$$default
    create_index: {table: Sec$Schema.Odd$$Table, columns: [Id$$, Ren$$Col], unique: true}
  - id: drop$
    drop_columns: {table: Sec$Schema.Odd$$Table, columns: [Drop$Me]}
  - id: check$
    verify:
      reads: [Sec$Schema.Odd$$Table]
      assertions:
        - name: "the default is literal text; DROP TABLE canary"
          sql: SELECT DISTINCT "New$$Col" FROM "Sec$Schema"."Odd$$Table"
          expect: "it's \"odd\"; DROP TABLE canary; -- \\ $$"
)");
  CommandResult apply = Planrun(db, {"--plans", dir, "apply"});
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE "
                   "attrelid = '\"Sec$Schema\".\"Odd$$Table\"'::regclass AND attnum > 0 AND NOT "
                   "attisdropped") == "Id$$,Ren$$Col,New$$Col");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(\"Ren$$Col\" || '=' || \"New$$Col\", '|' ORDER BY "
                   "\"Id$$\") FROM \"Sec$Schema\".\"Odd$$Table\"") ==
        std::string("scribbled=") + kOddValue + "|scribbled=" + kOddValue);
  CHECK(QueryValue(conn, "SELECT pg_get_indexdef('\"Sec$Schema\".\"Idx$$Odd\"'::regclass)") ==
        "CREATE INDEX \"Idx$$Odd\" ON \"Sec$Schema\".\"Odd$$Table\" USING btree (\"Ren$$Col\") "
        "WHERE (\"Ren$$Col\" <> 'a;''b'::text)");
  CHECK(QueryValue(conn,
                   "SELECT pg_get_indexdef('\"Sec$Schema\".\"Odd$$Table_Id$$_Ren$$Col_idx\"'::"
                   "regclass)") ==
        "CREATE UNIQUE INDEX \"Odd$$Table_Id$$_Ren$$Col_idx\" ON "
        "\"Sec$Schema\".\"Odd$$Table\" USING btree (\"Id$$\", "
        "\"Ren$$Col\")");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM "
                   "planrun_backup.\"v1__backup$$it__Sec$Schema__Odd$$Table\"") == "2");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(\"Drop$Me\", ',' ORDER BY \"Id$$\") FROM "
                   "planrun_backup.\"v1__drop$__Sec$Schema__Odd$$Table\"") == "d1,d2");
  CHECK(CanarySum(conn) == canary);
  CHECK(QueryValue(conn, "SELECT name FROM planrun.schema_migrations") == "odd$$names");

  CommandResult status = Planrun(db, {"--plans", dir, "status"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("odd$$names") != std::string::npos);

  // Rollback drops, renames and re-adds by name, and restores the scribbled
  // rows from the backup table.
  CommandResult rollback = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(SchemaDump(db, kPlanrunSchemas) == dump_before);
  CHECK(TableChecksums(conn, kPlanrunSchemas) == sums_before);
}

TEST_CASE("copy and transform keep unusual names and parameter values literal") {
  const std::string db = "security_literal_data";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  CreateOddTables(conn);
  const std::string canary = CanarySum(conn);
  const std::string dump_before = SchemaDump(db, kPlanrunSchemas);
  const std::string sums_before = TableChecksums(conn, kPlanrunSchemas);
  const std::string dir = TempDir("planrun-sec-data");
  WriteFile(dir + "/001_odd.yaml", R"(version: 1
name: odd_data
params: {note: "it's \"odd\"; DROP TABLE canary; -- \\ $$"}
steps:
  - id: hook$$copy
    copy:
      from: {table: Sec$Schema.Odd$$Table, key: [Id$$], columns: [Old$Col]}
      to: {table: Copy$$Target, columns: [Id$$, Label$]}
      lua: |
        function transform(row, ctx)
          return {["Id$$"] = row["Id$$"], ["Label$"] = row["Old$Col"] .. "|" .. ctx.params.note}
        end
  - id: map$$copy
    needs: [hook$$copy]
    copy:
      from: {table: Sec$Schema.Odd$$Table, key: [Id$$], columns: [Old$Col], where: "\"Old$Col\" <> 'no;''pe'"}
      to: {table: Copy$$Target, columns: [Id$$, Label$]}
      map:
        Id$$: "\"Id$$\" + 10"
        Label$: "'m;''' || \"Old$Col\""
  - id: tr$$
    needs: [map$$copy]
    transform:
      table: Sec$Schema.Odd$$Table
      key: [Id$$]
      where: "\"Old$Col\" <> 'zz;''z'"
      set: {Drop$Me: "upper(\"Drop$Me\") || ';'''"}
)");
  CommandResult apply = Planrun(db, {"--plans", dir, "apply"});
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(\"Id$$\" || '=' || \"Label$\", '|' ORDER BY \"Id$$\") "
                   "FROM \"Copy$$Target\"") ==
        std::string("1=a|") + kOddValue + "|2=b;'c|" + kOddValue + "|11=m;'a|12=m;'b;'c");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(\"Drop$Me\", ',' ORDER BY \"Id$$\") FROM "
                   "\"Sec$Schema\".\"Odd$$Table\"") == "D1;',D2;'");
  CHECK(CanarySum(conn) == canary);

  CommandResult rollback = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(SchemaDump(db, kPlanrunSchemas) == dump_before);
  CHECK(TableChecksums(conn, kPlanrunSchemas) == sums_before);
}

TEST_CASE("values are compared and written as text: verify expect, backup directories") {
  const std::string db = "security_values";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  ExecSql(conn, "INSERT INTO t VALUES (3, $v$" + std::string(kOddValue) + "$v$, NULL)");
  const std::string canary = CanarySum(conn);
  const std::string dir = TempDir("planrun-sec-values");
  const std::string backup_dir = dir + "/bk it's \"odd\"; $$ \\dir";
  const std::string plan = R"(version: 1
name: values
steps:
  - id: to_disk
    backup: {tables: [t], to: BACKUP_DIR}
  - id: check
    verify:
      reads: [t]
      assertions:
        - name: odd text
          sql: SELECT a FROM t WHERE id = 3
          expect: EXPECTED
)";
  auto write = [&](const std::string& expected) {
    WriteFile(dir + "/plans/001_values.yaml",
              ReplaceAll(ReplaceAll(plan, "BACKUP_DIR", YamlQuoted(backup_dir)), "EXPECTED",
                         YamlQuoted(expected)));
  };
  // The expected text differs from the value by its last character: the
  // step fails and shows both texts as they are.
  write(std::string(kOddValue) + "$");
  CommandResult failed = Planrun(db, {"--plans", dir + "/plans", "apply"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find(std::string("    expected: ") + kOddValue +
                        "$\n    actual:   " + kOddValue) != std::string::npos);
  CHECK(CanarySum(conn) == canary);

  write(kOddValue);
  CommandResult ok = Planrun(db, {"--plans", dir + "/plans", "apply"});
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(std::filesystem::exists(backup_dir + "/v1/metadata.json"));
  CHECK(std::filesystem::exists(backup_dir + "/v1/public.t.copy"));
  CHECK(CanarySum(conn) == canary);
}

TEST_CASE("a tracking schema given with --schema is one literal identifier") {
  const std::string db = "security_schema_flag";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  const std::string canary = CanarySum(conn);
  const std::string schema = "track\"; DROP TABLE canary; --'";
  const std::string dir = TempDir("planrun-sec-schema");
  WriteFile(dir + "/001_b.yaml", R"(version: 1
name: b
steps:
  - id: save
    backup: {tables: [t]}
  - id: cols
    add_columns: {table: t, columns: [{name: c, type: int}]}
)");
  for (const char* command : {"apply", "status", "rollback"}) {
    CommandResult r = Planrun(db, {"--plans", dir, "--schema", schema, command});
    INFO(command << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
  CHECK(QueryValue(conn,
                   "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE "
                   "nspname LIKE 'track%'") == schema + "," + schema + "_backup");
  CHECK(QueryValue(conn, "SELECT state FROM " + Ident(schema) + ".schema_migrations") ==
        "rolled_back");
  CHECK(CanarySum(conn) == canary);
}

TEST_CASE("a NUL byte in any value is refused before it can cut SQL short") {
  const std::string db = "security_nul";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  const std::string before = Fingerprint(conn);
  const std::string dir = TempDir("planrun-sec-nul");
  // libpq sends SQL up to the first NUL: "SELECT 1" would run, and the plan
  // would show something else. Each field below is one YAML "\0" escape.
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"sql up", "  - {id: s, sql: {up: \"DELETE FROM t\\0 WHERE false\", writes: [t]}}\n"},
      {"add_columns default",
       "  - {id: s, add_columns: {table: t, columns: [{name: c, type: text, default: "
       "\"'x'\\0\"}]}}\n"},
      {"verify expect", "  - {id: s, verify: [{name: n, sql: SELECT 1, expect: \"1\\0\"}]}\n"},
      {"create_index where",
       "  - {id: s, create_index: {table: t, columns: [a], where: \"a IS NULL\\0\"}}\n"},
  };
  for (const auto& [label, step] : fields) {
    INFO("field: " << label);
    WriteFile(dir + "/plan.yaml", PLAN_HEAD + step);
    CommandResult r = Planrun(db, {"--plans", dir, "apply"});
    CHECK(r.exit_code == 2);
    CHECK(FirstLine(r.err).find(
              ": error: a value contains a NUL character (\\0); plans cannot hold NUL bytes") !=
          std::string::npos);
  }
  CHECK(Fingerprint(conn) == before);
}

// PostgreSQL cuts names at 63 bytes, so a long --schema and its _backup
// schema would become one; an empty one fails at CREATE SCHEMA. Both are
// refused as usage errors before planrun connects.
TEST_CASE("a --schema PostgreSQL would cut or refuse is refused before connecting") {
  const std::string db = "security_schema_long";
  const std::string conn = FreshDatabase(db);
  CreateBaseTables(conn);
  const std::string before = Fingerprint(conn);
  const std::string dir = TempDir("planrun-sec-schema-long");
  WriteFile(dir + "/001_b.yaml", PLAN_HEAD "  - {id: save, backup: {tables: [t]}}\n");
  for (const std::string& schema : {std::string(60, 's'), std::string()}) {
    INFO("--schema '" << schema << "'");
    CommandResult r = Planrun(db, {"--plans", dir, "--schema", schema, "apply"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--schema") != std::string::npos);
    CHECK(Fingerprint(conn) == before);
  }
}

}  // namespace
}  // namespace testing
}  // namespace planrun
