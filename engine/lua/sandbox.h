// Sandbox: one Lua state locked down for hook code, and the bookkeeping that
// enforces its limits. Internal to lua/.
//
// The state's allocator counts bytes and refuses allocations past the memory
// cap; a count hook (inherited by coroutines) charges VM instructions to the
// current call and raises an error when the budget is spent. Once a limit is
// hit, or the stack overflows, the sandbox is *poisoned*: every later count
// tick and every sandboxed pcall/xpcall re-raises, so hook code cannot catch
// the error, and Run() returns the failure as a Status. A poisoned sandbox
// refuses further calls.
//
// Every Lua API call that can raise runs inside Run() (a protected call);
// C functions written for the sandbox keep no C++ objects with destructors
// alive across API calls that may raise (Lua unwinds with longjmp).
//
// Thread safety: none; one thread per sandbox.
#pragma once

#include <lua5.4/lua.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lua/hook.h"
#include "util/status.h"

namespace planrun {
namespace lua {

/// A sandboxed Lua state with a memory cap and an instruction budget.
class Sandbox {
 public:
  /// Creates the state and opens the sandboxed environment and modules.
  /// `source` names the main chunk and the directory `require` reads from.
  static Status Create(const HookSource& source, const HookContext& context,
                       const HookLimits& limits, std::unique_ptr<Sandbox>* out);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  /// The sandbox that owns `L` (any of its threads).
  static Sandbox* From(lua_State* L) { return *static_cast<Sandbox**>(lua_getextraspace(L)); }

  lua_State* state() const { return L_; }

  /// Calls fn(arg) in protected mode with a fresh instruction budget;
  /// `unit` words the budget in messages ("row" or "call"). Returns the
  /// failure when the sandbox is (or becomes) poisoned, "hook <chunk>: ..."
  /// for any other error fn raises.
  Status Run(lua_CFunction fn, void* arg, const char* unit);

  /// lua_pcall for C functions inside Run(): on an error that poisons the
  /// sandbox it re-raises, else returns the status with the error on top.
  int ProtectedCall(lua_State* L, int nargs, int nresults);

  /// Looks at an error that a protected call caught (status and the object
  /// on top of L's stack) and returns true when the sandbox is poisoned.
  bool OnError(lua_State* L, int status);
  /// True once a limit was hit.
  bool poisoned();
  /// OK, or the failure that poisoned the sandbox.
  Status status() { return poisoned() ? Status::Failed(fatal_message_) : Status::OK(); }
  /// Raises the sandbox's abort error in L. REQUIRES: poisoned().
  [[noreturn]] static void Abort(lua_State* L);
  /// Charges `instructions` to the current call; past the budget, poisons
  /// the sandbox and raises. `ar` is the running Lua function in a count
  /// hook, else null and the nearest Lua caller is blamed.
  void Charge(lua_State* L, lua_Debug* ar, int64_t instructions);

  /// Poisons the sandbox for memory reasons other than a refused
  /// allocation, e.g. a module's own output buffer growing past the cap.
  void FailMemory(const std::string& details);

  /// "hook <chunk>:<line>: <msg>" from a Lua message: Lua's chunk names
  /// (cut to 59 bytes) are restored, and a message without a position gets
  /// the main chunk's name.
  std::string HookMessage(std::string_view lua_message) const;

  /// The text of the error object at `idx` for a reject reason: strings and
  /// numbers as is, a table's string `message` field, else its __tostring,
  /// else "(error object is a <type> value)". Runs __tostring protected.
  /// REQUIRES: inside Run().
  void ErrorText(lua_State* L, int idx, std::string* out);

  /// Sends "hook <step>: <msg>" to the reporter's Info, when there is one.
  void Log(std::string_view msg) const;

  /// Remembers the name of a loaded chunk so HookMessage can restore it;
  /// returns the stored copy (valid until the next call).
  const std::string& AddChunkName(const std::string& name);
  const std::string& chunk_name() const { return chunk_names_.front(); }
  const std::string& plan_dir() const { return plan_dir_; }
  size_t memory_limit() const { return limits_.memory_bytes; }
  int64_t instruction_budget() const { return limits_.instructions_per_call; }

  /// Scratch space for C functions: members, so an unwinding error skips no
  /// destructor. Each user clears what it uses first.
  std::string* scratch() { return &scratch_; }
  std::vector<std::string_view>* scratch_keys() { return &scratch_keys_; }
  /// Frees scratch space grown by a large value.
  void TrimScratch();

 private:
  enum class Fatal { kNone, kBudget, kMemory, kStack };

  Sandbox(const HookSource& source, const HookContext& context, const HookLimits& limits);
  static void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize);
  /// A block for `nsize` bytes (a free small block, or malloc); null when
  /// the system has none.
  void* NewBlock(size_t nsize);
  /// Frees a block of `size` bytes, or keeps it for reuse when it is small.
  void DropBlock(void* block, size_t size);
  static void CountHook(lua_State* L, lua_Debug* ar);
  static int OpenAll(lua_State* L);
  void BudgetSpent(lua_State* L, lua_Debug* ar);
  std::string RestoreChunkName(std::string_view m) const;
  void MarkMemory();
  void SetFatal(Fatal kind, std::string message);

  lua_State* L_ = nullptr;
  HookLimits limits_;
  std::string plan_dir_;
  std::string step_id_;
  Reporter* log_;
  std::vector<std::string> chunk_names_;  // the main chunk first, then required modules

  // Allocator accounting. A refused allocation poisons the sandbox unless
  // the very next allocation is Lua's retry of it (after an emergency
  // collection) and succeeds.
  size_t used_ = 0;
  bool refused_ = false;
  bool retry_pending_ = false;
  const void* refused_ptr_ = nullptr;
  size_t refused_osize_ = 0;
  size_t refused_nsize_ = 0;
  size_t refused_used_ = 0;

  // Small blocks (up to kSmallMax bytes, in classes of kGrain) that Lua
  // freed, kept for reuse: a row's tables and strings die right after its
  // call. A block of a class always has room for the class's largest size.
  static constexpr size_t kGrain = 16;
  static constexpr size_t kSmallMax = 256;
  static constexpr size_t kCacheMax = 1u << 20;  // bytes kept at most
  void* free_blocks_[kSmallMax / kGrain] = {};   // each links to the next by its first word
  size_t cached_ = 0;                            // bytes on the free lists

  int64_t instructions_ = 0;  // charged to the current Run()
  int hook_every_ = 10000;
  const char* unit_ = "call";
  Fatal fatal_ = Fatal::kNone;
  std::string fatal_message_;

  std::string scratch_;
  std::vector<std::string_view> scratch_keys_;
};

}  // namespace lua
}  // namespace planrun
