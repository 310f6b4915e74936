// The `objects` step with a files source (`from: {files: glob, root: dir}`):
// the step scans the folder once and keeps the list (path, name, size,
// sha256, mtime, the JSON content when a template names {json...}, why an
// entry is refused) in a table of its own in the backup schema,
// committed before the first transfer, so a re-run after a crash goes on over
// the same list from its checkpoint. Per batch of files it copies each file
// aside (a file whose bytes changed since the scan is rejected), uploads it
// unless the store holds the same sha256, and then, in one transaction with
// the checkpoint, inserts the rows (INSERT ... ON CONFLICT (key) DO NOTHING),
// records the keys of the rows it inserted and the objects it stored.
// Rollback deletes exactly those rows and, with delete_on_rollback, the
// objects it uploaded.
#pragma once

#include <string>
#include <vector>

#include "steps/objects_spec.h"
#include "steps/step.h"

namespace planrun {

/// Applies an objects step with a files source.
Status ApplyObjectsFiles(const ObjectsSpec& spec, StepContext& ctx);

/// Reverts it: the rows it inserted, then the objects it uploaded, then its tables.
Status RevertObjectsFiles(const ObjectsSpec& spec, StepContext& ctx);

/// What `planrun plan` shows for applying it.
std::vector<std::string> DescribeObjectsFilesUp(const ObjectsSpec& spec, const StepEnv& env);

/// What `planrun plan` shows for rolling it back.
std::vector<std::string> DescribeObjectsFilesDown(const ObjectsSpec& spec, const StepEnv& env);

}  // namespace planrun
