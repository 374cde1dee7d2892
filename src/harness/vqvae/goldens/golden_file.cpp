// The golden-file mechanism (golden_file.h), records and their files: a record's attributes and
// datasets, writing a suite's file from its schema, and reading a case back with every attribute
// and dataset shape checked against the schema. golden_compare.cpp compares and regenerates.
#include <vqvae/goldens/golden_file.h>
#include <vqvae/goldens/detail/golden_file.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/core/format.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>

namespace vqvae {

namespace golden {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string joined_or_none(const std::vector<std::string>& names) { return names.empty() ? "none" : joined(names); }

// Opens a golden file, adding to the reader's one-line error what to do about it.
std::unique_ptr<Hdf5Reader> open_golden(const std::string& path) {
  const bool exists = std::filesystem::exists(path);
  try {
    return std::make_unique<Hdf5Reader>(path);
  } catch (const Hdf5Error& e) {
    throw Hdf5Error(std::string(e.what()) +
                    (exists ? " (golden file truncated or corrupted? `vqvae goldens regen` rewrites it)"
                            : " (no golden file: `vqvae goldens regen` writes it)"));
  }
}

}  // namespace golden

namespace {

// Whether an entry with this `only_if` belongs in a case with these attributes.
bool applies(const GoldenCondition& only_if, const std::vector<std::pair<std::string, GoldenValue>>& attributes) {
  if (!only_if.attribute) return true;
  for (const auto& [name, value] : attributes)
    if (name == only_if.attribute) {
      const auto* text = std::get_if<std::string>(&value);
      return text && std::any_of(only_if.values.begin(), only_if.values.end(),
                                 [&](const char* allowed) { return *text == allowed; });
    }
  return false;
}

GoldenValue read_value(const Hdf5Reader& file, const std::string& group, const GoldenAttributeSpec& spec) {
  switch (spec.type) {
    case GoldenValueType::integer: return file.read_int_attribute(group, spec.name);
    case GoldenValueType::real: return file.read_double_attribute(group, spec.name);
    case GoldenValueType::text: return file.read_string_attribute(group, spec.name);
  }
  throw std::logic_error("unknown GoldenValueType");
}

// The shape a dataset must have in a case: each symbol's value, or -1 for a free symbol not yet
// bound. `bound` holds the free symbols bound so far.
std::vector<int64_t> expected_shape(const GoldenDatasetSpec& spec, const std::map<std::string, int64_t>& bound) {
  std::vector<int64_t> shape;
  for (const char* symbol : spec.shape) {
    const auto found = bound.find(symbol);
    shape.push_back(found == bound.end() ? -1 : found->second);
  }
  return shape;
}

// The integer attributes of a case, as the values of their shape symbols.
std::map<std::string, int64_t> integer_symbols(const std::vector<std::pair<std::string, GoldenValue>>& attributes) {
  std::map<std::string, int64_t> out;
  for (const auto& [name, value] : attributes)
    if (const auto* i = std::get_if<int64_t>(&value)) out[name] = *i;
  return out;
}

}  // namespace

const GoldenValue& GoldenRecord::attribute(const std::string& name) const {
  for (const auto& entry : attributes)
    if (entry.first == name) return entry.second;
  throw std::out_of_range("golden case '" + this->name + "' has no attribute '" + name + "'");
}

const at::Tensor& GoldenRecord::dataset(const std::string& name) const {
  for (const auto& entry : datasets)
    if (entry.first == name) return entry.second;
  throw std::out_of_range("golden case '" + this->name + "' has no dataset '" + name + "'");
}

void write_golden_records(const std::string& path, const GoldenSchema& schema,
                          const std::vector<GoldenRecord>& records, const std::string& command) {
  const char* where = "write_golden_records";
  for (const GoldenRecord& record : records) {
    if (record.name.empty() || record.name.find('/') != std::string::npos)
      throw_invalid_argument(where, "case name must be non-empty without '/', got " + in_quotes(record.name));
    for (const auto& spec : schema.attributes)
      if (applies(spec.only_if, record.attributes)) (void)record.attribute(spec.name);
    for (const auto& spec : schema.datasets)
      if (applies(spec.only_if, record.attributes)) (void)record.dataset(spec.name);
  }
  Hdf5Writer file(path);
  for (const GoldenRecord& record : records) {
    file.create_group(record.name);
    for (const auto& spec : schema.datasets)
      if (applies(spec.only_if, record.attributes))
        file.write_tensor(record.name + "/" + spec.name, record.dataset(spec.name));
    for (const auto& spec : schema.attributes) {
      if (!applies(spec.only_if, record.attributes)) continue;
      std::visit([&](const auto& value) { file.write_attribute(record.name, spec.name, value); },
                 record.attribute(spec.name));
    }
  }
  write_provenance(file, command);
  file.commit();
}

void write_record_group(Hdf5Writer& file, const std::string& group, const GoldenRecord& record) {
  file.create_group(group);
  for (const auto& [name, tensor] : record.datasets) file.write_tensor(group + "/" + name, tensor);
  for (const auto& [name, value] : record.attributes)
    std::visit([&, name = name](const auto& v) { file.write_attribute(group, name, v); }, value);
}

GoldenRecord read_record_group(const Hdf5Reader& file, const std::string& group) {
  GoldenRecord record;
  record.name = group.substr(group.find_last_of('/') + 1);
  for (const std::string& name : file.attribute_names(group)) {
    switch (file.attribute_class(group, name)) {
      case Hdf5Reader::AttributeClass::integer:
        record.attributes.emplace_back(name, file.read_int_attribute(group, name));
        break;
      case Hdf5Reader::AttributeClass::real:
        record.attributes.emplace_back(name, file.read_double_attribute(group, name));
        break;
      case Hdf5Reader::AttributeClass::text:
        record.attributes.emplace_back(name, file.read_string_attribute(group, name));
        break;
    }
  }
  for (const std::string& name : file.list(group)) record.datasets.emplace_back(name, file.read_tensor(group + "/" + name));
  return record;
}

std::vector<std::string> list_golden_records(const std::string& path) { return golden::open_golden(path)->list("/"); }

GoldenRecord read_golden_record(const std::string& path, const GoldenSchema& schema, const std::string& name) {
  const auto file = golden::open_golden(path);
  const std::string at_group = path + ": group '" + name + "'";
  if (!file->has(name))
    throw Hdf5Error(at_group + " is missing (cases in the file: " + golden::joined_or_none(file->list("/")) + ")");
  GoldenRecord out;
  out.name = name;
  // Attributes: those without a condition first, so that conditions can be decided.
  for (const bool conditional : {false, true}) {
    for (const auto& spec : schema.attributes) {
      if ((spec.only_if.attribute != nullptr) != conditional || !applies(spec.only_if, out.attributes)) continue;
      const std::string at_attribute = at_group + ", attribute '" + spec.name + "'";
      GoldenValue value;
      try {
        value = read_value(*file, name, spec);
      } catch (const Hdf5Error&) {
        throw Hdf5Error(at_attribute + ": missing or unreadable");
      }
      if (const auto* text = std::get_if<std::string>(&value); text && !spec.allowed.empty()) {
        std::vector<std::string> allowed(spec.allowed.begin(), spec.allowed.end());
        if (!golden::contains(allowed, *text)) {
          std::string names;
          for (size_t i = 0; i < allowed.size(); ++i)
            names += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + in_quotes(allowed[i]);
          throw Hdf5Error(at_attribute + ": must be " + names + ", got " + in_quotes(*text));
        }
      }
      out.attributes.emplace_back(spec.name, std::move(value));
    }
  }
  std::map<std::string, int64_t> bound = integer_symbols(out.attributes);
  for (const auto& spec : schema.datasets) {
    if (!applies(spec.only_if, out.attributes)) continue;
    const std::string where = at_group + ", dataset '" + spec.name + "'";
    if (!file->has(name + "/" + spec.name)) throw Hdf5Error(where + ": missing");
    at::Tensor t;
    try {
      t = file->read_tensor(name + "/" + spec.name);
    } catch (const Hdf5Error&) {
      throw Hdf5Error(where + ": unreadable (corrupted file?)");
    }
    const std::vector<int64_t> expected = expected_shape(spec, bound);
    bool fits = t.dim() == static_cast<int64_t>(expected.size());
    for (size_t i = 0; fits && i < expected.size(); ++i)
      fits = expected[i] < 0 || expected[i] == t.size(static_cast<int64_t>(i));
    if (!fits) {
      std::string symbols = "(", values = "(";
      for (size_t i = 0; i < expected.size(); ++i) {
        symbols += (i ? ", " : "") + std::string(spec.shape[i]);
        values += (i ? ", " : "") + (expected[i] < 0 ? std::string("*") : std::to_string(expected[i]));
      }
      throw Hdf5Error(where + ": shape " + shape_string(t) + ", expected " + symbols + ") = " + values + ")");
    }
    if (spec.integer ? t.scalar_type() != at::kLong : !t.is_floating_point())
      throw Hdf5Error(where + ": dtype " + std::string(c10::toString(t.scalar_type())) + ", expected " +
                      (spec.integer ? "int64" : "float32"));
    for (size_t i = 0; i < expected.size(); ++i)
      if (expected[i] < 0) bound[spec.shape[i]] = t.size(static_cast<int64_t>(i));
    out.datasets.emplace_back(spec.name, t);
  }
  return out;
}

}  // namespace vqvae
