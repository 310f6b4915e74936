#include "run/catalog.h"

namespace planrun {

Status LoadCatalogForeignKeys(pg::Session& session, std::vector<DeclaredFk>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(session.Exec(
      "SELECT cn.nspname, c.relname, fn.nspname, f.relname FROM pg_constraint k "
      "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace "
      "JOIN pg_class f ON f.oid = k.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace "
      "WHERE k.contype = 'f' AND cn.nspname NOT IN ('pg_catalog', 'information_schema') "
      "ORDER BY 1, 2, 3, 4",
      &r));
  out->clear();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    DeclaredFk fk;
    fk.from = TableName{r.get(i, 0), r.get(i, 1)};
    fk.to = TableName{r.get(i, 2), r.get(i, 3)};
    out->push_back(fk);
  }
  return Status::OK();
}

}  // namespace planrun
