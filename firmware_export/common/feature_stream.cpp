#include "feature_stream.h"

#include <string.h>

#include "feature_quantize.h"
#include "frontend_tables.h"
#include "model_settings.h"
#include "tensorflow/lite/experimental/microfrontend/lib/frontend.h"
#include "tensorflow/lite/experimental/microfrontend/lib/frontend_util.h"

namespace {
FrontendState g_state;
}  // namespace

bool FeatureStreamBegin() {
  FrontendConfig config;
  config.window.size_ms = kFrontendWindowSizeMs;
  config.window.step_size_ms = kFrontendWindowStepMs;
  config.filterbank.num_channels = kFrontendNumChannels;
  config.filterbank.upper_band_limit = kFrontendUpperBandLimit;
  config.filterbank.lower_band_limit = kFrontendLowerBandLimit;
  config.noise_reduction.smoothing_bits = kFrontendSmoothingBits;
  config.noise_reduction.even_smoothing = kFrontendEvenSmoothing;
  config.noise_reduction.odd_smoothing = kFrontendOddSmoothing;
  config.noise_reduction.min_signal_remaining = kFrontendMinSignalRemaining;
  config.pcan_gain_control.enable_pcan = kFrontendEnablePcan ? 1 : 0;
  config.pcan_gain_control.strength = kFrontendPcanStrength;
  config.pcan_gain_control.offset = kFrontendPcanOffset;
  config.pcan_gain_control.gain_bits = kFrontendGainBits;
  config.log_scale.enable_log = kFrontendEnableLog ? 1 : 0;
  config.log_scale.scale_shift = kFrontendScaleShift;
  // TFLM's set-up, then the window and filterbank tables the model's training features used.
  return FrontendPopulateState(&config, &g_state, kFrontendSampleRate) != 0 &&
         FrontendUseTensorFlowTables(&config, &g_state, kFrontendSampleRate) != 0;
}

int FeatureStreamPush(const int16_t* samples, int count, int8_t* features) {
  constexpr int kKeep = kFeatureElementCount - kFeatureSliceSize;
  int rows = 0;
  while (count > 0) {
    size_t read = 0;
    const FrontendOutput frame = FrontendProcessSamples(&g_state, samples, count, &read);
    samples += read;
    count -= static_cast<int>(read);
    if (frame.size == static_cast<size_t>(kFeatureSliceSize)) {
      memmove(features, features + kFeatureSliceSize, kKeep);
      for (int i = 0; i < kFeatureSliceSize; ++i) features[kKeep + i] = QuantizeFeature(frame.values[i]);
      ++rows;
    }
    if (read == 0) break;
  }
  return rows;
}
