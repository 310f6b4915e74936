#include "track/checkpoints.h"

#include "util/redact.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

// A text[] literal of `values` for a $n parameter.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    out += "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

int64_t Int(const pg::Result& r, size_t row, size_t col) {
  return std::stoll(r.get(row, col, "0"));
}

Status ReadRejects(pg::Session& db, const std::string& sql, const std::vector<pg::Value>& params,
                   std::vector<Reject>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db.Query(sql, params, &r));
  out->clear();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    Reject j;
    j.id = Int(r, i, 0);
    j.step_id = r.get(i, 1);
    j.row_key = r.get(i, 2);
    j.input = r.get(i, 3);
    j.reason = r.get(i, 4);
    j.created_at = r.get(i, 5);
    out->push_back(j);
  }
  return Status::OK();
}

constexpr char kRejectColumns[] =
    "id, step_id, row_key::text, input::text, reason, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z'";

}  // namespace

CheckpointStore::CheckpointStore(pg::Session* db, std::string schema, std::string version,
                                 int attempt, std::string step_id)
    : db_(db),
      schema_(QuoteIdent(schema)),
      version_(std::move(version)),
      attempt_(attempt),
      step_id_(std::move(step_id)) {}

Status CheckpointStore::Load(Checkpoint* out, bool* found) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db_->Query("SELECT fingerprint, last_key, batches, rows_read, rows_written, rows_skipped, "
                 "rows_rejected, done, array_length(last_key, 1) FROM " +
                     schema_ + ".checkpoints WHERE version = $1 AND attempt = $2 AND step_id = $3",
                 {version_, std::to_string(attempt_), step_id_}, &r));
  *found = !r.rows.empty();
  if (!*found) return Status::OK();
  Checkpoint cp;
  cp.fingerprint = r.get(0, 0);
  cp.batches = Int(r, 0, 2);
  cp.rows_read = Int(r, 0, 3);
  cp.rows_written = Int(r, 0, 4);
  cp.rows_skipped = Int(r, 0, 5);
  cp.rows_rejected = Int(r, 0, 6);
  cp.done = r.get(0, 7) == "t";
  if (r.at(0, 1)) {
    // Read the key elements one by one so no array-literal parsing is needed.
    pg::Result keys;
    PLANRUN_RETURN_IF_ERROR(db_->Query(
        "SELECT k FROM " + schema_ +
            ".checkpoints, unnest(last_key) WITH ORDINALITY AS u(k, n) WHERE version = $1 AND "
            "attempt = $2 AND step_id = $3 ORDER BY n",
        {version_, std::to_string(attempt_), step_id_}, &keys));
    std::vector<std::string> key;
    for (size_t i = 0; i < keys.rows.size(); ++i) key.push_back(keys.get(i, 0));
    cp.last_key = key;
  }
  *out = cp;
  return Status::OK();
}

Status CheckpointStore::Save(const Checkpoint& cp) {
  // Only a checkpoint that moves forward is stored: a run that does not hold
  // the migration lock any more and saves the same batch as another run
  // finds the row moved under it, and its batch is not committed.
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db_->Query(
      "INSERT INTO " + schema_ +
          ".checkpoints (version, attempt, step_id, fingerprint, last_key, batches, rows_read, "
          "rows_written, rows_skipped, rows_rejected, done, updated_at) VALUES ($1, $2, $3, $4, "
          "$5::text[], $6, $7, $8, $9, $10, $11, now()) ON CONFLICT (version, attempt, step_id) "
          "DO UPDATE SET fingerprint = EXCLUDED.fingerprint, last_key = EXCLUDED.last_key, "
          "batches = EXCLUDED.batches, rows_read = EXCLUDED.rows_read, rows_written = "
          "EXCLUDED.rows_written, rows_skipped = EXCLUDED.rows_skipped, rows_rejected = "
          "EXCLUDED.rows_rejected, done = EXCLUDED.done, updated_at = now() "
          "WHERE checkpoints.batches < EXCLUDED.batches "
          "OR (checkpoints.batches = EXCLUDED.batches AND EXCLUDED.done)",
      {version_, std::to_string(attempt_), step_id_, cp.fingerprint,
       cp.last_key ? pg::Value(TextArray(*cp.last_key)) : std::nullopt, std::to_string(cp.batches),
       std::to_string(cp.rows_read), std::to_string(cp.rows_written),
       std::to_string(cp.rows_skipped), std::to_string(cp.rows_rejected),
       cp.done ? "true" : "false"},
      &r));
  if (r.affected == 1) return Status::OK();
  return Status::Failed("the checkpoint of step " + step_id_ + " is already past batch " +
                        std::to_string(cp.batches) +
                        ": another planrun ran this step at the same time; this batch was not "
                        "committed. Run planrun status, then planrun apply to resume");
}

Status CheckpointStore::Reset() {
  return db_->Query("DELETE FROM " + schema_ +
                        ".checkpoints WHERE version = $1 AND attempt = $2 AND step_id = $3",
                    {version_, std::to_string(attempt_), step_id_});
}

Status CheckpointStore::AddRejects(const std::vector<Reject>& rejects) {
  if (rejects.empty()) return Status::OK();
  // One statement for the whole batch: parallel arrays unnested together.
  std::vector<std::string> keys, inputs, reasons;
  for (const Reject& r : rejects) {
    keys.push_back(r.row_key);
    inputs.push_back(r.input);
    reasons.push_back(Redact(r.reason));
  }
  return db_->Query("INSERT INTO " + schema_ +
                        ".rejects (version, attempt, step_id, row_key, input, reason) SELECT $1, "
                        "$2, $3, k::jsonb, i::jsonb, r FROM unnest($4::text[], $5::text[], "
                        "$6::text[]) AS u(k, i, r)",
                    {version_, std::to_string(attempt_), step_id_, TextArray(keys),
                     TextArray(inputs), TextArray(reasons)});
}

Status CheckpointStore::LoadRejects(std::vector<Reject>* out) {
  return ReadRejects(*db_,
                     std::string("SELECT ") + kRejectColumns + " FROM " + schema_ +
                         ".rejects WHERE version = $1 AND attempt = $2 AND step_id = $3 AND "
                         "resolved_at IS NULL ORDER BY id",
                     {version_, std::to_string(attempt_), step_id_}, out);
}

Status CheckpointStore::ResolveRejects(const std::vector<int64_t>& ids) {
  if (ids.empty()) return Status::OK();
  std::vector<std::string> text;
  for (int64_t id : ids) text.push_back(std::to_string(id));
  return db_->Query(
      "UPDATE " + schema_ + ".rejects SET resolved_at = now() WHERE id = ANY($1::bigint[])",
      {"{" + Join(text, ",") + "}"});
}

Status CheckpointStore::SaveProgress(int64_t rows_done, std::optional<int64_t> rows_total) {
  return db_->Query("UPDATE " + schema_ +
                        ".step_runs SET rows_done = $4, rows_total = coalesce($5::bigint, "
                        "rows_total) WHERE version = $1 AND attempt = $2 AND phase = 'up' AND "
                        "step_id = $3",
                    {version_, std::to_string(attempt_), step_id_, std::to_string(rows_done),
                     rows_total ? pg::Value(std::to_string(*rows_total)) : std::nullopt});
}

Status ListRejects(pg::Session& db, const std::string& schema, const std::string& version,
                   const std::string& step_id, std::vector<Reject>* out) {
  return ReadRejects(db,
                     std::string("SELECT ") + kRejectColumns + " FROM " + QuoteIdent(schema) +
                         ".rejects r WHERE resolved_at IS NULL AND ($1::text IS NULL OR version = "
                         "$1) AND ($2::text IS NULL OR step_id = $2) AND attempt = (SELECT "
                         "m.attempt FROM " +
                         QuoteIdent(schema) +
                         ".schema_migrations m WHERE m.version = r.version) ORDER BY "
                         "(SELECT m.version_key FROM " +
                         QuoteIdent(schema) +
                         ".schema_migrations m WHERE m.version = r.version), id",
                     {version.empty() ? std::nullopt : pg::Value(version),
                      step_id.empty() ? std::nullopt : pg::Value(step_id)},
                     out);
}

}  // namespace planrun
