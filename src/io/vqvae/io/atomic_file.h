// The one way this project writes a file: build it under a unique temporary name in the
// destination's folder, then rename it over the destination. A reader sees the old file or the
// new one, never half of one; a writer that fails or is destroyed before commit() leaves the old
// file untouched and removes its temporary; two writers of the same destination never share a
// temporary. While it exists the temporary is registered with core/interrupt.h, so that a second
// SIGINT / SIGTERM, which ends the process at once, removes it too. No LibTorch.
#pragma once

#include <stdexcept>
#include <string>

namespace vqvae {

/// A file could not be created, written or renamed. The message names the file (one line).
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AtomicFile {
 public:
  /// Creates the temporary `<folder>/.<name>.tmp.XXXXXX` beside `path`, with the mode a plain
  /// create gives (0666 & ~umask). Throws IoError "<path>: cannot create a file in folder
  /// '<folder>' (missing or not writable)".
  explicit AtomicFile(std::string path);
  /// Removes the temporary unless committed.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  /// Where to write the content until commit().
  const std::string& temporary_path() const { return temporary_path_; }

  /// Renames the temporary over the destination. Throws IoError on failure (the temporary is
  /// then removed by the destructor and the destination is untouched).
  void commit();

 private:
  std::string path_;
  std::string temporary_path_;
  bool committed_ = false;
};

/// `path` atomically holding `content`. Throws IoError (nothing written) on failure.
void write_file_atomically(const std::string& path, const std::string& content);

/// Checks, before any work, that a file can be created in `path`'s folder, by creating and
/// removing a temporary there (access(2) alone passes as root, whatever the permission bits or
/// the file system say). Throws IoError "<path>: cannot create a file in folder '<folder>'
/// (missing or not writable)". An empty path passes.
void check_writable_folder(const std::string& path);

/// The folder of `path` ("." for a bare name, "/" for a file at the root).
std::string folder_of(const std::string& path);

}  // namespace vqvae
