// One pass over files of an image folder, in an order the caller gives,
// as batches of views (image_views.h) decoded ahead on a pool of threads.
//
// Memory: the decoding threads run at most `depth` batches ahead of the
// reader, so a pass holds `depth` batches and one photo per thread,
// whatever the folder's size.
//
// Determinism: image j of the pass (its position in `entries`) draws its
// training view from an Rng seeded by (seed, j) alone, and batches hold the
// pass's images in order. The same entries and seed give the same batches
// whatever the thread count or timing.
//
// A file that cannot be read or decoded (damaged, truncated, not an image,
// too large, unreadable, vanished) is left out of its batch and reported in
// it, with the reason naming the file: a batch may hold fewer images than
// asked, or none. Nothing a file holds ends the process or the pass.
//
// Thread safety: Next() from one thread at a time. The destructor stops
// the threads (after the file each is decoding) and joins them.
#ifndef AMOEBA_DATA_IMAGE_STREAM_H_
#define AMOEBA_DATA_IMAGE_STREAM_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "data/image_files.h"
#include "data/image_views.h"

namespace amoeba {

struct StreamOptions {
  ViewOptions view;
  bool training_view = true;  // else the evaluation view
  uint64_t seed = 0;          // of the training views
  int batch_size = 64;
  int threads = 2;
  int depth = 3;  // batches decoded ahead of the reader
};

struct StreamBatch {
  int count = 0;  // images in it (<= batch_size)
  std::vector<int32_t> labels;  // count of them
  // Why each left-out file of this batch is left out.
  std::vector<std::string> skipped;
};

class ImageStream {
 public:
  // REQUIRES: every entry in [0, index->size()); batch_size, threads and
  // depth >= 1; view.size >= 1.
  ImageStream(std::shared_ptr<const ImageFileIndex> index,
              std::vector<int64_t> entries, const StreamOptions& options);
  ~ImageStream();
  ImageStream(const ImageStream&) = delete;
  ImageStream& operator=(const ImageStream&) = delete;

  int64_t batches() const { return batches_; }
  // The bytes of one view: 3 * size * size.
  int64_t view_bytes() const { return view_bytes_; }

  // The next batch's views into `pixels` (batch_size * view_bytes() bytes;
  // the first count * view_bytes() are written), in pass order. False
  // after the last batch.
  bool Next(uint8_t* pixels, StreamBatch* batch);

 private:
  struct Slot {
    int64_t batch = -1;  // which batch it holds
    int pending = 0;     // images still being decoded
    std::vector<uint8_t> pixels;
    std::vector<std::string> errors;  // per image; "" = decoded
  };

  int64_t BatchSize(int64_t batch) const;
  void Work();
  void Decode(int64_t position, Slot& slot);

  // Constant after construction.
  const std::shared_ptr<const ImageFileIndex> index_;
  const std::vector<int64_t> entries_;
  const StreamOptions options_;
  const int64_t view_bytes_;
  const int64_t batches_;

  std::mutex mu_;
  std::condition_variable changed_;
  int64_t next_position_ ABSL_GUARDED_BY(mu_) = 0;  // next image to claim
  int64_t next_batch_ ABSL_GUARDED_BY(mu_) = 0;     // next to hand out
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Slot b % depth holds batch b while next_batch_ <= b < next_batch_ +
  // depth; a decoding thread writes only its own image's bytes of it.
  std::vector<Slot> slots_;
  std::vector<std::thread> threads_;
};

}  // namespace amoeba

#endif  // AMOEBA_DATA_IMAGE_STREAM_H_
