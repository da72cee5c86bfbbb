// Generic Cortex-M keyword-spotting app: runs the model on a test feature buffer at the inference
// stride and feeds the recognizer, printing through TFLM's MicroPrintf into KwsBoardLog (kws_log.h:
// stdout by default, or your board layer's UART/semihosting sink). Static code; model specifics
// come from the generated headers next to this file.
#include <stdint.h>
#include <string.h>

#include "kws_log.h"
#include "model_runner.h"
#include "model_settings.h"
#include "recognizer.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/system_setup.h"

namespace {

constexpr int kTestInferences = 100;
alignas(16) uint8_t g_tensor_arena[kTensorArenaSize];

// Silence: a zero filterbank maps to -128. Replace with a captured feature map (49 x 40 int8 from
// the host frontend) to compare device scores with the host's.
void FillTestFeatures(int8_t* features) { memset(features, -128, kFeatureElementCount); }

int Fail(const char* reason) {
  MicroPrintf("kws: %s", reason);
  return 1;
}

}  // namespace

int main() {
  tflite::InitializeTarget();
  KwsStartLogging();

  tflite::MicroInterpreter* started = nullptr;
  if (const char* problem = StartInterpreter(g_tensor_arena, &started)) return Fail(problem);
  tflite::MicroInterpreter& interpreter = *started;
  TfLiteTensor* input = interpreter.input(0);
  TfLiteTensor* output = interpreter.output(0);
  MicroPrintf("kws: model %s, arena used %u of %d bytes", kModelSha256,
              static_cast<unsigned>(interpreter.arena_used_bytes()), kTensorArenaSize);

  static Recognizer<kCategoryCount, kRecognizerCapacity> recognizer(
      kCategoryIsKeyword, kDetectionThreshold, kSmoothingWindowMs, kSuppressionMs, kMinimumCount);
  FillTestFeatures(input->data.int8);
  for (int step = 0; step < kTestInferences; ++step) {
    if (interpreter.Invoke() != kTfLiteOk) return Fail("Invoke failed");
    float posteriors[kCategoryCount];
    for (int i = 0; i < kCategoryCount; ++i) posteriors[i] = (output->data.int8[i] - kOutputZeroPoint) * kOutputScale;
    const int32_t now_ms = step * kInferenceStrideMs;
    const Recognition result = recognizer.Process(posteriors, now_ms);
    if (step == 0) {
      for (int i = 0; i < kCategoryCount; ++i)
        MicroPrintf("kws: score[%s] = %d (int8)", kCategoryLabels[i], output->data.int8[i]);
    }
    if (result.is_new) {
      MicroPrintf("kws: detected %s (score x1000 = %d) at %d ms", kCategoryLabels[result.label],
                  static_cast<int>(result.score * 1000), static_cast<int>(now_ms));
    }
  }
  MicroPrintf("kws: %d inferences done", kTestInferences);
  while (true) {
  }
}
