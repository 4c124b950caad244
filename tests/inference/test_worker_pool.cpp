// The worker pool gives the same detections whatever the batch size and worker count, hands a
// failed worker's tiles to the others, and reports when none is left.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <atomic>
#include <cstring>

#include "karyon/inference/worker_pool.hpp"
#include "parity_util.hpp"
#include "test_util.hpp"

namespace karyon::inference {
namespace {

std::vector<TileJob> load_tiles() {
  const auto t = test::load_tensors(test::refdata("tiles.safetensors"));
  std::vector<TileJob> jobs;
  for (int i = 0; t.count("tile" + std::to_string(i)); ++i) {
    const at::Tensor img = t.at("tile" + std::to_string(i)).contiguous();
    TileJob j;
    j.tile_id = 1000 + i;
    j.image = core::RgbImage(static_cast<int>(img.size(1)), static_cast<int>(img.size(0)));
    std::memcpy(j.image.pixels.data(), img.data_ptr<uint8_t>(), j.image.pixels.size());
    jobs.push_back(std::move(j));
  }
  return jobs;
}

std::vector<test::RefDet> as_ref(const std::vector<Detection>& ds, int w, int h) {
  std::vector<test::RefDet> out;
  for (const auto& d : ds) {
    test::RefDet r{{d.x0, d.y0, d.x1, d.y1}, d.score, d.label, test::full_mask(d, w, h)};
    out.push_back(std::move(r));
  }
  return out;
}

class Pool : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    jobs_ = new std::vector<TileJob>(load_tiles());
    const Model m = Model::load(test::refdata("r18_thin.json"));
    single_ = new std::vector<std::vector<Detection>>();
    for (const auto& j : *jobs_) single_->push_back(m.detect(j.image));
  }
  static void TearDownTestSuite() {
    delete jobs_;
    delete single_;
  }
  static void expect_same_as_single(const std::vector<TileResult>& res, const std::string& what) {
    ASSERT_EQ(res.size(), jobs_->size()) << what;
    int compared = 0;
    for (std::size_t i = 0; i < res.size(); ++i) {
      EXPECT_EQ(res[i].tile_id, (*jobs_)[i].tile_id);
      const auto& img = (*jobs_)[i].image;
      const auto st = test::compare(as_ref((*single_)[i], img.width, img.height), res[i].detections, img.width,
                                    img.height, what + " tile " + std::to_string(i));
      EXPECT_EQ(st.ours, st.ref);
      EXPECT_EQ(st.matched, st.ref);
      compared += st.matched;
    }
    EXPECT_GE(compared, 100) << what << ": too few detections compared";
  }
  static std::vector<TileJob>* jobs_;
  static std::vector<std::vector<Detection>>* single_;
};
std::vector<TileJob>* Pool::jobs_ = nullptr;
std::vector<std::vector<Detection>>* Pool::single_ = nullptr;

TEST_F(Pool, output_does_not_depend_on_batch_size_or_worker_count) {
  for (int workers : {1, 2})
    for (int batch : {1, 3}) {
      PoolOptions o;
      o.workers_per_device = workers;
      o.batch_size = batch;
      WorkerPool pool(test::refdata("r18_thin.json"), o);
      EXPECT_EQ(pool.worker_count(), workers);
      const auto res = pool.run_all(*jobs_);
      expect_same_as_single(res, "workers " + std::to_string(workers) + " batch " + std::to_string(batch));
    }
}

// CPU workers share out LibTorch's default thread count (one process-wide setting), so that N workers do
// not each start that many threads; an explicit count is taken as given.
TEST_F(Pool, cpu_workers_share_out_the_intra_op_threads) {
  const int cores = at::intraop_default_num_threads();  // OMP_NUM_THREADS=2 in this suite
  ASSERT_GE(cores, 2);
  for (int workers : {1, 2}) {
    PoolOptions o;
    o.workers_per_device = workers;
    WorkerPool pool(test::refdata("r18_thin.json"), o);
    EXPECT_EQ(at::get_num_threads(), cores / workers) << workers << " worker(s)";
  }
  PoolOptions o;
  o.workers_per_device = 2;
  o.threads_per_worker = 3;
  WorkerPool pool(test::refdata("r18_thin.json"), o);
  EXPECT_EQ(at::get_num_threads(), 3);
}

TEST_F(Pool, failed_worker_hands_its_tiles_back) {
  PoolOptions o;
  o.workers_per_device = 2;
  o.batch_size = 2;
  std::atomic<int> failures{0};
  o.before_batch = [&](int worker, std::int64_t, std::size_t) {
    if (worker == 0) {
      ++failures;
      throw std::runtime_error("simulated device failure");
    }
  };
  WorkerPool pool(test::refdata("r18_thin.json"), o);
  const auto res = pool.run_all(*jobs_);
  EXPECT_GE(failures.load(), 1);
  for (const auto& r : res) EXPECT_EQ(r.worker, 1);
  expect_same_as_single(res, "after failure");
}

TEST_F(Pool, out_of_memory_halves_the_batch_and_retries) {
  PoolOptions o;
  o.batch_size = 4;
  std::atomic<int> ooms{0};
  std::atomic<std::size_t> largest_ok{0};
  o.before_batch = [&](int, std::int64_t, std::size_t tiles) {
    if (tiles > 2) {  // the "device" fits 2 tiles
      ++ooms;
      throw OutOfMemory("simulated CUDA out of memory");
    }
    largest_ok = std::max(largest_ok.load(), tiles);
  };
  WorkerPool pool(test::refdata("r18_thin.json"), o);
  const auto res = pool.run_all(*jobs_);
  EXPECT_GE(ooms.load(), 1);
  EXPECT_EQ(largest_ok.load(), 2u);
  expect_same_as_single(res, "after OOM halving");
}

TEST_F(Pool, reduced_precision_path_runs_and_roughly_agrees) {
  // bf16 is meant for CUDA; allow_cpu_reduced_precision exercises the same casting code on the CPU.
  ModelOptions mo;
  mo.precision = Precision::Bf16;
  mo.allow_cpu_reduced_precision = true;
  const Model m = Model::load(test::refdata("r18_thin.json"), mo);
  ASSERT_EQ(m.precision(), Precision::Bf16);
  const auto& img = (*jobs_)[0].image;
  const auto got = m.detect(img);
  const auto& want = (*single_)[0];
  ASSERT_GE(want.size(), 50u);
  int close = 0;
  for (const auto& w : want) {
    const float wb[4] = {w.x0, w.y0, w.x1, w.y1};
    for (const auto& g : got) {
      const float gb[4] = {g.x0, g.y0, g.x1, g.y1};
      if (test::box_iou(wb, gb) > 0.7) {
        ++close;
        break;
      }
    }
  }
  std::printf("[bf16] %d of %zu fp32 detections have a bf16 detection with IoU > 0.7 (bf16 gave %zu)\n", close,
              want.size(), got.size());
  EXPECT_GE(close, static_cast<int>(want.size()) / 2);
}

TEST_F(Pool, every_worker_failing_is_reported_not_hung) {
  PoolOptions o;
  o.workers_per_device = 2;
  o.before_batch = [](int, std::int64_t, std::size_t) { throw std::runtime_error("simulated device failure"); };
  WorkerPool pool(test::refdata("r18_thin.json"), o);
  try {
    pool.run_all(*jobs_);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("simulated device failure"), std::string::npos);
  }
}

TEST_F(Pool, bad_tile_is_rejected_at_submit) {
  WorkerPool pool(test::refdata("r18_thin.json"), PoolOptions{});
  TileJob bad;
  bad.tile_id = 7;
  bad.image.width = 4;
  bad.image.height = 4;
  bad.image.pixels.resize(4 * 4 * 4);  // RGBA-sized buffer
  try {
    pool.submit(std::move(bad));
    FAIL() << "no exception";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("tile 7"), std::string::npos);
  }
}

TEST(Devices, cuda_requests_fall_back_to_cpu_without_cuda) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "CUDA present";
  EXPECT_EQ(resolve_devices("cuda:all"), std::vector<std::string>{"cpu"});
  EXPECT_EQ(resolve_devices("cuda:0"), std::vector<std::string>{"cpu"});
  EXPECT_EQ(resolve_devices("cpu"), std::vector<std::string>{"cpu"});
  EXPECT_THROW(resolve_devices("tpu:0"), core::InvalidArgument);
  EXPECT_THROW(resolve_devices(""), core::InvalidArgument);
}

}  // namespace
}  // namespace karyon::inference
