// Step kind `objects`: moves the files that rows point at (a URL column) into
// an object store (http, s3 or a local folder), in keyset-paginated batches.
// Each batch's transfers run concurrently (net::Client); then one transaction
// saves the previous values of the `set` columns, writes the new ones, records
// the stored objects and advances the checkpoint, so a crash re-does at most
// one batch's transfers and no row ever points at a missing object. An object
// the store already holds with the same sha256 is not sent again. Rollback
// restores the previous values and, with `delete_on_rollback`, deletes the
// objects the step uploaded. With a files source (`from: {files, root}`) the
// step runs as steps/objects_files_step.h describes.
#pragma once

#include "plan/parser.h"

namespace planrun {

/// Parses the body of an `objects` step.
Status ParseObjectsStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out);

}  // namespace planrun
