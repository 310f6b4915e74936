#include "steps/parse_helpers.h"

#include "util/strings.h"

namespace planrun {

Status CheckKeys(MapReader& reader, std::initializer_list<const char*> keys) {
  PLANRUN_RETURN_IF_ERROR(reader.CheckIsMap());
  for (const char* key : keys) reader.Allow(key);
  return reader.Finish();
}

Status ReadSql(MapReader& reader, const std::string& key, std::string* out, bool required) {
  PLANRUN_RETURN_IF_ERROR(reader.String(key, out, required));
  const Node* node = reader.node().Get(key);
  if (node && Trim(*out).empty()) {
    return reader.Error(node->loc, "'" + key + "' in " + reader.what() + " is empty");
  }
  return Status::OK();
}

}  // namespace planrun
