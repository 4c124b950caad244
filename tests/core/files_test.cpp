// The .partial + rename rule every output follows (core::write_file_atomically).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "karyon/core/files.hpp"

using namespace karyon;
namespace fs = std::filesystem;

namespace {
std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST(AtomicWrite, replaces_the_old_file_and_leaves_no_partial) {
  const fs::path dir = fs::temp_directory_path() / ("karyon_atomic_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path f = dir / "report.json";
  core::write_file_atomically(f, "old\n", "report");
  core::write_file_atomically(f, std::string("new\0bytes", 9), "report");
  EXPECT_EQ(read_all(f), std::string("new\0bytes", 9));
  EXPECT_FALSE(fs::exists(core::partial_path(f)));
  fs::remove_all(dir);
}

TEST(AtomicWrite, failure_names_the_file_and_keeps_the_old_one) {
  const fs::path dir = fs::temp_directory_path() / ("karyon_atomic_ro_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path f = dir / "summary.json";
  core::write_file_atomically(f, "complete\n", "summary");
  // The partial path is a folder: the write cannot happen, and the finished file must survive.
  fs::create_directories(core::partial_path(f));
  try {
    core::write_file_atomically(f, "half", "summary");
    FAIL() << "no error";
  } catch (const core::OutputError& e) {
    EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("summary"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(f), "complete\n");
  fs::remove_all(dir);
}
