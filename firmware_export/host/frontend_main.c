/* The device's frontend on the host: TFLM's micro frontend C library with TensorFlow's set-up tables
 * (common/frontend_tables.c), configured from the command line, reads int16 samples on stdin in steps
 * of one frame shift (as the firmware's audio loop feeds it) and prints each frame's uint16 filterbank
 * values. toolchain/firmware/host_frontend.py builds it with the host's C compiler from the same TFLM
 * tree and templates the firmware uses.
 *
 * usage: frontend_main RATE SIZE_MS STEP_MS CHANNELS UPPER LOWER SMOOTHING_BITS EVEN ODD MIN_SIGNAL
 *                      ENABLE_PCAN STRENGTH OFFSET GAIN_BITS ENABLE_LOG SCALE_SHIFT < audio.s16 */
#include <stdio.h>
#include <stdlib.h>

#include "frontend_tables.h"

int main(int argc, char** argv) {
  if (argc != 17) {
    fprintf(stderr, "frontend_main: expected 16 parameters, got %d\n", argc - 1);
    return 2;
  }
  struct FrontendConfig config;
  const int rate = atoi(argv[1]);
  config.window.size_ms = (size_t)atoi(argv[2]);
  config.window.step_size_ms = (size_t)atoi(argv[3]);
  config.filterbank.num_channels = atoi(argv[4]);
  config.filterbank.upper_band_limit = strtof(argv[5], NULL);
  config.filterbank.lower_band_limit = strtof(argv[6], NULL);
  config.noise_reduction.smoothing_bits = atoi(argv[7]);
  config.noise_reduction.even_smoothing = strtof(argv[8], NULL);
  config.noise_reduction.odd_smoothing = strtof(argv[9], NULL);
  config.noise_reduction.min_signal_remaining = strtof(argv[10], NULL);
  config.pcan_gain_control.enable_pcan = atoi(argv[11]);
  config.pcan_gain_control.strength = strtof(argv[12], NULL);
  config.pcan_gain_control.offset = strtof(argv[13], NULL);
  config.pcan_gain_control.gain_bits = atoi(argv[14]);
  config.log_scale.enable_log = atoi(argv[15]);
  config.log_scale.scale_shift = atoi(argv[16]);
  struct FrontendState state;
  if (!FrontendPopulateState(&config, &state, rate) || !FrontendUseTensorFlowTables(&config, &state, rate)) return 3;

  const size_t step = (size_t)rate * config.window.step_size_ms / 1000;
  int16_t* chunk = malloc(step * sizeof(int16_t));
  size_t count;
  while ((count = fread(chunk, sizeof(int16_t), step, stdin)) > 0) {
    const int16_t* samples = chunk;
    while (count > 0) {
      size_t read = 0;
      const struct FrontendOutput frame = FrontendProcessSamples(&state, samples, count, &read);
      samples += read;
      count -= read;
      for (size_t i = 0; i < frame.size; ++i) printf(i + 1 < frame.size ? "%u " : "%u\n", frame.values[i]);
      if (read == 0) break;
    }
  }
  free(chunk);
  FrontendFreeStateContents(&state);
  return 0;
}
