#pragma once
// Detection ops with torchvision.ops semantics (tested against torchvision on random inputs):
//   nms, batched_nms: boxes (N,4) x1,y1,x2,y2; IoU > threshold suppresses; returns int64 indices
//                     sorted by decreasing score. Empty input -> empty output.
//   roi_align:        input (N,C,H,W), rois (K,5) [batch_index, x1, y1, x2, y2] in input-image
//                     pixels, spatial_scale maps them to the feature map; aligned=false is
//                     Mask R-CNN's convention. Empty rois -> (0,C,PH,PW).
// Each op has a plain CPU kernel and a "generic" version built from ATen tensor ops that runs on
// any device (used on CUDA). The public entry points pick by device.
#include <ATen/ATen.h>

namespace karyon::inference::ops {

at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold);
at::Tensor nms_cpu_kernel(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold);
at::Tensor nms_generic(const at::Tensor& boxes, const at::Tensor& scores, double iou_threshold);

at::Tensor batched_nms(const at::Tensor& boxes, const at::Tensor& scores, const at::Tensor& idxs,
                       double iou_threshold);

at::Tensor roi_align(const at::Tensor& input, const at::Tensor& rois, double spatial_scale, int64_t pooled_h,
                     int64_t pooled_w, int64_t sampling_ratio, bool aligned);
at::Tensor roi_align_cpu_kernel(const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                                int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio, bool aligned);
// sampling_ratio must be > 0 (a fixed sampling grid is what makes it vectorisable).
at::Tensor roi_align_generic(const at::Tensor& input, const at::Tensor& rois, double spatial_scale,
                             int64_t pooled_h, int64_t pooled_w, int64_t sampling_ratio, bool aligned);

}  // namespace karyon::inference::ops
