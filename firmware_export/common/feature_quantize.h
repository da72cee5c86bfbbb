// uint16 filterbank value → int8 model input, exactly as toolchain/frontend.py maps it on the host:
// ((v * value_scale + value_div / 2) / value_div) - 128, clamped to int8. Integer math only.
#ifndef KWS_FEATURE_QUANTIZE_H_
#define KWS_FEATURE_QUANTIZE_H_

#include <stdint.h>

#include "model_settings.h"

inline int8_t QuantizeFeature(uint16_t filterbank_value) {
  int32_t value = (static_cast<int32_t>(filterbank_value) * kFrontendValueScale + kFrontendValueDiv / 2) /
                  kFrontendValueDiv - 128;
  if (value < -128) value = -128;
  if (value > 127) value = 127;
  return static_cast<int8_t>(value);
}

#endif  // KWS_FEATURE_QUANTIZE_H_
