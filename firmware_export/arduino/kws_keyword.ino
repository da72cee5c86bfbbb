// Keyword spotting on the Arduino Nano 33 BLE Sense: microphone → micro frontend → int8 model (the
// whole window every stride, or a streaming twin every hop: common/model_loop.h) → streaming
// recognizer → Serial + LED. Static code; everything model-specific lives in the
// generated model_settings.h, model_data.h and op_resolver.h next to this file.
#include <TensorFlowLite.h>

#include "audio_capture.h"
#include "feature_stream.h"
#include "model_loop.h"
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
ModelLoop g_model_loop;
Recognizer<kCategoryCount, kRecognizerCapacity> g_recognizer(
    kCategoryIsKeyword, kDetectionThreshold, kSmoothingWindowMs, kSuppressionMs, kMinimumCount);
uint32_t g_samples_consumed = 0;
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

  if (const char* problem = g_model_loop.Begin(g_tensor_arena)) return Fail(problem);

  if (!FeatureStreamBegin()) return Fail("micro frontend setup failed");
  memset(g_features, -128, sizeof(g_features));
  if (!AudioCaptureBegin()) return Fail("PDM microphone did not start");
  g_samples_consumed = AudioSamplesWritten();

  Serial.print("kws: ready, model sha256 ");
  Serial.print(kModelSha256);
  Serial.print(", arena used ");
  Serial.print(static_cast<unsigned long>(g_model_loop.interpreter().arena_used_bytes()));
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
  // Never read past the frame the model is next due on, even when catching up after a slow run:
  // the model then sees the rows the host simulates.
  const int frames = g_model_loop.FramesUntilDue() < kAudioChunkFrames ? g_model_loop.FramesUntilDue() : kAudioChunkFrames;
  const uint32_t limit = static_cast<uint32_t>(frames * kStepSampleCount);
  const int count = static_cast<int>(available < limit ? available : limit);
  if (!AudioCaptureRead(g_samples_consumed, g_audio, count)) {
    Fail("audio overrun (inference slower than real time); skipping ahead");
    g_samples_consumed = AudioSamplesWritten();
    return;
  }
  g_samples_consumed += count;

  const int rows = FeatureStreamPush(g_audio, count, g_features);
  const uint32_t invoke_started_us = micros();
  ModelStep step;
  if (const char* problem = g_model_loop.Advance(g_features, rows, &step)) return Fail(problem);
  if (!step.ran) return;
  if (!g_timing_reported) {
    // The measured figure to compare with the host's estimate (report.json) and the model's period.
    g_timing_reported = true;
    const uint32_t invoke_ms = (micros() - invoke_started_us) / 1000;
    Serial.print("kws: model run took ");
    Serial.print(static_cast<unsigned long>(invoke_ms));
    Serial.print(" ms; due every ");
    Serial.print(kModelPeriodMs);
#ifdef KWS_STREAM_MODEL
    Serial.println(invoke_ms > static_cast<uint32_t>(kModelPeriodMs) ? " ms: too slow, use a smaller model" : " ms");
#else
    Serial.println(invoke_ms > static_cast<uint32_t>(kModelPeriodMs)
                       ? " ms: too slow, export again with a longer --inference-stride-ms"
                       : " ms");
#endif
  }
  if (!step.decide) return;
  const int8_t* scores = g_model_loop.scores();
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
