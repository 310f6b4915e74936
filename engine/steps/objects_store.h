// Object stores of the `objects` step and the transfer of one batch: each
// row's source is downloaded (streamed to a temp file, hashed on the way),
// its key computed, the store asked whether it already holds that key with
// the same sha256 (then nothing is sent), and the rest uploaded. Transfers
// run concurrently through one net::Client; dir stores work on the calling
// thread. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "steps/objects_spec.h"

namespace planrun {

/// One row's object on its way through a batch.
struct ObjectItem {
  /// kSkipped: the url hook returned nil for the row.
  enum class State { kPending, kExisting, kUploaded, kRejected, kSkipped };
  std::map<std::string, std::string> vars;  // the row's non-NULL columns, then the step's fields
  std::string source_url;
  std::string temp_file;
  std::string sha256;
  int64_t size = 0;
  std::string content_type;
  std::string key;  // the object key
  /// `key` came from the url hook, not the key template.
  bool key_given = false;
  /// From the url hook: headers sent with this row's upload.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string location;             // the store's URL or path of the object
  std::vector<std::string> values;  // the expanded row templates (ObjectsSpec::RowTemplates)
  State state = State::kPending;
  std::string reason;  // kRejected: why

  void Reject(const std::string& why) {
    state = State::kRejected;
    reason = why;
  }
};

/// Where objects go; made from a StoreSpec with its env: values resolved.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  /// The URL or path of `key` (REQUIRES: key checked by CheckKey).
  virtual std::string Location(const std::string& key) const = 0;
  /// Marks each pending item kExisting when the store holds its key with the
  /// same sha256, or rejects it when the store cannot be asked.
  virtual void Check(net::Client& client, const std::vector<ObjectItem*>& items) = 0;
  /// Uploads each pending item from its temp file: kUploaded or rejected.
  virtual void Upload(net::Client& client, const std::vector<ObjectItem*>& items) = 0;
  /// Deletes the objects at `locations` (an absent one counts as deleted);
  /// the first failure is returned after trying them all.
  virtual Status Delete(net::Client& client, const std::vector<std::string>& locations,
                        int64_t* deleted) = 0;
  /// "http store http://host/base", "dir store /srv/objects": for messages.
  virtual std::string Describe() const = 0;
};

/// Makes the store of `spec`, reading its env: settings; `what` names the
/// step in errors about unset variables.
Status MakeObjectStore(const StoreSpec& spec, const std::string& what,
                       std::unique_ptr<ObjectStore>* out);

/// A key a store can take: not empty, no "..", ".", empty or leading "/" segment.
bool CheckKey(const std::string& key, std::string* why);

/// Moves one batch: download every item's source_url into its temp_file,
/// fill sha256/size/content_type and the key fields, compute key (unless
/// key_given), location and the `set` values (a NULL template variable
/// rejects the row before its object is sent), then Check and Upload (with
/// each item's headers). Items end kExisting, kUploaded or kRejected with a
/// reason. Sources are http and https URLs, and file:// URLs whose real path
/// lies inside `files_root` (a real path; empty: none).
void TransferBatch(const ObjectsSpec& spec, const std::string& files_root, ObjectStore& store,
                   net::Client& client, const std::vector<ObjectItem*>& items);

/// The second half of TransferBatch, for items whose temp_file, sha256 and
/// size are already filled, and vars (a files source's "name" among them)
/// or source_url (a table source's, for {name} and {ext}):
/// computes key, location and the row templates, then Check and Upload.
void StoreBatch(const ObjectsSpec& spec, ObjectStore& store, net::Client& client,
                const std::vector<ObjectItem*>& items);

/// The real path of `root` (from.files_root, env: expanded) for TransferBatch;
/// `what` names the step in errors.
Status ResolveFilesRoot(const std::string& root, const std::string& what, std::string* out);

}  // namespace planrun
