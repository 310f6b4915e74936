#include "plan/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/sha256.h"

namespace planrun {

namespace {

/// Reads plan files from the local disk.
class DiskFileSystem : public FileSystem {
 public:
  Status ListPlanFiles(const std::string& dir, std::vector<std::string>* out) override {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::string ext = it->path().extension().string();
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) {
        found.push_back(it->path().string());
      }
    }
    if (ec) return Status::Io("cannot read directory " + dir + ": " + ec.message());
    std::sort(found.begin(), found.end());
    *out = std::move(found);
    return Status::OK();
  }

  Status ReadFile(const std::string& path, std::string* out) override {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return Status::Io("cannot read " + path + ": " + std::strerror(errno));
    std::string content;
    char buf[64 * 1024];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
    int error = std::ferror(f) ? errno : 0;
    std::fclose(f);
    if (error != 0) return Status::Io("cannot read " + path + ": " + std::strerror(error));
    *out = std::move(content);
    return Status::OK();
  }
};

std::string LocText(const std::string& path, Loc loc) {
  return path + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

}  // namespace

std::unique_ptr<FileSystem> RealFileSystem() { return std::make_unique<DiskFileSystem>(); }

Status LoadPlanFile(FileSystem& fs, const std::string& path, const StepRegistry& kinds,
                    std::unique_ptr<Plan>* out) {
  SourceFile file{path, ""};
  PLANRUN_RETURN_IF_ERROR(fs.ReadFile(path, &file.text));
  auto plan = std::make_unique<Plan>();
  PLANRUN_RETURN_IF_ERROR(ParsePlan(file, kinds, plan.get()));
  // The checksum covers what the plan means and the content of every file it
  // references, not where the plans directory happens to live.
  Node root;
  PLANRUN_RETURN_IF_ERROR(ParseYaml(plan->source, &root));
  Sha256 sum;
  sum.Update(CanonicalText(root));
  for (const std::string& ref : plan->files) {
    std::string content;
    PLANRUN_RETURN_IF_ERROR(fs.ReadFile(ref, &content));
    sum.Update("\nfile " + std::to_string(content.size()) + "\n");
    sum.Update(content);
  }
  plan->checksum = sum.HexDigest();
  *out = std::move(plan);
  return Status::OK();
}

Status LoadPlans(FileSystem& fs, const std::string& dir, const StepRegistry& kinds,
                 std::vector<std::unique_ptr<Plan>>* out) {
  std::vector<std::string> paths;
  PLANRUN_RETURN_IF_ERROR(fs.ListPlanFiles(dir, &paths));
  std::vector<std::unique_ptr<Plan>> plans;
  for (const std::string& path : paths) {
    std::unique_ptr<Plan> plan;
    PLANRUN_RETURN_IF_ERROR(LoadPlanFile(fs, path, kinds, &plan));
    for (const auto& earlier : plans) {
      if (earlier->version == plan->version) {
        return PlanError(plan->source, plan->version_loc,
                         "duplicate version " + plan->version.text + "; also declared at " +
                             LocText(earlier->source.path, earlier->version_loc));
      }
    }
    plans.push_back(std::move(plan));
  }
  std::string shown_dir = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  for (const auto& plan : plans) {
    for (const auto& [required, loc] : plan->requires_versions) {
      const Version& want = required;  // a lambda cannot capture a structured binding in C++17
      bool found = std::any_of(plans.begin(), plans.end(),
                               [&want](const auto& p) { return p->version == want; });
      if (!found) {
        return PlanError(
            plan->source, loc,
            "plan requires version " + required.text + ", which is not in " + shown_dir);
      }
    }
  }
  std::stable_sort(plans.begin(), plans.end(),
                   [](const auto& a, const auto& b) { return a->version < b->version; });
  *out = std::move(plans);
  return Status::OK();
}

}  // namespace planrun
