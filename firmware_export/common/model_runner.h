// Starts the TFLM interpreter over the generated model and checks its tensors against
// model_settings.h — shared by the Arduino sketch and the CMake app so both refuse the same mismatches.
#ifndef KWS_MODEL_RUNNER_H_
#define KWS_MODEL_RUNNER_H_

#include <stddef.h>
#include <stdint.h>

#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"

// Returns nullptr and sets *interpreter on success, else the reason it cannot run.
inline const char* StartInterpreter(uint8_t* arena, tflite::MicroInterpreter** interpreter) {
  const tflite::Model* model = tflite::GetModel(g_model);
  if (model->version() != TFLITE_SCHEMA_VERSION) return "model schema version differs from the library's";
  static KwsOpResolver resolver;
  if (RegisterKwsOps(resolver) != kTfLiteOk) return "could not register the model's ops";
  static tflite::MicroInterpreter instance(model, resolver, arena, kTensorArenaSize);
  if (instance.AllocateTensors() != kTfLiteOk) return "AllocateTensors failed: raise kTensorArenaSize";
  const TfLiteTensor* input = instance.input(0);
  const TfLiteTensor* output = instance.output(0);
  if (input->type != kTfLiteInt8 || input->bytes != static_cast<size_t>(kFeatureElementCount))
    return "model input is not int8 of kFeatureElementCount";
  if (output->type != kTfLiteInt8 || output->bytes != static_cast<size_t>(kCategoryCount))
    return "model output is not int8 of kCategoryCount";
  *interpreter = &instance;
  return nullptr;
}

#endif  // KWS_MODEL_RUNNER_H_
