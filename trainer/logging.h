// glog in a translation unit that also includes LibTorch: include this
// instead of "glog/logging.h" there.
//
// A LibTorch built without glog (PyTorch's own builds: the pip wheels and
// the libtorch archives) defines LOG, VLOG, CHECK, DCHECK, DLOG, LOG_IF,
// VLOG_IF and VLOG_IS_ON itself, in c10/util/Logging.h. Both are system
// headers, so whichever comes last wins without a warning; with c10's,
// LOG(INFO) goes to c10's logger, which drops it below its WARNING
// threshold. This header brings c10's in first, drops those macros, then
// includes glog, so that glog's stand. A LibTorch built with glog (Debian's)
// maps c10's logging onto glog already: nothing is dropped then.
//
// REQUIRES: glog/logging.h not included before this header in the
// translation unit (it would then be skipped and LOG left undefined: a
// compile error, never a silent switch of logger).
#ifndef AMOEBA_TRAINER_LOGGING_H_
#define AMOEBA_TRAINER_LOGGING_H_

#include <c10/util/Logging.h>

#ifndef C10_USE_GLOG
#undef LOG
#undef LOG_IF
#undef VLOG
#undef VLOG_IF
#undef VLOG_IS_ON
#undef DLOG
#undef CHECK
#undef DCHECK
#endif

#include "glog/logging.h"

#endif  // AMOEBA_TRAINER_LOGGING_H_
