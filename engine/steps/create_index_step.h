// The `create_index` step.
//
//   - id: name_index
//     create_index:
//       table: packages
//       columns: [name]            # or expressions: ["lower(name)"], or both
//       name: packages_name_idx    # default <table>_<col1>_<col2>_idx
//       unique: true
//       using: btree
//       where: deleted_at IS NULL  # SQL, as written
//       concurrently: true         # the default
//
// Concurrently (the default) the step runs in autocommit and can be run again
// after a crash: an invalid index left by an interrupted run is dropped
// first, and an index that ends up invalid (a duplicate key) is dropped and
// the step fails. In a dry run the index is built without CONCURRENTLY
// inside the dry run's transaction. The index lives in the table's schema.
#pragma once

#include <memory>

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `create_index:` entry.
Status ParseCreateIndexStep(const Node& body, const StepParseContext& ctx,
                            std::unique_ptr<Step>* out);

}  // namespace planrun
