// Starts the TFLM interpreter over the generated model and checks its tensors (a streaming twin's
// states included) against model_settings.h — shared by every template so all refuse the same mismatches.
#ifndef KWS_MODEL_RUNNER_H_
#define KWS_MODEL_RUNNER_H_

#include <stddef.h>
#include <stdint.h>

#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

// Returns nullptr and sets *interpreter on success, else the reason it cannot run. `profiler`, when
// given, hears the start and end of every operator the interpreter invokes.
inline const char* StartInterpreter(uint8_t* arena, tflite::MicroInterpreter** interpreter,
                                    tflite::MicroProfilerInterface* profiler = nullptr) {
  const tflite::Model* model = tflite::GetModel(g_model);
  if (model->version() != TFLITE_SCHEMA_VERSION) return "model schema version differs from the library's";
  static KwsOpResolver resolver;
  if (RegisterKwsOps(resolver) != kTfLiteOk) return "could not register the model's ops";
  static tflite::MicroInterpreter instance(model, resolver, arena, kTensorArenaSize, nullptr, profiler);
  if (instance.AllocateTensors() != kTfLiteOk) return "AllocateTensors failed: raise kTensorArenaSize";
  const TfLiteTensor* input = instance.input(kModelFramesInput);
  const TfLiteTensor* output = instance.output(kModelScoresOutput);
  if (input == nullptr || input->type != kTfLiteInt8 || input->bytes != static_cast<size_t>(kModelFramesInputBytes))
    return "model frames input is not int8 of kModelFramesInputBytes";
  if (output == nullptr || output->type != kTfLiteInt8 || output->bytes != static_cast<size_t>(kCategoryCount))
    return "model scores output is not int8 of kCategoryCount";
#ifdef KWS_STREAM_MODEL
  for (int i = 0; i < kStreamStateCount; ++i) {
    const TfLiteTensor* state_in = instance.input(kStreamStates[i].input);
    const TfLiteTensor* state_out = instance.output(kStreamStates[i].output);
    if (state_in == nullptr || state_out == nullptr || state_in->type != kTfLiteInt8 || state_out->type != kTfLiteInt8 ||
        state_in->bytes != static_cast<size_t>(kStreamStates[i].bytes) || state_out->bytes != state_in->bytes)
      return "a streaming state tensor differs from kStreamStates";
  }
#endif
  *interpreter = &instance;
  return nullptr;
}

#endif  // KWS_MODEL_RUNNER_H_
