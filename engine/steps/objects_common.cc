#include "steps/objects_common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/objects_store.h"
#include "util/sql.h"

namespace planrun {

TableName ObjectsBackupName(const ObjectsSpec& spec, const StepEnv& env,
                            const std::string& suffix) {
  return TableName{env.names.backup,
                   BackupTableName(env.plan->version.text, env.decl->id, spec.Target(), suffix)};
}

std::string ObjectsBackupTable(const ObjectsSpec& spec, const StepEnv& env,
                               const std::string& suffix) {
  return ObjectsBackupName(spec, env, suffix).Quoted();
}

net::ClientOptions ObjectsClientOptions(const ObjectsSpec& spec, StepContext& ctx) {
  net::ClientOptions o;
  o.concurrency = spec.concurrency;
  o.retries = spec.retries;
  o.connect_timeout_ms = spec.connect_timeout_ms;
  o.timeout_ms = spec.timeout_ms;
  o.low_speed_time_ms = spec.low_speed_time_ms;
  o.backoff.initial_ms = spec.retry_delay_ms;
  Reporter* out = ctx.out;
  const std::string id = ctx.env.decl->id;
  o.on_retry = [out, id](const std::string& line) { out->Debug("objects " + id + ": " + line); };
  return o;
}

void ObjectsProgress::Stored(bool uploaded, int64_t bytes) {
  if (uploaded) {
    ++uploaded_;
    bytes_ += bytes;
  } else {
    ++existing_;
  }
}

void ObjectsProgress::Report(Reporter* out, const std::string& head, int64_t rejected) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  char rate[96];
  std::snprintf(rate, sizeof rate, ", %.1f objects/s, %.2f MB/s",
                secs > 0 ? static_cast<double>(uploaded_ + existing_) / secs : 0.0,
                secs > 0 ? static_cast<double>(bytes_) / 1e6 / secs : 0.0);
  out->Progress(head + ", " + std::to_string(uploaded_) + " uploaded, " +
                std::to_string(existing_) + " already stored, " + std::to_string(rejected) +
                " rejected" + rate);
}

std::string ObjectsProgress::ByteRate() const {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char rate[64] = "";
  if (secs > 0) {
    std::snprintf(rate, sizeof rate, " (%.2f MB/s)", static_cast<double>(bytes_) / 1e6 / secs);
  }
  return rate;
}

Status ObjectsTempDir::Create() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/planrun-objects-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return Status::Io("cannot create a temp folder " + tmpl);
  path_ = tmpl;
  return Status::OK();
}

ObjectsTempDir::~ObjectsTempDir() {
  if (!path_.empty()) ::rmdir(path_.c_str());
}

Status DeleteUploadedObjects(const ObjectsSpec& spec, StepContext& ctx,
                             const std::string& objects_table, int64_t* deleted) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Query("SELECT to_regclass($1) IS NOT NULL", {objects_table}, &r));
  if (r.get(0, 0) != "t") return Status::OK();
  if (spec.delete_on_rollback) {
    std::unique_ptr<ObjectStore> store;
    PLANRUN_RETURN_IF_ERROR(
        MakeObjectStore(spec.store, "objects step " + ctx.env.decl->id, &store));
    pg::Result locs;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(
        "SELECT DISTINCT location FROM " + objects_table + " WHERE uploaded ORDER BY location",
        &locs));
    std::vector<std::string> locations;
    for (size_t i = 0; i < locs.rows.size(); ++i) locations.push_back(locs.get(i, 0));
    net::Client client(ObjectsClientOptions(spec, ctx));
    PLANRUN_RETURN_IF_ERROR(store->Delete(client, locations, deleted));
  }
  return ctx.db->Exec("DROP TABLE " + objects_table);
}

std::string CreateObjectsTableSql(const std::string& objects_table) {
  return "CREATE TABLE IF NOT EXISTS " + objects_table +
         " (row_key text NOT NULL, location text NOT NULL, uploaded boolean NOT NULL, "
         "bytes bigint NOT NULL, sha256 text NOT NULL, PRIMARY KEY (row_key, location))";
}

Status RecordObject(pg::Session& db, const std::string& objects_table, const std::string& row_key,
                    const std::string& location, bool uploaded, int64_t bytes,
                    const std::string& sha256) {
  return db.Query("INSERT INTO " + objects_table +
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (row_key, location) DO UPDATE SET "
                      "uploaded = " +
                      objects_table +
                      ".uploaded OR excluded.uploaded, bytes = excluded.bytes, sha256 = "
                      "excluded.sha256",
                  {row_key, location, uploaded ? "t" : "f", std::to_string(bytes), sha256});
}

}  // namespace planrun
