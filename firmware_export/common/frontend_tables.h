/* The micro frontend's set-up tables as TensorFlow's audio_microfrontend op computes them.
 *
 * Models are trained on features from TensorFlow's op. Its build of the frontend library computes
 * the Hann window and the mel filterbank weights in double precision (cos, log1p, floor); TFLM's
 * copy of the same library computes them in single precision (cosf, log1pf, floorf). At 16 kHz,
 * 30 ms windows and 40 channels, window coefficient 17 and three filterbank weights come out 1
 * apart, and a few feature values with them. Everything after the set-up (FFT, noise reduction,
 * PCAN, log) is integer code and identical in both, so rewriting these two tables once after
 * FrontendPopulateState() makes the device compute the training features exactly.
 */
#ifndef KWS_FRONTEND_TABLES_H_
#define KWS_FRONTEND_TABLES_H_

#include "tensorflow/lite/experimental/microfrontend/lib/frontend.h"
#include "tensorflow/lite/experimental/microfrontend/lib/frontend_util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Recomputes `state`'s window coefficients and filterbank layout and weights from `config` with
 * TensorFlow's op's arithmetic. Call right after FrontendPopulateState() with the same arguments.
 * Returns 0 if it could not allocate the filterbank weights. */
int FrontendUseTensorFlowTables(const struct FrontendConfig* config, struct FrontendState* state, int sample_rate);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* KWS_FRONTEND_TABLES_H_ */
