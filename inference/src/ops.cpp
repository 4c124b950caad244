#include "ops.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "karyon/core/errors.hpp"

namespace karyon::inference::ops {
namespace {

void check_boxes(const at::Tensor& boxes, const at::Tensor& scores) {
  if (boxes.dim() != 2 || boxes.size(1) != 4)
    throw core::InvalidArgument("nms: boxes must be (N, 4), got " + std::to_string(boxes.dim()) + "-d");
  if (scores.dim() != 1 || scores.size(0) != boxes.size(0))
    throw core::InvalidArgument("nms: scores must be (N) with N = " + std::to_string(boxes.size(0)));
}

void check_rois(const at::Tensor& input, const at::Tensor& rois) {
  if (input.dim() != 4) throw core::InvalidArgument("roi_align: input must be (N, C, H, W)");
  if (rois.dim() != 2 || rois.size(1) != 5) throw core::InvalidArgument("roi_align: rois must be (K, 5)");
}

template <typename T>
at::Tensor nms_impl(const at::Tensor& dets, const at::Tensor& scores, double thr) {
  const auto order_t = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const at::Tensor d = dets.contiguous();
  const int64_t n = d.size(0);
  const T* b = d.data_ptr<T>();
  const int64_t* order = order_t.data_ptr<int64_t>();
  std::vector<T> areas(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) areas[i] = (b[i * 4 + 2] - b[i * 4 + 0]) * (b[i * 4 + 3] - b[i * 4 + 1]);
  std::vector<char> suppressed(static_cast<std::size_t>(n), 0);
  std::vector<int64_t> keep;
  keep.reserve(static_cast<std::size_t>(n));
  for (int64_t oi = 0; oi < n; ++oi) {
    const int64_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    const T ix1 = b[i * 4], iy1 = b[i * 4 + 1], ix2 = b[i * 4 + 2], iy2 = b[i * 4 + 3], iarea = areas[i];
    for (int64_t oj = oi + 1; oj < n; ++oj) {
      const int64_t j = order[oj];
      if (suppressed[j]) continue;
      const T w = std::max(static_cast<T>(0), std::min(ix2, b[j * 4 + 2]) - std::max(ix1, b[j * 4]));
      const T h = std::max(static_cast<T>(0), std::min(iy2, b[j * 4 + 3]) - std::max(iy1, b[j * 4 + 1]));
      const T inter = w * h;
      const T ovr = inter / (iarea + areas[j] - inter);
      if (ovr > static_cast<T>(thr)) suppressed[j] = 1;
    }
  }
  return at::tensor(keep, at::TensorOptions().dtype(at::kLong));
}

// Per-axis bilinear sampling parameters, as torchvision's roi_align computes them.
template <typename T>
struct Axis {
  int64_t lo = 0, hi = 0;
  T wlo = 0, whi = 0;  // weight of lo and hi; both 0 when the sample is outside
};

template <typename T>
Axis<T> axis_sample(T v, int64_t size) {
  Axis<T> a;
  if (v < static_cast<T>(-1.0) || v > static_cast<T>(size)) return a;  // contributes 0
  if (v <= 0) v = 0;
  int64_t lo = static_cast<int64_t>(v);
  int64_t hi;
  if (lo >= size - 1) {
    hi = lo = size - 1;
    v = static_cast<T>(lo);
  } else {
    hi = lo + 1;
  }
  const T l = v - static_cast<T>(lo);
  a.lo = lo;
  a.hi = hi;
  a.wlo = static_cast<T>(1) - l;
  a.whi = l;
  return a;
}

template <typename T>
// `channels_last`: input is NHWC in memory (at::MemoryFormat::ChannelsLast). Then each bilinear tap reads C
// contiguous values and the channel loop is innermost (vectorised); the sum per output runs in the same order
// as in the NCHW loop, so both layouts give identical results.
void roi_align_cpu_impl(const at::Tensor& input, const at::Tensor& rois, at::Tensor& out, double spatial_scale,
                        int64_t PH, int64_t PW, int64_t sampling_ratio, bool aligned, bool channels_last) {
  const int64_t C = input.size(1), H = input.size(2), W = input.size(3);
  const int64_t K = rois.size(0);
  const T* in = input.data_ptr<T>();
  const T* r = rois.data_ptr<T>();
  T* o = out.data_ptr<T>();
  at::parallel_for(0, K, 1, [&](int64_t k0, int64_t k1) {
    std::vector<Axis<T>> ys, xs;
    for (int64_t k = k0; k < k1; ++k) {
      const T* roi = r + k * 5;
      const int64_t bi = static_cast<int64_t>(roi[0]);
      const T off = aligned ? static_cast<T>(0.5) : static_cast<T>(0.0);
      const T sw = roi[1] * static_cast<T>(spatial_scale) - off;
      const T sh = roi[2] * static_cast<T>(spatial_scale) - off;
      const T ew = roi[3] * static_cast<T>(spatial_scale) - off;
      const T eh = roi[4] * static_cast<T>(spatial_scale) - off;
      T rw = ew - sw, rh = eh - sh;
      if (!aligned) {
        rw = std::max(rw, static_cast<T>(1.));
        rh = std::max(rh, static_cast<T>(1.));
      }
      const T bh = rh / static_cast<T>(PH), bw = rw / static_cast<T>(PW);
      const int64_t gh = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(rh / PH));
      const int64_t gw = sampling_ratio > 0 ? sampling_ratio : static_cast<int64_t>(std::ceil(rw / PW));
      const T count = static_cast<T>(std::max<int64_t>(gh * gw, 1));
      ys.assign(static_cast<std::size_t>(PH * gh), {});
      xs.assign(static_cast<std::size_t>(PW * gw), {});
      for (int64_t ph = 0; ph < PH; ++ph)
        for (int64_t iy = 0; iy < gh; ++iy)
          ys[ph * gh + iy] = axis_sample<T>(sh + ph * bh + static_cast<T>(iy + .5f) * bh / static_cast<T>(gh), H);
      for (int64_t pw = 0; pw < PW; ++pw)
        for (int64_t ix = 0; ix < gw; ++ix)
          xs[pw * gw + ix] = axis_sample<T>(sw + pw * bw + static_cast<T>(ix + .5f) * bw / static_cast<T>(gw), W);
      if (channels_last) {
        const T* image = in + bi * H * W * C;
        std::vector<T> acc(static_cast<std::size_t>(C));
        for (int64_t ph = 0; ph < PH; ++ph)
          for (int64_t pw = 0; pw < PW; ++pw) {
            std::fill(acc.begin(), acc.end(), static_cast<T>(0));
            for (int64_t iy = 0; iy < gh; ++iy) {
              const Axis<T>& y = ys[ph * gh + iy];
              for (int64_t ix = 0; ix < gw; ++ix) {
                const Axis<T>& x = xs[pw * gw + ix];
                const T w1 = y.wlo * x.wlo, w2 = y.wlo * x.whi, w3 = y.whi * x.wlo, w4 = y.whi * x.whi;
                const T* p1 = image + (y.lo * W + x.lo) * C;
                const T* p2 = image + (y.lo * W + x.hi) * C;
                const T* p3 = image + (y.hi * W + x.lo) * C;
                const T* p4 = image + (y.hi * W + x.hi) * C;
                T* a = acc.data();
                for (int64_t c = 0; c < C; ++c) a[c] += w1 * p1[c] + w2 * p2[c] + w3 * p3[c] + w4 * p4[c];
              }
            }
            for (int64_t c = 0; c < C; ++c) o[((k * C + c) * PH + ph) * PW + pw] = acc[static_cast<std::size_t>(c)] / count;
          }
        continue;
      }
      for (int64_t c = 0; c < C; ++c) {
        const T* plane = in + (bi * C + c) * H * W;
        T* op = o + (k * C + c) * PH * PW;
        for (int64_t ph = 0; ph < PH; ++ph)
          for (int64_t pw = 0; pw < PW; ++pw) {
            T acc = 0;
            for (int64_t iy = 0; iy < gh; ++iy) {
              const Axis<T>& y = ys[ph * gh + iy];
              for (int64_t ix = 0; ix < gw; ++ix) {
                const Axis<T>& x = xs[pw * gw + ix];
                const T w1 = y.wlo * x.wlo, w2 = y.wlo * x.whi, w3 = y.whi * x.wlo, w4 = y.whi * x.whi;
                acc += w1 * plane[y.lo * W + x.lo] + w2 * plane[y.lo * W + x.hi] + w3 * plane[y.hi * W + x.lo] +
                       w4 * plane[y.hi * W + x.hi];
              }
            }
            op[ph * PW + pw] = acc / count;
          }
      }
    }
  });
}

}  // namespace

at::Tensor nms_cpu_kernel(const at::Tensor& boxes, const at::Tensor& scores, double thr) {
  check_boxes(boxes, scores);
  if (boxes.size(0) == 0) return at::empty({0}, at::TensorOptions().dtype(at::kLong));
  if (boxes.scalar_type() == at::kDouble) return nms_impl<double>(boxes.cpu(), scores.cpu(), thr);
  return nms_impl<float>(boxes.cpu().to(at::kFloat), scores.cpu().to(at::kFloat), thr);
}

at::Tensor nms_generic(const at::Tensor& boxes_in, const at::Tensor& scores, double thr) {
  check_boxes(boxes_in, scores);
  const auto dev = boxes_in.device();
  const int64_t n = boxes_in.size(0);
  if (n == 0) return at::empty({0}, at::TensorOptions().dtype(at::kLong).device(dev));
  const at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, 0, /*descending=*/true));
  const at::Tensor b = boxes_in.index_select(0, order);
  const at::Tensor x1 = b.select(1, 0), y1 = b.select(1, 1), x2 = b.select(1, 2), y2 = b.select(1, 3);
  const at::Tensor area = (x2 - x1) * (y2 - y1);
  // Rows of the "suppresses" matrix come over in chunks; suppression only ever points forward in
  // score order, so the greedy pass can consume them chunk by chunk.
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n, (int64_t{1} << 24) / n));
  std::vector<char> suppressed(static_cast<std::size_t>(n), 0);
  std::vector<int64_t> keep;
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t r1 = std::min(n, r0 + chunk);
    const auto sl = [&](const at::Tensor& t) { return t.slice(0, r0, r1).unsqueeze(1); };
    const at::Tensor w = (at::minimum(sl(x2), x2.unsqueeze(0)) - at::maximum(sl(x1), x1.unsqueeze(0))).clamp_min(0);
    const at::Tensor h = (at::minimum(sl(y2), y2.unsqueeze(0)) - at::maximum(sl(y1), y1.unsqueeze(0))).clamp_min(0);
    const at::Tensor inter = w * h;
    const at::Tensor iou = inter / (sl(area) + area.unsqueeze(0) - inter);
    const at::Tensor m = (iou > thr).to(at::kByte).cpu().contiguous();
    const uint8_t* mp = m.data_ptr<uint8_t>();
    for (int64_t i = r0; i < r1; ++i) {
      if (suppressed[i]) continue;
      keep.push_back(i);
      const uint8_t* row = mp + (i - r0) * n;
      for (int64_t j = i + 1; j < n; ++j)
        if (row[j]) suppressed[j] = 1;
    }
  }
  const at::Tensor k = at::tensor(keep, at::TensorOptions().dtype(at::kLong)).to(dev);
  return order.index_select(0, k);
}

at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double thr) {
  if (boxes.device().is_cpu()) return nms_cpu_kernel(boxes, scores, thr);
  return nms_generic(boxes, scores, thr);
}

at::Tensor batched_nms(const at::Tensor& boxes, const at::Tensor& scores, const at::Tensor& idxs, double thr) {
  check_boxes(boxes, scores);
  const auto dev = boxes.device();
  if (boxes.numel() == 0) return at::empty({0}, at::TensorOptions().dtype(at::kLong).device(dev));
  // The same two strategies and switch-over sizes as torchvision, so results agree exactly.
  if (boxes.numel() > (dev.is_cpu() ? 4000 : 100000)) {
    at::Tensor keep_mask = at::zeros_like(scores, at::TensorOptions().dtype(at::kBool));
    const at::Tensor classes = std::get<0>(at::_unique(idxs.cpu(), /*sorted=*/true));
    for (int64_t c = 0; c < classes.size(0); ++c) {
      const at::Tensor cur = at::where(idxs == classes[c].item<int64_t>())[0];
      const at::Tensor k = nms(boxes.index_select(0, cur), scores.index_select(0, cur), thr);
      keep_mask.index_fill_(0, cur.index_select(0, k), true);
    }
    const at::Tensor keep = at::where(keep_mask)[0];
    const at::Tensor order = std::get<1>(scores.index_select(0, keep).sort(0, /*descending=*/true));
    return keep.index_select(0, order);
  }
  const at::Tensor max_coordinate = boxes.max();
  const at::Tensor offsets = idxs.to(boxes.scalar_type()) * (max_coordinate + at::ones({}, boxes.options()));
  return nms(boxes + offsets.unsqueeze(1), scores, thr);
}

at::Tensor roi_align_cpu_kernel(const at::Tensor& input, const at::Tensor& rois, double spatial_scale, int64_t PH,
                                int64_t PW, int64_t sampling_ratio, bool aligned) {
  check_rois(input, rois);
  const bool channels_last = !input.is_contiguous() && input.is_contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor in = channels_last ? input : input.contiguous();
  const at::Tensor r = rois.to(in.scalar_type()).contiguous();
  at::Tensor out = at::zeros({r.size(0), in.size(1), PH, PW}, in.options().memory_format(at::MemoryFormat::Contiguous));
  if (r.size(0) == 0 || in.numel() == 0) return out;
  if (in.scalar_type() == at::kDouble)
    roi_align_cpu_impl<double>(in, r, out, spatial_scale, PH, PW, sampling_ratio, aligned, channels_last);
  else if (in.scalar_type() == at::kFloat)
    roi_align_cpu_impl<float>(in, r, out, spatial_scale, PH, PW, sampling_ratio, aligned, channels_last);
  else
    return roi_align_cpu_kernel(input.to(at::kFloat), rois.to(at::kFloat), spatial_scale, PH, PW, sampling_ratio,
                                aligned)
        .to(input.scalar_type());
  return out;
}

at::Tensor roi_align_generic(const at::Tensor& input, const at::Tensor& rois_in, double spatial_scale, int64_t PH,
                             int64_t PW, int64_t S, bool aligned) {
  check_rois(input, rois_in);
  if (S <= 0) throw core::InvalidArgument("roi_align_generic: sampling_ratio must be > 0, got " + std::to_string(S));
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const int64_t K = rois_in.size(0);
  const auto opts = input.options();
  if (K == 0 || input.numel() == 0) return at::zeros({K, C, PH, PW}, opts);
  const at::Tensor rois = rois_in.to(input.scalar_type());
  // (N*H*W, C): each sample gathers C contiguous values.
  const at::Tensor flat = input.permute({0, 2, 3, 1}).reshape({N * H * W, C});
  const double off = aligned ? 0.5 : 0.0;
  const at::Tensor bidx = rois.select(1, 0).to(at::kLong);
  const at::Tensor sw = rois.select(1, 1) * spatial_scale - off, sh = rois.select(1, 2) * spatial_scale - off;
  const at::Tensor ew = rois.select(1, 3) * spatial_scale - off, eh = rois.select(1, 4) * spatial_scale - off;
  at::Tensor rw = ew - sw, rh = eh - sh;
  if (!aligned) {
    rw = rw.clamp_min(1.0);
    rh = rh.clamp_min(1.0);
  }
  const at::Tensor bw = rw / static_cast<double>(PW), bh = rh / static_cast<double>(PH);
  // Sample coordinates per axis: (K, P, S).
  auto coords = [&](const at::Tensor& start, const at::Tensor& bin, int64_t P) {
    const at::Tensor p = at::arange(P, opts).view({1, P, 1});
    const at::Tensor i = (at::arange(S, opts) + 0.5).view({1, 1, S});
    return start.view({-1, 1, 1}) + p * bin.view({-1, 1, 1}) + i * bin.view({-1, 1, 1}) / static_cast<double>(S);
  };
  struct AxisT {
    at::Tensor lo, hi, wlo, whi;
  };
  auto axis = [&](at::Tensor v, int64_t size) {
    const at::Tensor valid = (v >= -1.0) & (v <= static_cast<double>(size));
    v = v.clamp_min(0);
    at::Tensor lo = v.floor().to(at::kLong);  // v >= 0 here, so floor == truncation
    const at::Tensor at_edge = lo >= size - 1;
    lo = at::where(at_edge, at::full_like(lo, size - 1), lo);
    const at::Tensor hi = at::where(at_edge, lo, lo + 1);
    v = at::where(at_edge, lo.to(v.scalar_type()), v);
    const at::Tensor l = v - lo.to(v.scalar_type());
    const at::Tensor vf = valid.to(v.scalar_type());
    return AxisT{lo, hi, (1 - l) * vf, l * vf};
  };
  const AxisT ya = axis(coords(sh, bh, PH), H);  // (K, PH, S)
  const AxisT xa = axis(coords(sw, bw, PW), W);  // (K, PW, S)
  const double count = static_cast<double>(std::max<int64_t>(S * S, 1));
  at::Tensor out = at::empty({K, C, PH, PW}, opts);
  const int64_t per_roi = PH * S * PW * S * C;
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(per_roi, 1));
  for (int64_t k0 = 0; k0 < K; k0 += chunk) {
    const int64_t k1 = std::min(K, k0 + chunk), kc = k1 - k0;
    const auto ys = [&](const at::Tensor& t) { return t.slice(0, k0, k1).view({kc, PH, S, 1, 1}); };
    const auto xs = [&](const at::Tensor& t) { return t.slice(0, k0, k1).view({kc, 1, 1, PW, S}); };
    const at::Tensor base = (bidx.slice(0, k0, k1) * (H * W)).view({kc, 1, 1, 1, 1});
    at::Tensor acc = at::zeros({kc, PH, S, PW, S, C}, opts);
    const at::Tensor* yl[2] = {&ya.lo, &ya.hi};
    const at::Tensor* yw[2] = {&ya.wlo, &ya.whi};
    const at::Tensor* xl[2] = {&xa.lo, &xa.hi};
    const at::Tensor* xw[2] = {&xa.wlo, &xa.whi};
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b) {
        const at::Tensor idx = (base + ys(*yl[a]) * W + xs(*xl[b])).reshape({-1});
        const at::Tensor wgt = (ys(*yw[a]) * xs(*xw[b])).unsqueeze(-1);
        acc.add_(flat.index_select(0, idx).view({kc, PH, S, PW, S, C}) * wgt);
      }
    out.slice(0, k0, k1).copy_(acc.sum({2, 4}).div_(count).permute({0, 3, 1, 2}));
  }
  return out;
}

at::Tensor roi_align(const at::Tensor& input, const at::Tensor& rois, double spatial_scale, int64_t PH, int64_t PW,
                     int64_t sampling_ratio, bool aligned) {
  if (input.device().is_cpu()) return roi_align_cpu_kernel(input, rois, spatial_scale, PH, PW, sampling_ratio, aligned);
  return roi_align_generic(input, rois, spatial_scale, PH, PW, sampling_ratio, aligned);
}

}  // namespace karyon::inference::ops
