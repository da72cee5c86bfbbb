/* TensorFlow's op's set-up arithmetic for the micro frontend's window and filterbank (see the header).
 * Each expression keeps the types TensorFlow's build evaluates it in: float variables, double math. */
#include "frontend_tables.h"

#include <math.h>
#include <stdlib.h>

/* Separate roundings, never fused multiply-adds (the Cortex-M4F has single-precision VFMA). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define kPi 3.14159265358979323846
#define kIndexAlignment 2 /* the library aligns channel starts to 4 bytes of int16 */
#define kChannelBlock 4   /* and pads each channel's weights to a multiple of 4 */

static float HzToMel(float hz) { return (float)(1127.0 * log1p(hz / 700.0)); }

static void SetWindow(struct WindowState* window) {
  const float step = (float)(kPi * 2.0 / (float)window->size);
  for (size_t i = 0; i < window->size; ++i) {
    const float hann = (float)(0.5 - 0.5 * cos(step * (i + 0.5)));
    window->coefficients[i] = (int16_t)floor(hann * (float)(1 << kFrontendWindowBits) + 0.5);
  }
}

static int SetFilterbank(const struct FilterbankConfig* config, struct FilterbankState* bank, int sample_rate,
                         int spectrum_size) {
  const int bands = config->num_channels + 1; /* the library's extra channel feeds the last one's slope */
  const float mel_low = HzToMel(config->lower_band_limit);
  const float mel_spacing = (HzToMel(config->upper_band_limit) - mel_low) / (float)bands;
  const float hz_per_bin = (float)(0.5 * sample_rate / ((float)spectrum_size - 1.0f));
  int16_t* first_bin = malloc(bands * sizeof(*first_bin));
  int16_t* bin_count = malloc(bands * sizeof(*bin_count));
  if (first_bin == NULL || bin_count == NULL) {
    free(first_bin);
    free(bin_count);
    return 0;
  }
  /* Pass 1: which FFT bins each band takes, and the library's padded layout for them. Bands without
   * bins point at a block of zero weights placed before all others. */
  bank->start_index = (int)(1.5 + config->lower_band_limit / hz_per_bin);
  int bin = bank->start_index;
  int weight_count = 0;
  int zero_block = 0;
  for (int band = 0; band < bands; ++band) {
    const float center = mel_low + mel_spacing * (float)(band + 1);
    first_bin[band] = (int16_t)bin;
    while (HzToMel(bin * hz_per_bin) <= center) ++bin;
    bin_count[band] = (int16_t)(bin - first_bin[band]);
    if (bin_count[band] == 0) {
      bank->channel_frequency_starts[band] = 0;
      bank->channel_weight_starts[band] = 0;
      bank->channel_widths[band] = kChannelBlock;
      if (!zero_block) {
        zero_block = 1;
        for (int previous = 0; previous < band; ++previous) bank->channel_weight_starts[previous] += kChannelBlock;
        weight_count += kChannelBlock;
      }
    } else {
      const int aligned = first_bin[band] / kIndexAlignment * kIndexAlignment;
      const int padded = ((first_bin[band] - aligned + bin_count[band] - 1) / kChannelBlock + 1) * kChannelBlock;
      bank->channel_frequency_starts[band] = (int16_t)aligned;
      bank->channel_weight_starts[band] = (int16_t)weight_count;
      bank->channel_widths[band] = (int16_t)padded;
      weight_count += padded;
    }
  }
  bank->end_index = bin;
  free(bank->weights);
  free(bank->unweights);
  bank->weights = calloc(weight_count, sizeof(*bank->weights));
  bank->unweights = calloc(weight_count, sizeof(*bank->unweights));
  /* Pass 2: each bin's weight falls linearly in mel from 1 at the previous band's centre to 0 at
   * this band's centre; its unweight is the rest. */
  for (int band = 0; band < bands && bank->weights != NULL && bank->unweights != NULL; ++band) {
    const float center = mel_low + mel_spacing * (float)(band + 1);
    const float previous_center = band == 0 ? mel_low : mel_low + mel_spacing * (float)band;
    const int offset = bank->channel_weight_starts[band] + first_bin[band] - bank->channel_frequency_starts[band];
    for (int j = 0; j < bin_count[band]; ++j) {
      const float weight = (center - HzToMel((first_bin[band] + j) * hz_per_bin)) / (center - previous_center);
      bank->weights[offset + j] = (int16_t)floor(weight * (float)(1 << kFilterbankBits) + 0.5);
      bank->unweights[offset + j] = (int16_t)floor((1.0 - weight) * (1 << kFilterbankBits) + 0.5);
    }
  }
  free(first_bin);
  free(bin_count);
  return bank->weights != NULL && bank->unweights != NULL && bank->end_index < spectrum_size;
}

int FrontendUseTensorFlowTables(const struct FrontendConfig* config, struct FrontendState* state, int sample_rate) {
  SetWindow(&state->window);
  return SetFilterbank(&config->filterbank, &state->filterbank, sample_rate, (int)(state->fft.fft_size / 2 + 1));
}
