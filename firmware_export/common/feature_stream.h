// Audio → int8 feature rows with the TFLM micro frontend, state carried across calls (the host's
// toolchain.frontend.stream_features does the same).
#ifndef KWS_FEATURE_STREAM_H_
#define KWS_FEATURE_STREAM_H_

#include <stdint.h>

// Configures the frontend from model_settings.h. False if it could not allocate its state.
bool FeatureStreamBegin();

// Feeds `count` samples. Each completed frame shifts `features` (kFeatureSliceCount rows of
// kFeatureSliceSize, oldest first) up by one row and writes the new row last.
// Returns how many rows were added.
int FeatureStreamPush(const int16_t* samples, int count, int8_t* features);

#endif  // KWS_FEATURE_STREAM_H_
