// Self-test on an emulated Cortex-M4F: the compiled-in test audio (test_audio.h) goes through the
// device's own pipeline — TFLM micro frontend → int8 features → model as common/model_loop.h runs
// it (whole window every kInferenceStrideFrames frames, or a streaming twin every hop) → recognizer —
// and every intermediate is printed for the host to compare with its simulation
// (toolchain/firmware/selftest.py). Executed instructions are counted per stage.
//
// Output lines (integers; int8 vectors as two hex digits per value):
//   calibrate <iterations> <ticks>                  a loop of exactly 2 × iterations instructions
//   arena <used bytes> <size>
//   feature <frame> <hex>                           one int8 row per 20 ms frame
//   hop <last frame> <hex outputs> <model ticks>     streaming twin only: every hop's run
//   inference <last frame> <time ms> <hex outputs> <label> <score float bits> <new> <model ticks> <recognizer ticks>
//   frontend <frames> <ticks>
//   op <index> <name> <runs> <ticks>                 every model operator, its ticks summed over all runs
//   done <inferences>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "feature_stream.h"
#include "kws_board.h"
#include "kws_log.h"
#include "model_loop.h"
#include "model_settings.h"
#include "recognizer.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "test_audio.h"

namespace {

alignas(16) uint8_t g_tensor_arena[kTensorArenaSize];
int8_t g_features[kFeatureElementCount];

void Hex(const int8_t* values, int count, char* text) {
  static const char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < count; ++i) {
    const uint8_t v = static_cast<uint8_t>(values[i]);
    text[2 * i] = kDigits[v >> 4];
    text[2 * i + 1] = kDigits[v & 15];
  }
  text[2 * count] = '\0';
}

uint32_t FloatBits(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// Counts each operator's instructions (TFLM calls it around every operator of an Invoke), summed
// over all invokes, so the host can say which ops a hop's instructions go to. The tables live
// outside the class: an object with a vtable is initialised data, zeroed tables are .bss.
constexpr int kMaxProfiledOps = 256;
const char* g_op_names[kMaxProfiledOps];
uint32_t g_op_started[kMaxProfiledOps];
uint32_t g_op_ticks[kMaxProfiledOps];
uint32_t g_op_runs[kMaxProfiledOps];

class OpCounter : public tflite::MicroProfilerInterface {
 public:
  uint32_t BeginEvent(const char* tag) override {
    const uint32_t index = next_ < kMaxProfiledOps ? next_++ : kMaxProfiledOps - 1;
    g_op_names[index] = tag;
    g_op_started[index] = KwsBoardTicks();
    return index;
  }

  void EndEvent(uint32_t index) override {
    g_op_ticks[index] += KwsBoardTicks() - g_op_started[index];
    ++g_op_runs[index];
  }

  // Called after each Invoke: the next operator is the graph's first again.
  void NextInvoke() { next_ = 0; }

  void Print() const {
    for (int i = 0; i < kMaxProfiledOps && g_op_runs[i] > 0; ++i)
      MicroPrintf("op %d %s %lu %lu", i, g_op_names[i], static_cast<unsigned long>(g_op_runs[i]),
                  static_cast<unsigned long>(g_op_ticks[i]));
  }

 private:
  uint32_t next_ = 0;
};

int Fail(const char* reason) {
  MicroPrintf("error %s", reason);
  return 1;
}

}  // namespace

int main() {
  tflite::InitializeTarget();
  KwsStartLogging();

  for (uint32_t iterations : {100000u, 1100000u}) {
    const uint32_t start = KwsBoardTicks();
    KwsBoardBusyLoop(iterations);
    MicroPrintf("calibrate %lu %lu", static_cast<unsigned long>(iterations),
                static_cast<unsigned long>(KwsBoardTicks() - start));
  }

  static OpCounter op_counter;
  static ModelLoop model;
  if (const char* problem = model.Begin(g_tensor_arena, &op_counter)) return Fail(problem);
  MicroPrintf("arena %u %d", static_cast<unsigned>(model.interpreter().arena_used_bytes()), kTensorArenaSize);
  if (!FeatureStreamBegin()) return Fail("micro frontend setup failed");
  memset(g_features, -128, sizeof(g_features));

  static Recognizer<kCategoryCount, kRecognizerCapacity> recognizer(
      kCategoryIsKeyword, kDetectionThreshold, kSmoothingWindowMs, kSuppressionMs, kMinimumCount);
  char text[2 * (kFeatureSliceSize > kCategoryCount ? kFeatureSliceSize : kCategoryCount) + 1];
  uint32_t frontend_ticks = 0;
  int frames = 0;
  int inferences = 0;
  // One frame step at a time, as the device's audio loop delivers it; the frontend keeps its state.
  for (int offset = 0; offset < kTestAudioSamples; offset += kStepSampleCount) {
    const int count = kTestAudioSamples - offset < kStepSampleCount ? kTestAudioSamples - offset : kStepSampleCount;
    const uint32_t frontend_start = KwsBoardTicks();
    const int rows = FeatureStreamPush(g_test_audio + offset, count, g_features);
    frontend_ticks += KwsBoardTicks() - frontend_start;
    for (int row = 0; row < rows; ++row) {  // FeatureStreamPush adds at most one row per step
      Hex(g_features + kFeatureElementCount - kFeatureSliceSize, kFeatureSliceSize, text);
      MicroPrintf("feature %d %s", frames, text);
      ++frames;

      const uint32_t model_start = KwsBoardTicks();
      ModelStep step;
      if (const char* problem = model.Advance(g_features, 1, &step)) return Fail(problem);
      const uint32_t model_ticks = KwsBoardTicks() - model_start;
      if (!step.ran) continue;
      op_counter.NextInvoke();
      const int8_t* scores = model.scores();
#ifdef KWS_STREAM_MODEL
      Hex(scores, kCategoryCount, text);
      MicroPrintf("hop %d %s %lu", step.last_frame, text, static_cast<unsigned long>(model_ticks));
#endif
      if (!step.decide) continue;

      // The host's clock: the end of the last audio sample the window uses (stream.window_end_ms).
      const int32_t last_frame = step.last_frame;
      const int32_t now_ms = static_cast<int32_t>(
          (static_cast<int64_t>(last_frame) * kStepSampleCount + kWindowSampleCount) * 1000 / kAudioSampleFrequency);
      const uint32_t recognizer_start = KwsBoardTicks();
      float posteriors[kCategoryCount];
      for (int i = 0; i < kCategoryCount; ++i) posteriors[i] = (scores[i] - kOutputZeroPoint) * kOutputScale;
      const Recognition result = recognizer.Process(posteriors, now_ms);
      const uint32_t recognizer_ticks = KwsBoardTicks() - recognizer_start;

      Hex(scores, kCategoryCount, text);
      MicroPrintf("inference %d %ld %s %d %lu %d %lu %lu", static_cast<int>(last_frame), static_cast<long>(now_ms), text,
                  result.label, static_cast<unsigned long>(FloatBits(result.score)), result.is_new ? 1 : 0,
                  static_cast<unsigned long>(model_ticks), static_cast<unsigned long>(recognizer_ticks));
      ++inferences;
    }
  }
  MicroPrintf("frontend %d %lu", frames, static_cast<unsigned long>(frontend_ticks));
  op_counter.Print();
  MicroPrintf("done %d", inferences);
  return 0;
}
