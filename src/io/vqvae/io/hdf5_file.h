// Small HDF5 reader and writer for the tensors this project stores (datasets, fixtures, runs).
// Files are readable from Python (h5py) and with h5dump. Writing is all-or-nothing through an
// AtomicFile (io/atomic_file.h): the file is built under a unique temporary name in the
// destination folder and renamed over the destination only by commit(); a writer destroyed
// before commit() (an exception, a crash) leaves the old file whole and removes its temporary.
// Object timestamps are off, so the same content gives the same bytes.
#pragma once

#include <vqvae/io/atomic_file.h>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vqvae {

/// Any HDF5 failure: the message names the file and the object.
class Hdf5Error : public IoError {
 public:
  using IoError::IoError;
};

/// The path of `name` inside `group`: "a/b" for ("a", "b"), "b" for ("/", "b").
std::string hdf5_child(const std::string& group, const std::string& name);

class Hdf5Writer {
 public:
  /// Starts writing `path` (through a temporary file beside it). Throws Hdf5Error when the
  /// folder is missing or not writable.
  explicit Hdf5Writer(const std::string& path);
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;

  /// Creates group `name` ("a" or "a/b", parents first).
  void create_group(const std::string& name);
  /// Writes a float32, float64 or int64 tensor (any rank, CPU or not) as dataset `name`.
  void write_tensor(const std::string& name, const at::Tensor& tensor);
  /// Attributes on object `object` ("/" for the file).
  void write_attribute(const std::string& object, const std::string& name, double value);
  void write_attribute(const std::string& object, const std::string& name, int64_t value);
  void write_attribute(const std::string& object, const std::string& name, const std::string& value);
  /// Closes the file and renames it over the destination. Throws Hdf5Error on failure.
  void commit();

 private:
  std::string path_;
  std::unique_ptr<AtomicFile> destination_;
  int64_t file_ = -1;  // hid_t
};

class Hdf5Reader {
 public:
  /// Throws Hdf5Error naming the file when it is missing or not an HDF5 file.
  explicit Hdf5Reader(const std::string& path);
  ~Hdf5Reader();
  Hdf5Reader(const Hdf5Reader&) = delete;
  Hdf5Reader& operator=(const Hdf5Reader&) = delete;

  bool has(const std::string& name) const;
  /// Dataset `name` as a CPU tensor of its stored type (float32, float64 or int64).
  at::Tensor read_tensor(const std::string& name) const;
  double read_double_attribute(const std::string& object, const std::string& name) const;
  int64_t read_int_attribute(const std::string& object, const std::string& name) const;
  std::string read_string_attribute(const std::string& object, const std::string& name) const;
  /// Names of the members of group `name`.
  std::vector<std::string> list(const std::string& group) const;
  /// Names of the attributes of object `object`, in name order.
  std::vector<std::string> attribute_names(const std::string& object) const;
  /// The kind of value attribute `name` of `object` holds. Throws Hdf5Error for another kind.
  enum class AttributeClass { integer, real, text };
  AttributeClass attribute_class(const std::string& object, const std::string& name) const;

 private:
  std::string path_;
  int64_t file_ = -1;  // hid_t
};

}  // namespace vqvae
