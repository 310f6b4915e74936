// data/copy_text.h against a real PostgreSQL: COPY text out of one table,
// decoded to Values, encoded again and copied into a second table must give
// byte-identical rows; hand-made Values must be stored as PostgreSQL reads them.
#include "data/copy_text.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "pg/session.h"
#include "support.h"
#include "unit/data/test_values.h"

namespace planrun {
namespace {

using testing::List;

/// The test database, created once per run.
const std::string& Db() {
  static const std::string db = testing::FreshDatabase("copy_text_test");
  return db;
}

/// Runs `sql` and returns its result; fails the test on error.
pg::Result Must(pg::Session& s, const std::string& sql) {
  pg::Result r;
  Status st = s.Exec(sql, &r);
  INFO(sql << ": " << st.message());
  REQUIRE(st.ok());
  return r;
}

/// One column of each class and several text-like types.
constexpr const char* kColumns =
    "id int PRIMARY KEY, t text, i8 int8, i4 int4, i2 int2, f8 float8, f4 float4, b bool, "
    "n numeric, j jsonb, js json, by bytea, ta text[], ia int4[], fa float8[], ba bool[], "
    "bya bytea[], ja jsonb[], ts timestamptz, u uuid, iv interval";

/// The ColumnSpecs of `table`, from pg_attribute.
std::vector<ColumnSpec> Columns(pg::Session& s, const std::string& table) {
  pg::Result r = Must(s,
                      "SELECT attname, atttypid, format_type(atttypid, atttypmod) "
                      "FROM pg_attribute WHERE attrelid = '" +
                          table +
                          "'::regclass AND attnum > 0 AND NOT attisdropped "
                          "ORDER BY attnum");
  std::vector<ColumnSpec> cols;
  for (const auto& row : r.rows) {
    ColumnSpec c;
    c.name = *row[0];
    c.type_oid = static_cast<uint32_t>(std::stoul(*row[1]));
    c.type_name = *row[2];
    c.cls = ClassifyType(c.type_oid, &c.element);
    cols.push_back(c);
  }
  return cols;
}

/// Every row of `copy_sql`'s output decoded by `cols`.
std::vector<std::vector<Value>> CopyOutValues(pg::Session& s, const std::string& copy_sql,
                                              const std::vector<ColumnSpec>& cols) {
  std::vector<std::vector<Value>> rows;
  std::vector<RawField> fields;
  Status st = s.CopyOut(copy_sql, [&](std::string_view chunk) {
    while (!chunk.empty()) {
      size_t nl = chunk.find('\n');
      if (!ParseCopyLine(chunk.substr(0, nl), &fields)) return Status::Failed("bad line");
      if (fields.size() != cols.size()) return Status::Failed("wrong field count");
      std::vector<Value>& row = rows.emplace_back(cols.size());
      for (size_t k = 0; k < cols.size(); ++k) {
        PLANRUN_RETURN_IF_ERROR(DecodeField(cols[k], fields[k], &row[k]));
      }
      chunk.remove_prefix(nl + 1);
    }
    return Status::OK();
  });
  INFO(st.message());
  REQUIRE(st.ok());
  return rows;
}

/// Encodes `rows` by `cols` and copies them with `copy_sql`; returns rows copied.
int64_t CopyInValues(pg::Session& s, const std::string& copy_sql,
                     const std::vector<ColumnSpec>& cols,
                     const std::vector<std::vector<Value>>& rows) {
  std::string text;
  std::vector<RawField> fields(cols.size());
  for (const auto& row : rows) {
    for (size_t k = 0; k < cols.size(); ++k) {
      Status st = EncodeField(cols[k], row[k], &fields[k]);
      INFO(st.message());
      REQUIRE(st.ok());
    }
    AppendCopyRow(&text, fields);
  }
  int64_t copied = -1;
  Status st = s.CopyIn(
      copy_sql,
      [&](std::string* chunk, bool* done) {
        chunk->swap(text);
        *done = true;
        return Status::OK();
      },
      &copied);
  INFO(st.message());
  REQUIRE(st.ok());
  return copied;
}

/// "id md5" lines of every row of `table`, by id, hashing the row's text.
std::string RowHashes(pg::Session& s, const std::string& table) {
  pg::Result r = Must(s, "SELECT id, md5(x::text), x::text FROM " + table + " x ORDER BY id");
  std::string out;
  for (const auto& row : r.rows) out += *row[0] + " " + *row[1] + " " + *row[2] + "\n";
  return out;
}

TEST_CASE("COPY text decoded and encoded again gives byte-identical rows") {
  auto s = testing::Connect(Db());
  Must(*s, std::string("DROP TABLE IF EXISTS src, dst; CREATE TABLE src (") + kColumns +
               "); CREATE TABLE dst (LIKE src)");
  Must(*s, R"SQL(
INSERT INTO src (id) VALUES (1);
INSERT INTO src VALUES (2, '', 0, 0, 0, 0, 0, false, 0, '{}', '{}', '\x', '{}', '{}', '{}', '{}',
  '{}', '{}', 'epoch', '00000000-0000-0000-0000-000000000000', '0');
INSERT INTO src VALUES (3, E'tab\there\nnew line\rcr\\back\bb\ff\x0bv', 9223372036854775807,
  2147483647, 32767, 0.1, 0.1, true, '1234567890123456789012345678901234567890.0000000001',
  E'{"a": [1, {"b": null}], "c": "q\\"uote \\\\ \\n é", "d": {"e": [true, false, 1.5e300]}}',
  '{ "a" : [1, 2] , "a": 3 }',
  (SELECT decode(string_agg(lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex')
     FROM generate_series(0, 255) g),
  ARRAY['a', 'b c', '', NULL, 'NULL', 'null', E'q"\\', 'é🎉', '{x}', ' lead', E'tab\t', '\N'],
  ARRAY[1, NULL, -3], ARRAY['NaN', 'Infinity', '-Infinity', 0.1, '-0', 1e-5]::float8[],
  '{t,f,NULL}', ARRAY['\x00ff'::bytea, NULL, '\x'], ARRAY['{"a": "x\"y"}'::jsonb, 'null', NULL],
  'infinity', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 year 2 mons -3 days 04:05:06.789');
INSERT INTO src VALUES (4, '\N', -9223372036854775808, -2147483648, -32768, 1e308,
  '3.4028235e+38', NULL, '-0.000000000000000000000000000001', '"just a string \u00e9"', 'null',
  '\x00', ARRAY['\N', E'\\N', E'ends with \\'], '{{1,2},{3,4}}', '[0:1]={1.5,2.5}', '{}', NULL,
  NULL, '-infinity', NULL, '-178000000 years');
INSERT INTO src (id, t, f8, f4, n, ts) VALUES
  (5, E'emoji 👩‍👩‍👧 漢字 \\N mid', '5e-324', 'NaN', 'NaN', '2024-02-29 12:34:56.789012+05:30'),
  (6, E'\\', '-0', '-Infinity', '-1e-30', '1999-12-31 23:59:59.999999+00'),
  (7, E'\\\\N', '123456789012345678', '1e-45', '0.1', 'infinity'),
  (8, 'NULL', 'Infinity', '-0', '1e100', '4713-01-01 00:00:00+00 BC'),
  (9, E'\x01\x7f', '1.5e-05', '1.17549435e-38', '100000', '294276-12-31 23:59:59+00');
)SQL");
  std::vector<ColumnSpec> cols = Columns(*s, "src");
  REQUIRE(cols.size() == 21);
  CHECK(cols[1].type_name == "text");
  CHECK(cols[13].type_name == "integer[]");
  CHECK(cols[13].cls == TypeClass::kArray);
  CHECK(cols[13].element == TypeClass::kInt);

  std::vector<std::vector<Value>> rows = CopyOutValues(*s, "COPY src TO STDOUT", cols);
  REQUIRE(rows.size() == 9);
  CHECK(CopyInValues(*s, "COPY dst FROM STDIN", cols, rows) == 9);
  CHECK(Must(*s, "SELECT count(*) FROM dst").get(0, 0) == "9");
  CHECK(RowHashes(*s, "dst") == RowHashes(*s, "src"));

  // The decoded values themselves, for a few telling fields.
  const std::vector<Value>& r1 = rows[0];
  for (size_t k = 1; k < r1.size(); ++k) CHECK(r1[k] == Value::Null());
  const std::vector<Value>& r3 = rows[2];
  CHECK(r3[1] == Value::String("tab\there\nnew line\rcr\\back\bb\ff\vv"));
  CHECK(r3[2] == Value::Int(std::numeric_limits<int64_t>::max()));
  CHECK(r3[5] == Value::Float(0.1));
  CHECK(r3[7] == Value::Bool(true));
  CHECK(r3[8] == Value::String("1234567890123456789012345678901234567890.0000000001"));
  CHECK(r3[10] == Value::String(R"({ "a" : [1, 2] , "a": 3 })"));
  REQUIRE(r3[11].s.size() == 256);
  for (int c = 0; c < 256; ++c) CHECK(static_cast<unsigned char>(r3[11].s[c]) == c);
  CHECK(r3[12].items.size() == 12);
  CHECK(r3[12].items[3] == Value::Null());
  CHECK(r3[12].items[4] == Value::String("NULL"));
  CHECK(r3[12].items[6] == Value::String("q\"\\"));
  CHECK(r3[13] == List({Value::Int(1), Value::Null(), Value::Int(-3)}));
  CHECK(r3[14].items.size() == 6);
  CHECK(std::isnan(r3[14].items[0].f));
  CHECK(r3[14].items[2] == Value::Float(-std::numeric_limits<double>::infinity()));
  CHECK(r3[16] ==
        List({Value::String(std::string("\0\xff", 2)), Value::Null(), Value::String("")}));
  CHECK(r3[18] == Value::String("infinity"));
  const std::vector<Value>& r4 = rows[3];
  CHECK(r4[1] == Value::String("\\N"));
  CHECK(r4[2] == Value::Int(std::numeric_limits<int64_t>::min()));
  CHECK(r4[11] == Value::String(std::string(1, '\0')));
  CHECK(r4[12] ==
        List({Value::String("\\N"), Value::String("\\N"), Value::String("ends with \\")}));
  CHECK(r4[13] == Value::String("{{1,2},{3,4}}"));
  CHECK(r4[14] == Value::String("[0:1]={1.5,2.5}"));
  CHECK(rows[4][5] == Value::Float(std::numeric_limits<double>::denorm_min()));
  CHECK(std::signbit(rows[5][5].f));
}

TEST_CASE("Values made by hand are stored as PostgreSQL reads them") {
  auto s = testing::Connect(Db());
  Must(*s, std::string("DROP TABLE IF EXISTS made; CREATE TABLE made (") + kColumns + ")");
  std::vector<ColumnSpec> cols = Columns(*s, "made");
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  const Value kNull;
  std::vector<Value> row = {
      Value::Int(1),
      List({Value::Int(1), Value::String("a b"), Value::Null(), Value::Bool(true)}),
      Value::Float(-9007199254740992.0),
      Value::String("42"),
      Value::Float(-7.0),
      Value::Int(3),
      Value::Float(0.1),
      Value::String("true"),
      Value::Float(1e-5),
      List({Value::String("q\"\\\n\t\x01é🎉"), Value::Null(), Value::Float(1.5),
            List({Value::Bool(false), List({})})}),
      Value::Float(1e300),
      Value::String(all_bytes),
      List({Value::String(""), Value::String("NULL"), Value::Null(), Value::String("{,}\"\\ "),
            Value::Int(7)}),
      List({Value::Int(-1), Value::Float(2.0), Value::Null(), Value::String("4")}),
      List({Value::Float(std::numeric_limits<double>::quiet_NaN()),
            Value::Float(-std::numeric_limits<double>::infinity()), Value::Int(5)}),
      List({Value::Bool(true), Value::String("f"), Value::Null()}),
      List({Value::String(std::string("\0\\\"", 3)), Value::Null()}),
      List({List({Value::String("x")}), Value::Bool(true), Value::String("{\"k\": 1}")}),
      Value::String("2024-02-29 12:00:00+00"),
      kNull,
      Value::String("1 day"),
  };
  REQUIRE(row.size() == cols.size());
  CHECK(CopyInValues(*s, "COPY made FROM STDIN", cols, {row}) == 1);
  pg::Result r =
      Must(*s,
           "SELECT t, i8, i4, i2, f8, f4, b, n, j::text, js::text, by = (SELECT decode(string_agg("
           "lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex') FROM generate_series(0, 255) g), "
           "ta, ia, fa, ba, bya, ja, ts AT TIME ZONE 'UTC', u, iv, "
           "j->>0, ta[4] FROM made");
  REQUIRE(r.rows.size() == 1);
  const std::vector<pg::Value> expected = {
      R"({1,"a b",NULL,true})",
      "-9007199254740992",
      "42",
      "-7",
      "3",
      "0.1",
      "t",
      "0.00001",
      R"(["q\"\\\n\t\u0001é🎉", null, 1.5, [false, []]])",
      "1e+300",
      "t",
      R"({"","NULL",NULL,"{,}\"\\ ",7})",
      "{-1,2,NULL,4}",
      "{NaN,-Infinity,5}",
      "{t,f,NULL}",
      R"({"\\x005c22",NULL})",
      R"({"[\"x\"]",true,"{\"k\": 1}"})",
      "2024-02-29 12:00:00",
      std::nullopt,
      "P1D",  // the session uses IntervalStyle iso_8601
      "q\"\\\n\t\x01é🎉",
      "{,}\"\\ ",
  };
  CHECK(r.rows[0] == expected);
}

}  // namespace
}  // namespace planrun
