// Streaming keyword decision, shared by every firmware template. Static code: all numbers come
// from the generated model_settings.h.
//
// Each inference adds one row of posteriors (probabilities, one per label). A keyword is
// detected when, over the last kSmoothingWindowMs, at least kMinimumCount inferences were seen
// and the keyword's average posterior is >= kDetectionThreshold. A detection within
// kSuppressionMs of the previous one is reported but not marked new, so one utterance fires once.
#ifndef KWS_RECOGNIZER_H_
#define KWS_RECOGNIZER_H_

#include <stdint.h>

struct Recognition {
  int label;     // index into kCategoryLabels, or -1 when nothing is detected
  float score;   // averaged posterior of `label` (of the best keyword when label is -1)
  bool is_new;   // true once per utterance: act on this one
};

template <int kLabels, int kCapacity>
class Recognizer {
 public:
  Recognizer(const bool* is_keyword, float threshold, int32_t window_ms,
             int32_t suppression_ms, int minimum_count)
      : is_keyword_(is_keyword), threshold_(threshold), window_ms_(window_ms),
        suppression_ms_(suppression_ms), minimum_count_(minimum_count) {
    Reset();
  }

  void Reset() {
    head_ = 0;
    count_ = 0;
    has_detection_ = false;
    last_detection_ms_ = 0;
  }

  // `posteriors` holds kLabels probabilities; `now_ms` must not go backwards (a jump back resets).
  Recognition Process(const float* posteriors, int32_t now_ms) {
    if (count_ > 0 && now_ms < times_[Newest()]) Reset();
    Push(posteriors, now_ms);
    while (count_ > 0 && times_[Oldest()] <= now_ms - window_ms_) Pop();

    Recognition result = {-1, 0.0f, false};
    int best = -1;
    float best_score = 0.0f;
    for (int label = 0; label < kLabels; ++label) {
      if (!is_keyword_[label]) continue;
      float sum = 0.0f;
      for (int i = 0; i < count_; ++i) sum += scores_[(Oldest() + i) % kCapacity][label];
      const float average = sum / count_;
      if (best < 0 || average > best_score) {
        best = label;
        best_score = average;
      }
    }
    result.score = best_score;
    if (best < 0 || count_ < minimum_count_ || best_score < threshold_) return result;

    result.label = best;
    if (!has_detection_ || now_ms - last_detection_ms_ >= suppression_ms_) {
      result.is_new = true;
      has_detection_ = true;
      last_detection_ms_ = now_ms;
    }
    return result;
  }

  int count() const { return count_; }

 private:
  int Oldest() const { return (head_ - count_ + kCapacity) % kCapacity; }
  int Newest() const { return (head_ - 1 + kCapacity) % kCapacity; }

  void Push(const float* posteriors, int32_t now_ms) {
    for (int label = 0; label < kLabels; ++label) scores_[head_][label] = posteriors[label];
    times_[head_] = now_ms;
    head_ = (head_ + 1) % kCapacity;
    if (count_ < kCapacity) ++count_;  // when full, the oldest row is overwritten
  }

  void Pop() { --count_; }

  const bool* is_keyword_;
  float threshold_;
  int32_t window_ms_;
  int32_t suppression_ms_;
  int minimum_count_;
  float scores_[kCapacity][kLabels];
  int32_t times_[kCapacity];
  int head_;
  int count_;
  bool has_detection_;
  int32_t last_detection_ms_;
};

#endif  // KWS_RECOGNIZER_H_
