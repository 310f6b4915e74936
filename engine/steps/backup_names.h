// Names of the tables planrun creates to keep data for rollback (backup steps
// and drop_columns) and of the indexes it names itself. Every such name is
// deterministic and fits PostgreSQL's 63-byte identifier limit, so a re-run or
// a rollback finds the same objects again.
#pragma once

#include <string>

#include "plan/names.h"

namespace planrun {

/// PostgreSQL's longest identifier, in bytes.
inline constexpr size_t kMaxIdentifierBytes = 63;

/// `name` when it fits in 63 bytes; else its first 54 bytes (cut at a UTF-8
/// character boundary), "_" and the first 8 hex digits of sha256(name).
std::string ShortIdentifier(const std::string& name);

/// The backup table for `table` saved by step `step_id` of plan `version`:
/// "v<version, dots as _>__<step_id>__<schema or public>__<table><suffix>",
/// shortened by ShortIdentifier.
std::string BackupTableName(const std::string& version, const std::string& step_id,
                            const TableName& table, const std::string& suffix = "");

}  // namespace planrun
