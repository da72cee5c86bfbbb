// Generic Cortex-M keyword-spotting app: feeds test feature rows to the model as common/model_loop.h
// runs it (whole window at the inference stride, or a streaming twin every hop) and its decisions to
// the recognizer, printing through TFLM's MicroPrintf into KwsBoardLog (kws_log.h:
// stdout by default, or your board layer's UART/semihosting sink). Static code; model specifics
// come from the generated headers next to this file.
#include <stdint.h>
#include <string.h>

#include "kws_log.h"
#include "model_loop.h"
#include "model_settings.h"
#include "recognizer.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/system_setup.h"

namespace {

constexpr int kTestFrames = 500;  // 10 s of 20 ms rows
alignas(16) uint8_t g_tensor_arena[kTensorArenaSize];
int8_t g_features[kFeatureElementCount];

// Silence: a zero filterbank maps to -128. Replace with rows captured from the host frontend (or
// FeatureStreamPush on your microphone) to compare device scores with the host's.
void AddTestRow(int8_t* features) {
  memmove(features, features + kFeatureSliceSize, kFeatureElementCount - kFeatureSliceSize);
  memset(features + kFeatureElementCount - kFeatureSliceSize, -128, kFeatureSliceSize);
}

int Fail(const char* reason) {
  MicroPrintf("kws: %s", reason);
  return 1;
}

}  // namespace

int main() {
  tflite::InitializeTarget();
  KwsStartLogging();

  static ModelLoop model;
  if (const char* problem = model.Begin(g_tensor_arena)) return Fail(problem);
  MicroPrintf("kws: model %s, arena used %u of %d bytes", kModelSha256,
              static_cast<unsigned>(model.interpreter().arena_used_bytes()), kTensorArenaSize);

  static Recognizer<kCategoryCount, kRecognizerCapacity> recognizer(
      kCategoryIsKeyword, kDetectionThreshold, kSmoothingWindowMs, kSuppressionMs, kMinimumCount);
  memset(g_features, -128, sizeof(g_features));
  int decisions = 0;
  for (int frame = 0; frame < kTestFrames; ++frame) {
    AddTestRow(g_features);
    ModelStep step;
    if (const char* problem = model.Advance(g_features, 1, &step)) return Fail(problem);
    if (!step.decide) continue;
    const int8_t* scores = model.scores();
    float posteriors[kCategoryCount];
    for (int i = 0; i < kCategoryCount; ++i) posteriors[i] = (scores[i] - kOutputZeroPoint) * kOutputScale;
    // the end of the last audio sample the window uses, as the host's simulation clocks it
    const int32_t now_ms = static_cast<int32_t>(
        (static_cast<int64_t>(step.last_frame) * kStepSampleCount + kWindowSampleCount) * 1000 / kAudioSampleFrequency);
    const Recognition result = recognizer.Process(posteriors, now_ms);
    if (decisions++ == 0) {
      for (int i = 0; i < kCategoryCount; ++i) MicroPrintf("kws: score[%s] = %d (int8)", kCategoryLabels[i], scores[i]);
    }
    if (result.is_new) {
      MicroPrintf("kws: detected %s (score x1000 = %d) at %d ms", kCategoryLabels[result.label],
                  static_cast<int>(result.score * 1000), static_cast<int>(now_ms));
    }
  }
  MicroPrintf("kws: %d decisions over %d frames done", decisions, kTestFrames);
  while (true) {
  }
}
