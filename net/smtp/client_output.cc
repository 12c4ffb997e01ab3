// Implementation of net/smtp/client_output.h. Owned text lives in one string that is
// emptied whenever the whole queue has been sent; consecutive owned appends share a piece.
#include "net/smtp/client_output.h"

#include "core/check.h"

namespace tern::net::smtp {

absl::string_view ClientOutput::View(const Piece& piece) const {
  if (piece.external != nullptr) return absl::string_view(piece.external, piece.size);
  return absl::string_view(owned_).substr(piece.offset, piece.size);
}

void ClientOutput::Append(absl::string_view text) {
  if (text.empty()) return;
  // Extend the last piece when it is owned text ending where the new text starts.
  if (head_ < pieces_.size()) {
    Piece& last = pieces_.back();
    if (last.external == nullptr && last.offset + last.size == owned_.size()) {
      owned_.append(text.data(), text.size());
      last.size += text.size();
      pending_bytes_ += text.size();
      return;
    }
  }
  pieces_.push_back({nullptr, owned_.size(), text.size()});
  owned_.append(text.data(), text.size());
  pending_bytes_ += text.size();
}

void ClientOutput::AppendExternal(absl::string_view bytes) {
  if (bytes.empty()) return;
  pieces_.push_back({bytes.data(), 0, bytes.size()});
  pending_bytes_ += bytes.size();
  pending_external_bytes_ += bytes.size();
}

size_t ClientOutput::Peek(std::span<absl::string_view> out) const {
  size_t n = 0;
  for (size_t i = head_; i < pieces_.size() && n < out.size(); ++i) out[n++] = View(pieces_[i]);
  return n;
}

size_t ClientOutput::Peek(std::span<Range> out) const {
  size_t n = 0;
  for (size_t i = head_; i < pieces_.size() && n < out.size(); ++i) {
    out[n++] = Range{View(pieces_[i]), pieces_[i].external != nullptr};
  }
  return n;
}

absl::string_view ClientOutput::Front() const {
  if (head_ == pieces_.size()) return absl::string_view();
  return View(pieces_[head_]);
}

bool ClientOutput::FrontIsExternal() const {
  return head_ < pieces_.size() && pieces_[head_].external != nullptr;
}

void ClientOutput::Consume(size_t n) {
  CHECK_LE(n, pending_bytes_);
  pending_bytes_ -= n;
  while (n > 0) {
    CHECK_LT(head_, pieces_.size());
    Piece& piece = pieces_[head_];
    const size_t used = n < piece.size ? n : piece.size;
    if (piece.external != nullptr) {
      piece.external += used;
      pending_external_bytes_ -= used;
    } else {
      piece.offset += used;
    }
    piece.size -= used;
    n -= used;
    if (piece.size == 0) ++head_;
  }
  if (head_ == pieces_.size()) Clear();
}

void ClientOutput::Clear() {
  owned_.clear();
  pieces_.clear();
  head_ = 0;
  pending_bytes_ = 0;
  pending_external_bytes_ = 0;
}

}  // namespace tern::net::smtp
