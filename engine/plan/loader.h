// Loader: a plans directory -> every plan in it, parsed, checked across files
// and sorted by version. Reads files through a FileSystem so tests can use an
// in-memory one.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plan/parser.h"
#include "plan/plan.h"

namespace planrun {

/// The file access the loader needs; RealFileSystem reads the disk.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  /// Every regular file under `dir` (recursive) ending in .yaml or .yml,
  /// sorted, as paths that start with `dir`.
  virtual Status ListPlanFiles(const std::string& dir, std::vector<std::string>* out) = 0;
  /// The whole content of `path`.
  virtual Status ReadFile(const std::string& path, std::string* out) = 0;
};

/// Reads the real disk.
std::unique_ptr<FileSystem> RealFileSystem();

/// Loads every plan under `dir`. Cross-file checks: duplicate versions
/// ("duplicate version 2; also declared at plans/a.yaml:1:10"), `requires`
/// naming no plan. Plans come back sorted by version. Also computes each
/// plan's checksum from its canonical text and referenced files.
Status LoadPlans(FileSystem& fs, const std::string& dir, const StepRegistry& kinds,
                 std::vector<std::unique_ptr<Plan>>* out);

/// Loads one plan file (no cross-file checks), with its checksum.
Status LoadPlanFile(FileSystem& fs, const std::string& path, const StepRegistry& kinds,
                    std::unique_ptr<Plan>* out);

}  // namespace planrun
