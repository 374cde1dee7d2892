#include <vqvae/io/hdf5_file.h>

#include <ATen/ATen.h>
#include <hdf5.h>

#include <unistd.h>

#include <algorithm>

namespace vqvae {
namespace {

// HDF5 prints its own error stack on failure; we report failures ourselves, in one line.
// H5dont_atexit (before the library initialises): after a close that failed (disk full), HDF5's
// exit-time cleanup closes that file again and crashes (SIGSEGV in H5F__close_cb); every handle
// here is closed by its owner, so the cleanup has nothing else to do.
void silence_hdf5() {
  static const bool done = [] {
    H5dont_atexit();
    return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
  }();
  (void)done;
}

// Closes an HDF5 handle at scope exit.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() { if (id >= 0) close(id); }
};

hid_t hdf5_type(at::ScalarType type, const std::string& where) {
  switch (type) {
    case at::kFloat: return H5T_NATIVE_FLOAT;
    case at::kDouble: return H5T_NATIVE_DOUBLE;
    case at::kLong: return H5T_NATIVE_INT64;
    default:
      throw Hdf5Error(where + ": dtype must be float32, float64 or int64, got " +
                      std::string(c10::toString(type)));
  }
}

// The largest dataset read_tensor allocates: a corrupted header can claim any shape.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 32;
// The longest string attribute read_string_attribute accepts (ours are a command line at most).
constexpr size_t kMaxStringAttributeBytes = size_t{1} << 20;

std::string dims_text(const std::vector<hsize_t>& dims) {
  std::string out = "(";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + ")";
}

}  // namespace

Hdf5Writer::Hdf5Writer(const std::string& path) : path_(path) {
  silence_hdf5();
  try {
    destination_ = std::make_unique<AtomicFile>(path);
  } catch (const IoError& e) {
    throw Hdf5Error(e.what());
  }
  Handle fcpl{H5Pcreate(H5P_FILE_CREATE), H5Pclose};
  file_ = H5Fcreate(destination_->temporary_path().c_str(), H5F_ACC_TRUNC, fcpl.id, H5P_DEFAULT);
  if (file_ < 0) throw Hdf5Error(path + ": cannot create HDF5 file");
}

Hdf5Writer::~Hdf5Writer() {
  if (file_ >= 0) H5Fclose(file_);  // before the AtomicFile removes the temporary
}

void Hdf5Writer::create_group(const std::string& name) {
  Handle lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  Handle gcpl{H5Pcreate(H5P_GROUP_CREATE), H5Pclose};
  H5Pset_obj_track_times(gcpl.id, 0);
  Handle group{H5Gcreate2(file_, name.c_str(), lcpl.id, gcpl.id, H5P_DEFAULT), H5Gclose};
  if (group.id < 0) throw Hdf5Error(path_ + ": cannot create group '" + name + "'");
}

void Hdf5Writer::write_tensor(const std::string& name, const at::Tensor& tensor) {
  const std::string where = path_ + ": dataset '" + name + "'";
  const at::Tensor data = tensor.detach().cpu().contiguous();
  const hid_t type = hdf5_type(data.scalar_type(), where);
  std::vector<hsize_t> dims(data.sizes().begin(), data.sizes().end());
  Handle space{H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose};
  Handle lcpl{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
  H5Pset_create_intermediate_group(lcpl.id, 1);
  Handle dcpl{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
  H5Pset_obj_track_times(dcpl.id, 0);  // same content -> same bytes
  Handle dataset{H5Dcreate2(file_, name.c_str(), type, space.id, lcpl.id, dcpl.id, H5P_DEFAULT),
                 H5Dclose};
  if (dataset.id < 0 ||
      H5Dwrite(dataset.id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data_ptr()) < 0)
    throw Hdf5Error(where + ": write failed");
}

namespace {

void write_attribute_raw(hid_t file, const std::string& path, const std::string& object,
                         const std::string& name, hid_t type, const void* value) {
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle attribute{H5Acreate_by_name(file, object.c_str(), name.c_str(), type, space.id,
                                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose};
  if (attribute.id < 0 || H5Awrite(attribute.id, type, value) < 0)
    throw Hdf5Error(path + ": cannot write attribute '" + name + "' on '" + object + "'");
}

}  // namespace

void Hdf5Writer::write_attribute(const std::string& object, const std::string& name, double value) {
  write_attribute_raw(file_, path_, object, name, H5T_NATIVE_DOUBLE, &value);
}

void Hdf5Writer::write_attribute(const std::string& object, const std::string& name, int64_t value) {
  write_attribute_raw(file_, path_, object, name, H5T_NATIVE_INT64, &value);
}

void Hdf5Writer::write_attribute(const std::string& object, const std::string& name,
                                 const std::string& value) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, value.empty() ? 1 : value.size());
  H5Tset_strpad(type.id, H5T_STR_NULLPAD);
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  write_attribute_raw(file_, path_, object, name, type.id, padded.data());
}

void Hdf5Writer::commit() {
  if (file_ >= 0) {
    const herr_t closed = H5Fclose(file_);
    file_ = -1;
    if (closed < 0) destination_.reset();  // removes the temporary: nothing left to commit
  }
  if (!destination_) throw Hdf5Error(path_ + ": closing the temporary file failed");
  try {
    destination_->commit();
  } catch (const IoError& e) {
    throw Hdf5Error(e.what());
  }
}

Hdf5Reader::Hdf5Reader(const std::string& path) : path_(path) {
  silence_hdf5();
  if (access(path.c_str(), R_OK) != 0) throw Hdf5Error(path + ": file missing or not readable");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Hdf5Error(path + ": not an HDF5 file (or truncated)");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) throw Hdf5Error(path + ": cannot open HDF5 file");
}

Hdf5Reader::~Hdf5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

bool Hdf5Reader::has(const std::string& name) const {
  // Walk the path so that a missing parent is "absent", not an error.
  size_t pos = 0;
  while (true) {
    pos = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, pos);
    if (!prefix.empty() && prefix != "/" && H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0)
      return false;
    if (pos == std::string::npos) return true;
  }
}

at::Tensor Hdf5Reader::read_tensor(const std::string& name) const {
  const std::string where = path_ + ": dataset '" + name + "'";
  if (!has(name)) throw Hdf5Error(where + " is missing");
  Handle dataset{H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose};
  if (dataset.id < 0) throw Hdf5Error(where + " cannot be opened");
  Handle space{H5Dget_space(dataset.id), H5Sclose};
  const int rank = space.id < 0 ? -1 : H5Sget_simple_extent_ndims(space.id);
  if (rank < 0 || rank > H5S_MAX_RANK) throw Hdf5Error(where + " has an unreadable shape");
  std::vector<hsize_t> dims(rank);
  if (H5Sget_simple_extent_dims(space.id, dims.data(), nullptr) != rank)
    throw Hdf5Error(where + " has an unreadable shape");
  Handle stored{H5Dget_type(dataset.id), H5Tclose};
  if (stored.id < 0) throw Hdf5Error(where + " has an unreadable type");
  at::ScalarType type;
  if (H5Tget_class(stored.id) == H5T_FLOAT) {
    type = H5Tget_size(stored.id) == 4 ? at::kFloat : at::kDouble;
  } else if (H5Tget_class(stored.id) == H5T_INTEGER) {
    type = at::kLong;
  } else {
    throw Hdf5Error(where + " must hold floats or integers");
  }
  // A corrupted header can claim any shape: allocate only what the file can hold. Unfiltered
  // data (all this project writes) must be stored in full; filtered (compressed) data is capped.
  const uint64_t element = type == at::kFloat ? 4 : 8;
  uint64_t bytes = element;
  std::vector<int64_t> sizes;
  for (const hsize_t dim : dims) {
    if (dim > 0 && bytes > kMaxTensorBytes / dim)
      throw Hdf5Error(where + ": shape " + dims_text(dims) + " is too large (corrupted file?)");
    bytes *= dim;
    sizes.push_back(static_cast<int64_t>(dim));
  }
  if (bytes > 0) {
    Handle dcpl{H5Dget_create_plist(dataset.id), H5Pclose};
    const int filters = dcpl.id < 0 ? -1 : H5Pget_nfilters(dcpl.id);
    const uint64_t stored_bytes = H5Dget_storage_size(dataset.id);
    const uint64_t stored_elements = stored_bytes / std::max<size_t>(1, H5Tget_size(stored.id));
    if (filters < 0 || (filters == 0 && stored_elements < bytes / element))
      throw Hdf5Error(where + ": shape " + dims_text(dims) + " needs " + std::to_string(bytes / element) +
                      " values, the file stores " + std::to_string(stored_elements) + " (truncated or corrupted?)");
  }
  at::Tensor out = at::empty(sizes, type);
  if (H5Dread(dataset.id, hdf5_type(type, where), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data_ptr()) < 0)
    throw Hdf5Error(where + ": read failed (corrupted file?)");
  return out;
}

namespace {

void read_attribute_raw(hid_t file, const std::string& path, const std::string& object,
                        const std::string& name, hid_t type, void* value) {
  Handle attribute{H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose};
  if (attribute.id < 0 || H5Aread(attribute.id, type, value) < 0)
    throw Hdf5Error(path + ": attribute '" + name + "' on '" + object + "' missing or unreadable");
}

}  // namespace

double Hdf5Reader::read_double_attribute(const std::string& object, const std::string& name) const {
  double value = 0;
  read_attribute_raw(file_, path_, object, name, H5T_NATIVE_DOUBLE, &value);
  return value;
}

int64_t Hdf5Reader::read_int_attribute(const std::string& object, const std::string& name) const {
  int64_t value = 0;
  read_attribute_raw(file_, path_, object, name, H5T_NATIVE_INT64, &value);
  return value;
}

std::string Hdf5Reader::read_string_attribute(const std::string& object,
                                              const std::string& name) const {
  Handle attribute{H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose};
  if (attribute.id < 0)
    throw Hdf5Error(path_ + ": attribute '" + name + "' on '" + object + "' missing");
  Handle type{H5Aget_type(attribute.id), H5Tclose};
  if (H5Tget_class(type.id) != H5T_STRING || H5Tis_variable_str(type.id) > 0)
    throw Hdf5Error(path_ + ": attribute '" + name + "' on '" + object +
                    "' must be a fixed-length string");
  const size_t size = H5Tget_size(type.id);
  if (size == 0 || size > kMaxStringAttributeBytes)
    throw Hdf5Error(path_ + ": attribute '" + name + "' on '" + object + "' has an invalid size " +
                    std::to_string(size) + " (corrupted file?)");
  std::string value(size, '\0');
  if (H5Aread(attribute.id, type.id, value.data()) < 0)
    throw Hdf5Error(path_ + ": attribute '" + name + "' on '" + object + "' unreadable");
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

std::vector<std::string> Hdf5Reader::list(const std::string& group) const {
  std::vector<std::string> names;
  Handle g{H5Gopen2(file_, group.c_str(), H5P_DEFAULT), H5Gclose};
  if (g.id < 0) throw Hdf5Error(path_ + ": group '" + group + "' missing");
  H5G_info_t info;
  if (H5Gget_info(g.id, &info) < 0) throw Hdf5Error(path_ + ": group '" + group + "' unreadable");
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t size = H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (size < 0) throw Hdf5Error(path_ + ": group '" + group + "': member " + std::to_string(i) + " unreadable");
    std::string name(static_cast<size_t>(size) + 1, '\0');
    if (H5Lget_name_by_idx(g.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) != size)
      throw Hdf5Error(path_ + ": group '" + group + "': member " + std::to_string(i) + " unreadable");
    name.resize(static_cast<size_t>(size));
    names.push_back(name);
  }
  return names;
}

namespace {

herr_t collect_attribute_name(hid_t, const char* name, const H5A_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->push_back(name);
  return 0;
}

}  // namespace

std::vector<std::string> Hdf5Reader::attribute_names(const std::string& object) const {
  std::vector<std::string> names;
  hsize_t index = 0;
  if (H5Aiterate_by_name(file_, object.c_str(), H5_INDEX_NAME, H5_ITER_INC, &index, collect_attribute_name,
                         &names, H5P_DEFAULT) < 0)
    throw Hdf5Error(path_ + ": attributes of '" + object + "' unreadable");
  return names;
}

Hdf5Reader::AttributeClass Hdf5Reader::attribute_class(const std::string& object, const std::string& name) const {
  Handle attribute{H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  if (attribute.id < 0) throw Hdf5Error(path_ + ": attribute '" + name + "' on '" + object + "' missing");
  Handle type{H5Aget_type(attribute.id), H5Tclose};
  switch (H5Tget_class(type.id)) {
    case H5T_INTEGER: return AttributeClass::integer;
    case H5T_FLOAT: return AttributeClass::real;
    case H5T_STRING: return AttributeClass::text;
    default:
      throw Hdf5Error(path_ + ": attribute '" + name + "' on '" + object + "' is not an integer, number or string");
  }
}

std::string hdf5_child(const std::string& group, const std::string& name) {
  return group == "/" ? name : group + "/" + name;
}

}  // namespace vqvae
