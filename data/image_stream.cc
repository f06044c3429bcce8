#include "data/image_stream.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace amoeba {

ImageStream::ImageStream(std::shared_ptr<const ImageFileIndex> index,
                         std::vector<int64_t> entries,
                         const StreamOptions& options)
    : index_(std::move(index)),
      entries_(std::move(entries)),
      options_(options),
      view_bytes_(int64_t{3} * options.view.size * options.view.size),
      batches_((static_cast<int64_t>(entries_.size()) + options.batch_size -
                1) /
               options.batch_size),
      slots_(options.depth) {
  for (int64_t b = 0; b < std::min<int64_t>(options_.depth, batches_); ++b) {
    Slot& slot = slots_[b];
    slot.batch = b;
    slot.pending = static_cast<int>(BatchSize(b));
    slot.pixels.resize(static_cast<size_t>(options_.batch_size) * view_bytes_);
    slot.errors.assign(options_.batch_size, "");
  }
  const int threads = static_cast<int>(std::min<int64_t>(
      options_.threads, std::max<int64_t>(1, entries_.size())));
  for (int t = 0; t < threads; ++t) {
    // A thread that cannot be started (the process's thread limit): the
    // pass runs on those that did start; with none, the error goes up
    // (nothing is left running that the unfinished object would abandon).
    try {
      threads_.emplace_back([this] { Work(); });
    } catch (const std::system_error&) {
      if (threads_.empty()) throw;
      break;
    }
  }
}

ImageStream::~ImageStream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

int64_t ImageStream::BatchSize(int64_t batch) const {
  return std::min<int64_t>(options_.batch_size,
                           static_cast<int64_t>(entries_.size()) -
                               batch * options_.batch_size);
}

void ImageStream::Work() {
  const int64_t total = static_cast<int64_t>(entries_.size());
  while (true) {
    int64_t position;
    Slot* slot;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Claim the next image once its batch has a slot: at most `depth`
      // batches ahead of the reader.
      changed_.wait(lock, [&] {
        return stopping_ || next_position_ >= total ||
               next_position_ / options_.batch_size <
                   next_batch_ + options_.depth;
      });
      if (stopping_ || next_position_ >= total) return;
      position = next_position_++;
      slot = &slots_[(position / options_.batch_size) % options_.depth];
    }
    Decode(position, *slot);
    bool batch_done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch_done = --slot->pending == 0;
    }
    if (batch_done) changed_.notify_all();
  }
}

void ImageStream::Decode(int64_t position, Slot& slot) {
  const int64_t within = position % options_.batch_size;
  const int64_t entry = entries_[position];
  std::string& error = slot.errors[within];
  // The thread's exception boundary: an exception escaping a std::thread
  // would end the process.
  try {
    Rng rng(options_.seed ^ (static_cast<uint64_t>(position) *
                             0x9e3779b97f4a7c15ULL));
    const absl::Status status = ReadImageView(
        index_->path(entry), options_.view,
        options_.training_view ? &rng : nullptr,
        slot.pixels.data() + within * view_bytes_);
    error = status.ok() ? "" : std::string(status.message());
  } catch (const std::exception& e) {
    error = absl::StrCat(index_->path(entry), ": ", e.what());
  }
}

bool ImageStream::Next(uint8_t* pixels, StreamBatch* batch) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_batch_ >= batches_) return false;
  const int64_t b = next_batch_;
  Slot& slot = slots_[b % options_.depth];
  changed_.wait(lock, [&] { return slot.batch == b && slot.pending == 0; });
  lock.unlock();
  // The slot is the reader's alone now: no thread claims an image of batch
  // b + depth before next_batch_ moves on.
  const int64_t size = BatchSize(b);
  batch->count = 0;
  batch->labels.clear();
  batch->skipped.clear();
  for (int64_t i = 0; i < size; ++i) {
    if (!slot.errors[i].empty()) {
      batch->skipped.push_back(std::move(slot.errors[i]));
      slot.errors[i].clear();
      continue;
    }
    std::memcpy(pixels + batch->count * view_bytes_,
                slot.pixels.data() + i * view_bytes_, view_bytes_);
    batch->labels.push_back(
        index_->label(entries_[b * options_.batch_size + i]));
    ++batch->count;
  }
  lock.lock();
  const int64_t refill = b + options_.depth;
  if (refill < batches_) {
    slot.batch = refill;
    slot.pending = static_cast<int>(BatchSize(refill));
  } else {
    slot.batch = -1;
  }
  ++next_batch_;
  lock.unlock();
  changed_.notify_all();
  return true;
}

}  // namespace amoeba
