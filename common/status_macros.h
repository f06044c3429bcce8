// Small helpers for absl::Status propagation. Our Abseil (20220623) ships no
// status macros, so the project keeps exactly these two.
#ifndef AMOEBA_COMMON_STATUS_MACROS_H_
#define AMOEBA_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AMOEBA_STATUS_CONCAT_INNER_(a, b) a##b
#define AMOEBA_STATUS_CONCAT_(a, b) AMOEBA_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                             \
  do {                                                    \
    const absl::Status amoeba_status_ = (expr);           \
    if (!amoeba_status_.ok()) return amoeba_status_;      \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may
// be a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr)                                         \
  ASSIGN_OR_RETURN_IMPL_(AMOEBA_STATUS_CONCAT_(amoeba_statusor_, __LINE__), \
                         lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // AMOEBA_COMMON_STATUS_MACROS_H_
