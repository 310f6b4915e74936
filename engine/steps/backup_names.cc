#include "steps/backup_names.h"

#include "util/sha256.h"

namespace planrun {

namespace {
/// Length of the hash suffix ShortIdentifier appends.
constexpr size_t kHashChars = 8;
}  // namespace

std::string ShortIdentifier(const std::string& name) {
  if (name.size() <= kMaxIdentifierBytes) return name;
  size_t cut = kMaxIdentifierBytes - kHashChars - 1;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return name.substr(0, cut) + "_" + Sha256Hex(name).substr(0, kHashChars);
}

std::string BackupTableName(const std::string& version, const std::string& step_id,
                            const TableName& table, const std::string& suffix) {
  std::string v = version;
  for (char& c : v) {
    if (c == '.') c = '_';
  }
  const std::string schema = table.schema.empty() ? "public" : table.schema;
  return ShortIdentifier("v" + v + "__" + step_id + "__" + schema + "__" + table.name + suffix);
}

}  // namespace planrun
