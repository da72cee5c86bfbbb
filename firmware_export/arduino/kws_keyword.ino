// Keyword spotting on the Arduino Nano 33 BLE Sense: microphone → micro frontend → int8 model →
// streaming recognizer → Serial + LED. Static code; everything model-specific lives in the
// generated model_settings.h, model_data.h and op_resolver.h next to this file.
#include <TensorFlowLite.h>

#include "audio_capture.h"
#include "feature_stream.h"
#include "model_runner.h"
#include "model_settings.h"
#include "recognizer.h"
#include "tensorflow/lite/micro/micro_interpreter.h"

namespace {

constexpr int kAudioChunkFrames = 4;
constexpr int kAudioChunkSamples = kAudioChunkFrames * kStepSampleCount;
constexpr uint32_t kLedOnMs = 500;

alignas(16) uint8_t g_tensor_arena[kTensorArenaSize];
int8_t g_features[kFeatureElementCount];
int16_t g_audio[kAudioChunkSamples];
tflite::MicroInterpreter* g_interpreter = nullptr;
Recognizer<kCategoryCount, kRecognizerCapacity> g_recognizer(
    kCategoryIsKeyword, kDetectionThreshold, kSmoothingWindowMs, kSuppressionMs, kMinimumCount);
uint32_t g_samples_consumed = 0;
int g_frames_seen = 0;
int g_frames_since_inference = 0;
uint32_t g_led_on_since = 0;
bool g_led_on = false;
bool g_ready = false;
bool g_timing_reported = false;

void Fail(const char* reason) {
  Serial.print("kws: ");
  Serial.println(reason);
}

}  // namespace

void setup() {
  Serial.begin(115200);
  pinMode(LED_BUILTIN, OUTPUT);
  digitalWrite(LED_BUILTIN, LOW);

  if (const char* problem = StartInterpreter(g_tensor_arena, &g_interpreter)) return Fail(problem);

  if (!FeatureStreamBegin()) return Fail("micro frontend setup failed");
  memset(g_features, -128, sizeof(g_features));
  if (!AudioCaptureBegin()) return Fail("PDM microphone did not start");
  g_samples_consumed = AudioSamplesWritten();

  Serial.print("kws: ready, model sha256 ");
  Serial.print(kModelSha256);
  Serial.print(", arena used ");
  Serial.print(static_cast<unsigned long>(g_interpreter->arena_used_bytes()));
  Serial.print(" of ");
  Serial.println(kTensorArenaSize);
  g_ready = true;
}

void loop() {
  if (g_led_on && millis() - g_led_on_since >= kLedOnMs) {
    digitalWrite(LED_BUILTIN, LOW);
    g_led_on = false;
  }
  if (!g_ready) return;

  const uint32_t available = AudioSamplesWritten() - g_samples_consumed;
  if (available < static_cast<uint32_t>(kStepSampleCount)) return;
  // Never read past the frame the next inference is due on, even when catching up after a slow
  // inference: the model then sees windows every kInferenceStrideFrames, as the host simulates.
  int frames = kAudioChunkFrames;
  const int until_inference = kInferenceStrideFrames - g_frames_since_inference;
  if (g_frames_seen >= kFeatureSliceCount && until_inference > 0 && until_inference < frames) frames = until_inference;
  const uint32_t limit = static_cast<uint32_t>(frames * kStepSampleCount);
  const int count = static_cast<int>(available < limit ? available : limit);
  if (!AudioCaptureRead(g_samples_consumed, g_audio, count)) {
    Fail("audio overrun (inference slower than real time); skipping ahead");
    g_samples_consumed = AudioSamplesWritten();
    return;
  }
  g_samples_consumed += count;

  const int rows = FeatureStreamPush(g_audio, count, g_features);
  g_frames_seen += rows;
  g_frames_since_inference += rows;
  if (g_frames_seen < kFeatureSliceCount || g_frames_since_inference < kInferenceStrideFrames) return;
  g_frames_since_inference = 0;

  memcpy(g_interpreter->input(0)->data.int8, g_features, kFeatureElementCount);
  const uint32_t invoke_started_us = micros();
  if (g_interpreter->Invoke() != kTfLiteOk) return Fail("Invoke failed");
  if (!g_timing_reported) {
    // The measured figure to compare with the host's estimate (report.json) and kInferenceStrideMs.
    g_timing_reported = true;
    const uint32_t invoke_ms = (micros() - invoke_started_us) / 1000;
    Serial.print("kws: inference took ");
    Serial.print(static_cast<unsigned long>(invoke_ms));
    Serial.print(" ms; stride ");
    Serial.print(kInferenceStrideMs);
    Serial.println(invoke_ms > static_cast<uint32_t>(kInferenceStrideMs)
                       ? " ms: too slow, export again with a longer --inference-stride-ms"
                       : " ms");
  }
  const int8_t* scores = g_interpreter->output(0)->data.int8;
  float posteriors[kCategoryCount];
  for (int i = 0; i < kCategoryCount; ++i) posteriors[i] = (scores[i] - kOutputZeroPoint) * kOutputScale;

  // Audio time, not wall time: the same clock the host simulation uses.
  const int32_t now_ms = static_cast<int32_t>(g_samples_consumed / (kAudioSampleFrequency / 1000));
  const Recognition result = g_recognizer.Process(posteriors, now_ms);
  if (result.is_new) {
    Serial.print("detected ");
    Serial.print(kCategoryLabels[result.label]);
    Serial.print(" score ");
    Serial.print(result.score, 3);
    Serial.print(" at ");
    Serial.print(now_ms);
    Serial.println(" ms");
    digitalWrite(LED_BUILTIN, HIGH);
    g_led_on = true;
    g_led_on_since = millis();
  }
}
