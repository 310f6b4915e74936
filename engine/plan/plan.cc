#include "plan/plan.h"

namespace planrun {

const StepDecl* Plan::FindStep(const std::string& id) const {
  for (const StepDecl& decl : steps) {
    if (decl.id == id) return &decl;
  }
  return nullptr;
}

}  // namespace planrun
