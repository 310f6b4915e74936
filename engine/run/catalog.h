// Catalog: facts read from the database that the graph needs (foreign keys
// between existing tables), so steps on tables that reference each other run
// in the right order even when the plan does not say so.
#pragma once

#include <vector>

#include "pg/session.h"
#include "steps/step.h"

namespace planrun {

/// Every foreign key between user tables in the database.
Status LoadCatalogForeignKeys(pg::Session& session, std::vector<DeclaredFk>* out);

}  // namespace planrun
