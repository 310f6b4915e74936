// Small parsing helpers the step kinds share, on top of MapReader.
#pragma once

#include <initializer_list>
#include <string>

#include "plan/map_reader.h"

namespace planrun {

/// Checks that the reader's node is a mapping whose keys are all among
/// `keys`, so a misspelt key is reported ("did you mean") before a missing
/// required one. Call before the getters.
Status CheckKeys(MapReader& reader, std::initializer_list<const char*> keys);

/// Reads SQL text under `key`: an error "'<key>' in <what> is empty" when it
/// is given but blank, and "<what> needs '<key>'" when `required` and absent.
Status ReadSql(MapReader& reader, const std::string& key, std::string* out, bool required);

}  // namespace planrun
