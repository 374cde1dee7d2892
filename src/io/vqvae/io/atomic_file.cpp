#include <vqvae/io/atomic_file.h>

#include <vqvae/core/interrupt.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace vqvae {
namespace {

[[noreturn]] void cannot_create(const std::string& path) {
  throw IoError(path + ": cannot create a file in folder '" + folder_of(path) +
                "' (missing or not writable)");
}

// A unique empty file `<folder>/.<name>.<tag>.XXXXXX`; returns its name, or "" on failure.
std::string create_unique(const std::string& path, const char* tag) {
  const auto slash = path.find_last_of('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string pattern = folder_of(path) + "/." + base + "." + tag + ".XXXXXX";
  const int fd = mkstemp(pattern.data());
  if (fd < 0) return {};
  // mkstemp creates the file 0600; give the result the mode a plain create would (0666 & ~umask).
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  close(fd);
  return pattern;
}

}  // namespace

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  temporary_path_ = create_unique(path_, "tmp");
  if (temporary_path_.empty()) cannot_create(path_);
  // A second SIGINT / SIGTERM (core/interrupt.h) removes it before the process exits.
  register_temporary(temporary_path_.c_str());
}

AtomicFile::~AtomicFile() {
  // Removed before it is unregistered: a signal in between finds it gone (unlink fails, harmless).
  if (!committed_) std::remove(temporary_path_.c_str());
  if (!committed_) unregister_temporary(temporary_path_.c_str());
}

void AtomicFile::commit() {
  if (committed_) return;
  if (std::rename(temporary_path_.c_str(), path_.c_str()) != 0)
    throw IoError(path_ + ": cannot rename '" + temporary_path_ + "' over it");
  committed_ = true;
  unregister_temporary(temporary_path_.c_str());
}

void write_file_atomically(const std::string& path, const std::string& content) {
  AtomicFile file(path);
  std::FILE* out = std::fopen(file.temporary_path().c_str(), "wb");
  if (!out) cannot_create(path);
  const bool written = std::fwrite(content.data(), 1, content.size(), out) == content.size();
  const bool closed = std::fclose(out) == 0;
  if (!written || !closed) throw IoError(path + ": write failed");
  file.commit();
}

void check_writable_folder(const std::string& path) {
  if (path.empty()) return;
  const std::string probe = create_unique(path, "write-check");
  if (probe.empty()) cannot_create(path);
  std::remove(probe.c_str());
}

}  // namespace vqvae
