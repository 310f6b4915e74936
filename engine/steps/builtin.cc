#include "steps/builtin.h"

#include "steps/add_columns_step.h"
#include "steps/backup_step.h"
#include "steps/copy_step.h"
#include "steps/create_index_step.h"
#include "steps/drop_columns_step.h"
#include "steps/objects_step.h"
#include "steps/rename_columns_step.h"
#include "steps/sql_step.h"
#include "steps/transform_step.h"
#include "steps/verify_step.h"

namespace planrun {

const StepRegistry& BuiltinSteps() {
  static const StepRegistry* registry = new StepRegistry{
      {"sql", ParseSqlStep},
      {"add_columns", ParseAddColumnsStep},
      {"drop_columns", ParseDropColumnsStep},
      {"rename_columns", ParseRenameColumnsStep},
      {"create_index", ParseCreateIndexStep},
      {"backup", ParseBackupStep},
      {"verify", ParseVerifyStep},
      {"copy", ParseCopyStep},
      {"transform", ParseTransformStep},
      {"objects", ParseObjectsStep},
  };
  return *registry;
}

}  // namespace planrun
